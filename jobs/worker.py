"""The arq worker: takes job ids from the queue and runs them one at a time (one GPU, one job).

Beside the jobs, every worker runs the reconciler (jobs.runner.reconcile) every few seconds in the
background, also while it trains, so a lost job is found again however busy the workers are; and the webhook
deliverer (jobs.webhooks), which sends the tenants' endpoints their jobs' ends, retrying with backoff; and the
estimate server (jobs.estimate), which answers the API's estimates with the models this worker holds. Each
succeeded job's throughput is recorded for those estimates' expected durations (jobs.estimates).
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import Any

from arq.worker import Retry, Worker, func
from redis.asyncio import Redis

from jobs import queue
from jobs.across_nodes import AcrossNodes
from jobs.catalog import Catalog
from jobs.estimate import EstimateServer
from jobs.estimates import record_throughput
from jobs.events import EventLog
from jobs.repository import CheckpointRepository, FileRepository, JobRepository, WebhookEndpointRepository
from jobs.runner import TRANSIENT_ERRORS, WAITING, WorkerContext, reconcile, run_job
from jobs.kubeflow import KubeflowTrainJobs
from jobs.store import Store, open_store
from jobs.settings import Settings
from jobs.spec import processes_per_node
from jobs.webhooks import WebhookDeliverer
from jobs.worker_ops import WorkerHealth, WorkerMetrics, heartbeat_forever, start_probe_servers

log = logging.getLogger("ftaas.worker")


async def run_fine_tuning_job(ctx: dict[str, Any], tenant: str, job_id: str) -> str:
    metrics: WorkerMetrics = ctx["metrics"]
    started = time.monotonic()
    metrics.running.inc()
    try:
        status = await run_job(ctx["worker"], tenant, job_id)
    finally:
        metrics.running.dec()
    if status == WAITING:  # back in the queue, behind the jobs queued meanwhile; it stays `queued`
        metrics.requeues.labels(reason="tenant_limit").inc()
        raise Retry(defer=QUOTA_RETRY_S)
    metrics.duration.labels(status=status).observe(time.monotonic() - started)
    metrics.jobs.labels(status=status).inc()
    if status == "succeeded":
        await record_job_throughput(ctx["worker"], tenant, job_id)
    return status


async def record_job_throughput(worker: WorkerContext, tenant: str, job_id: str) -> None:
    """What a succeeded job measured, for the expected duration of estimates (jobs.estimates); best effort."""
    try:
        job = await worker.jobs.get(tenant, job_id)
        compute = job.spec.compute
        processes = processes_per_node(compute, job.spec.training_type, worker.procs_per_node) * compute.num_nodes
        await record_throughput(worker.redis, job, processes)
    except Exception as exc:
        log.warning("job %s: its throughput was not recorded: %s", job_id, exc)


STALE_UPLOAD_SWEEP_INTERVAL_S = 3600
QUOTA_RETRY_S = 10  # how often a job held back by its tenant's max_running_jobs is offered to the workers again


async def reconcile_forever(worker: WorkerContext, interval_s: float) -> None:
    last_sweep = -STALE_UPLOAD_SWEEP_INTERVAL_S
    while True:
        try:
            await reconcile(worker)
            if time.monotonic() - last_sweep > STALE_UPLOAD_SWEEP_INTERVAL_S:
                await asyncio.to_thread(worker.store.abort_stale_uploads)
                last_sweep = time.monotonic()
        except TRANSIENT_ERRORS as exc:
            log.warning("reconciler: %s; trying again in %.0f s", exc, interval_s)
        except Exception:
            log.exception("reconciler failed; trying again in %.0f s", interval_s)
        await asyncio.sleep(interval_s)


def worker_context(settings: Settings, store: Store, redis: Redis, across_nodes: AcrossNodes | None = None,
                   metrics: WorkerMetrics | None = None) -> WorkerContext:
    """What a job's run needs, from the deployment's settings (the worker's, and a training node's)."""
    return WorkerContext(
        metrics=metrics or WorkerMetrics(),
        store=store,
        redis=redis,
        jobs=JobRepository(store, redis),
        files=FileRepository(store),
        checkpoints=CheckpointRepository(store),
        events=EventLog(redis, store),
        work_dir=settings.cache_dir / "work",
        catalog=Catalog.from_setting(settings.models, settings.cache_dir),
        child_env=dict(os.environ, FTAAS_CACHE_DIR=str(settings.cache_dir), FTAAS_MODELS=settings.models,
                       **settings.integration_env()),
        procs_per_node=settings.worker_max_procs_per_node,
        stop_grace_s=settings.worker_stop_grace_seconds,
        job_timeout_s=settings.job_timeout_seconds,
        lease_s=settings.worker_lease_seconds,
        queue_name=settings.queue_name,
        across_nodes=across_nodes,
        quotas=settings.tenant_quotas,
    )


def webhook_deliverer(settings: Settings, store: Store, redis: Redis) -> WebhookDeliverer:
    return WebhookDeliverer(redis, WebhookEndpointRepository(store), consumer=f"{socket.gethostname()}-{os.getpid()}",
                            max_attempts=settings.webhook_max_attempts, retry_base_s=settings.webhook_retry_base_seconds)


def estimate_server(worker: WorkerContext) -> EstimateServer:
    """Answers the API's estimate requests (jobs.estimates) with this worker's models, in a child process."""
    return EstimateServer(worker.redis, worker.store, worker.work_dir, worker.child_env, worker.procs_per_node)


def create_worker(settings: Settings, *, burst: bool = False, trainjobs: KubeflowTrainJobs | None = None) -> Worker:
    """`trainjobs` (tests) replaces the Kubernetes client the worker otherwise opens for FTAAS_KUBEFLOW_ENABLED."""
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    across_nodes = None
    if settings.kubeflow_enabled:
        across_nodes = AcrossNodes(settings, trainjobs or KubeflowTrainJobs.from_settings(settings))
    metrics = WorkerMetrics()
    health = WorkerHealth(liveness_timeout_s=settings.worker_liveness_timeout_seconds)

    async def startup(ctx: dict[str, Any]) -> None:
        redis = ctx["redis"]
        ctx["metrics"], ctx["health"] = metrics, health
        ctx["worker"] = worker_context(settings, store, redis, across_nodes, metrics)
        if not burst:  # the probes answer from the start: /healthz once the loop beats, /readyz once Redis answers
            ctx["heartbeat"] = asyncio.create_task(heartbeat_forever(health, metrics, redis, settings.queue_name))
            ctx["http"] = start_probe_servers(settings.worker_probe_port, settings.worker_metrics_port, health, metrics)
        if burst:  # one pass, before taking jobs: what was lost is queued again and run in this burst
            await reconcile(ctx["worker"])
        else:
            ctx["reconciler"] = asyncio.create_task(reconcile_forever(ctx["worker"], settings.reconcile_interval_seconds))
            ctx["webhooks"] = asyncio.create_task(webhook_deliverer(settings, store, redis).run_forever(settings.webhook_poll_seconds))
            ctx["estimates"] = asyncio.create_task(estimate_server(ctx["worker"]).run_forever())
        log.info("worker ready; queue %s", settings.queue_name)

    async def shutdown(ctx: dict[str, Any]) -> None:
        health.stopping = True
        for name in ("reconciler", "webhooks", "estimates", "heartbeat"):
            task = ctx.get(name)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for server in ctx.pop("http", []):
            server.close()

    return Worker(
        # No arq results: the job record is the result, and a kept result would stop the reconciler from
        # queueing the job again.
        functions=[func(run_fine_tuning_job, name=queue.TRAINING_TASK, keep_result=0)],
        queue_name=settings.queue_name,
        redis_settings=queue.redis_settings(settings.redis_url),
        job_serializer=queue.serialize,
        job_deserializer=queue.deserialize,
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=1,
        # The runner enforces the job timeout and counts attempts itself (in the job record, which outlives
        # Redis), so that it can record why a job failed; arq's limits sit beyond them (a job held back by
        # max_running_jobs is tried again every QUOTA_RETRY_S, for as long as the tenant's other jobs run).
        job_timeout=settings.job_timeout_seconds + 60,
        max_tries=2**31,
        burst=burst,
        handle_signals=not burst,
    )
