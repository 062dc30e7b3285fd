"""API metrics (prometheus-client), one registry per app so several apps can live in one process."""

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram


INFERENCE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ftaas_api_requests_total", "HTTP requests, by route template and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "ftaas_api_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
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


def metrics_middleware(app: ASGIApp) -> ASGIApp:
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
            metrics: ApiMetrics = scope["app"].state.metrics
            route = scope.get("path_template") or "unmatched"
            metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)

    return middleware
