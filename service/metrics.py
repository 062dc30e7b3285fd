"""API metrics (prometheus-client), one registry per app so several apps can live in one process.

Every request is counted, also those no route matched (404, 405: route `unmatched`), by an ASGI wrapper around
the whole app (`instrument`), outside Litestar's router. Litestar's own Prometheus support
(litestar.plugins.prometheus) was not used: its middleware is a route handler's middleware, so it never sees a
request no route matched; it keeps its metrics in a class attribute on prometheus_client's global registry, so
every app in a process shares (and the tests' many apps mix) their counts; it labels by raw path unless
`group_path`; and its controller sends `text/plain; version=1.0.0` whatever the scraper accepts.
"""

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

from jobs.observability import exposition, new_registry

INFERENCE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Every route, proxied inference (minutes for a long answer) included.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of requests no route matched (unknown path, or method not allowed)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = new_registry()
        self.requests = Counter(
            "ftaas_api_requests_total", "HTTP requests, by method, route template (`unmatched`: no route) and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "ftaas_api_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=REQUEST_BUCKETS, registry=self.registry,
        )
        self.dependency_up = Gauge(
            "ftaas_api_dependency_up", "Whether the last readiness check reached the dependency (1) or not (0)",
            ["dependency"], registry=self.registry,
        )
        self.jobs_created = Counter("ftaas_api_jobs_created_total", "Fine-tuning jobs created", registry=self.registry)
        self.uploaded_bytes = Counter("ftaas_api_uploaded_bytes_total", "Bytes of accepted uploads", registry=self.registry)
        # Inference as callers see it, whichever engine answered (vLLM's own metrics carry no ftaas model kind).
        self.inference_requests = Counter(
            "ftaas_api_inference_requests_total", "Chat and completion requests, by engine, model kind and status",
            ["engine", "model_kind", "status"], registry=self.registry,
        )
        self.inference_first_byte = Histogram(
            "ftaas_api_inference_time_to_first_byte_seconds",
            "From a request reaching the API to the first bytes of its answer (a stream's first chunk)",
            ["engine", "model_kind"], buckets=INFERENCE_BUCKETS, registry=self.registry,
        )
        self.inference_duration = Histogram(
            "ftaas_api_inference_duration_seconds", "From a request reaching the API to the end of its answer",
            ["engine", "model_kind"], buckets=INFERENCE_BUCKETS, registry=self.registry,
        )

    def render(self, accept: str | None) -> tuple[bytes, str]:
        return exposition(self.registry, accept)


def instrument(app: ASGIApp, metrics: ApiMetrics) -> ASGIApp:
    """Count and time every HTTP request `app` answers (set on a Litestar app's `asgi_handler`, which wraps its
    router: the router writes the matched route's template into the scope, which is read here afterwards)."""
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await app(scope, receive, capture)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = scope.get("path_template") or UNMATCHED
            metrics.requests.labels(method, route, str(status["code"])).inc()
            metrics.latency.labels(method, route).observe(time.perf_counter() - started)

    return middleware
