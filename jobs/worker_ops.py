"""The worker's metrics, its heartbeat, and the HTTP server of its probes and /metrics (torch-free).

The probes are answered by a thread (so a busy loop never delays them), but they report what the worker's asyncio
loop last wrote: `heartbeat_forever`, a task on that loop, writes a timestamp every HEARTBEAT_INTERVAL_S and checks
Redis; the thread only reads them. A loop that hangs stops the heartbeat, and /healthz fails within
`liveness_timeout_s`.

- `/healthz` (liveness): 200 while the loop's last heartbeat is younger than `liveness_timeout_s`, else 503.
- `/readyz` (readiness: it can take jobs): 200 when the loop is alive, its last Redis check answered and the
  worker is not shutting down, else 503. A worker busy with a job is still ready (it takes the next one after).
- `/metrics`: the registry below, when metrics are on.
"""

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.exposition import ThreadingWSGIServer
from redis.asyncio import Redis

from jobs.observability import AcceleratorCollector, exposition, new_registry
from jobs.queue import waiting_stats

log = logging.getLogger("ftaas.worker")

HEARTBEAT_INTERVAL_S = 2.0
# Final statuses (jobs.status) and run_job's other answers: `taken_over`, `unsettled`, `missing`; bounded.
TRAINING_EXIT_REASONS = ("ok", "out_of_memory", "killed", "signal", "error", "cancelled", "paused")


class WorkerMetrics:
    """Every label here takes a few fixed values (no tenant, job or model ids)."""

    def __init__(self) -> None:
        r = self.registry = new_registry()
        self.jobs = Counter("ftaas_worker_jobs_total", "Jobs finished, by final status", ["status"], registry=r)
        self.duration = Histogram(
            "ftaas_worker_job_duration_seconds", "Wall time of a job's run on the worker, by final status", ["status"],
            registry=r, buckets=(10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
        )
        self.running = Gauge("ftaas_worker_running_jobs", "Jobs running now", registry=r)
        self.queue_depth = Gauge(
            "ftaas_worker_queue_depth", "Jobs waiting in the queue, not taken by any worker (deferred ones too)", registry=r,
        )
        self.queue_oldest_age = Gauge(
            "ftaas_worker_queue_oldest_age_seconds",
            "How long the job waiting longest has been due to run without a worker taking it (0: none waits)", registry=r,
        )
        self.attempts = Counter(
            "ftaas_worker_job_attempts_total", "Attempts started: a job taken and claimed (the first run or a resume)",
            registry=r,
        )
        self.requeues = Counter(
            "ftaas_worker_job_requeues_total",
            "Jobs put back in the queue, by reason: worker_stopping (SIGTERM mid-job), tenant_limit (max_running_jobs), "
            "reconciled (the reconciler queued a lost job again)", ["reason"], registry=r,
        )
        self.lease_recoveries = Counter(
            "ftaas_worker_lease_recoveries_total",
            "Running jobs whose worker stopped renewing its lease, queued again by the reconciler", registry=r,
        )
        self.trained_tokens = Counter(
            "ftaas_worker_trained_tokens_total", "Tokens trained by succeeded jobs (their trained_tokens)", registry=r,
        )
        self.checkpoint_upload_failures = Counter(
            "ftaas_worker_checkpoint_upload_failures_total", "Checkpoints that could not be stored (the job goes on)",
            registry=r,
        )
        self.training_exits = Counter(
            "ftaas_worker_training_exits_total",
            "Training processes ended, by reason: " + ", ".join(TRAINING_EXIT_REASONS), ["reason"], registry=r,
        )
        self.heartbeat_age = Gauge(
            "ftaas_worker_heartbeat_age_seconds", "Since the worker's event loop last wrote its heartbeat", registry=r,
        )
        r.register(AcceleratorCollector("ftaas_worker"))

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        return exposition(self.registry, accept)


@dataclass
class WorkerHealth:
    """Written by the loop (heartbeat_forever, the worker's shutdown), read by the probe thread."""

    liveness_timeout_s: float = 60.0
    beat_at: float | None = None  # time.monotonic() of the last heartbeat; None before the first
    redis: str = "not checked yet"
    stopping: bool = False
    started_at: float = field(default_factory=time.monotonic)

    def beat_age(self) -> float | None:
        return None if self.beat_at is None else time.monotonic() - self.beat_at

    def live(self) -> tuple[bool, dict]:
        age = self.beat_age()
        alive = age is not None and age <= self.liveness_timeout_s
        return alive, {"status": "ok" if alive else "not live",
                       "heartbeat_age_s": None if age is None else round(age, 3),
                       "liveness_timeout_s": self.liveness_timeout_s}

    def ready(self) -> tuple[bool, dict]:
        alive, _ = self.live()
        checks = {"event_loop": "ok" if alive else "no heartbeat", "redis": self.redis,
                  "shutdown": "shutting down" if self.stopping else "ok"}
        ready = all(v == "ok" for v in checks.values())
        return ready, {"status": "ready" if ready else "not ready", "checks": checks}


async def heartbeat_forever(health: WorkerHealth, metrics: WorkerMetrics, redis: Redis, queue_name: str,
                            interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
    """On the worker's loop: write the heartbeat, check Redis, refresh the queue's gauges."""
    while True:
        health.beat_at = time.monotonic()
        try:
            async with asyncio.timeout(max(interval_s, 1.0)):
                await redis.ping()
                depth, oldest = await waiting_stats(redis, queue_name, time.time())
            health.redis = "ok"
            metrics.queue_depth.set(depth)
            metrics.queue_oldest_age.set(oldest)
        except Exception as exc:  # noqa: BLE001 - any failure means Redis cannot be used now
            health.redis = f"unreachable: {type(exc).__name__}"
        await asyncio.sleep(interval_s)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class ProbeServer:
    """One HTTP server (threads) on `port`: the probes when `health` is given, /metrics when `metrics` is."""

    def __init__(self, port: int, health: WorkerHealth | None, metrics: WorkerMetrics | None, host: str = "0.0.0.0") -> None:
        self.health, self.metrics = health, metrics
        self.server = make_server(host, port, self._app, ThreadingWSGIServer, handler_class=_Quiet)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"worker-http-{self.port}", daemon=True)

    def start(self) -> "ProbeServer":
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics" and self.metrics is not None:
            age = self.health.beat_age() if self.health is not None else None
            if age is not None:
                self.metrics.heartbeat_age.set(age)
            body, content_type = self.metrics.render(environ.get("HTTP_ACCEPT"))
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        if path in ("/healthz", "/readyz") and self.health is not None:
            ok, answer = self.health.live() if path == "/healthz" else self.health.ready()
            body = json.dumps(answer).encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        body = b'{"error": "not found"}'
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def start_probe_servers(probe_port: int, metrics_port: int, health: WorkerHealth, metrics: WorkerMetrics) -> list[ProbeServer]:
    """One server per distinct port: the probes on `probe_port`, /metrics on `metrics_port` (0: off); the same port
    serves both."""
    servers = []
    for port in {p for p in (probe_port, metrics_port) if p}:
        servers.append(ProbeServer(port, health if port == probe_port else None,
                                   metrics if port == metrics_port else None).start())
        log.info("worker http on port %d: %s", port, ", ".join(
            p for p, on in (("/healthz /readyz", port == probe_port), ("/metrics", port == metrics_port)) if on))
    return servers
