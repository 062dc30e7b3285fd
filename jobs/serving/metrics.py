"""Serving metrics (prometheus-client) on a dedicated registry, so several engines/apps can share a process."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ftaas_serving_requests_total",
            "Inference requests, by model kind (base, fine_tuned) and HTTP status",
            ["model_kind", "status"],
            registry=self.registry,
        )
        self.generated_tokens = Counter(
            "ftaas_serving_generated_tokens_total", "Tokens generated", registry=self.registry
        )
        self.generation_seconds = Histogram(
            "ftaas_serving_generation_seconds",
            "Time spent in generate()",
            buckets=GENERATION_BUCKETS,
            registry=self.registry,
        )
        self.adapters_loaded = Gauge(
            "ftaas_serving_adapters_loaded", "LoRA adapters loaded in memory", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
