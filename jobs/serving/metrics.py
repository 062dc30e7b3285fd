"""Serving metrics (prometheus-client) on a registry of their own, so several engines can share a process.

`model_kind` is `base`, the training type that made a fine-tuned model (`lora`, `qlora`, `full`, `ia3`,
`prefix_tuning`, `prompt_tuning`) or `classifier`.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from jobs.observability import AcceleratorCollector, exposition, new_registry

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TOKEN_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.5, 5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def adapter_load_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    """Loads of fine-tuned models and their seconds: kept by the embedded engine and by the vLLM plugin."""
    loads = Counter(
        "ftaas_serving_adapter_loads_total", "Fine-tuned models loaded into memory", ["model_kind"], registry=registry
    )
    seconds = Histogram(
        "ftaas_serving_adapter_load_seconds", "Download and load time of a fine-tuned model",
        ["model_kind"], buckets=LATENCY_BUCKETS, registry=registry,
    )
    return loads, seconds


class ServingMetrics:
    def __init__(self) -> None:
        r = self.registry = new_registry()  # with process_*, python_gc_*, no _created (jobs.observability)
        self.requests = Counter(
            "ftaas_serving_requests_total", "Inference requests, by model kind and HTTP status",
            ["model_kind", "status"], registry=r,
        )
        self.time_to_first_token = Histogram(
            "ftaas_serving_time_to_first_token_seconds", "From a request entering the engine to its first token",
            ["model_kind"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.inter_token_latency = Histogram(
            "ftaas_serving_inter_token_latency_seconds", "Between two tokens of one answer",
            ["model_kind"], buckets=TOKEN_LATENCY_BUCKETS, registry=r,
        )
        self.prompt_tokens = Counter("ftaas_serving_prompt_tokens_total", "Prompt tokens read", ["model_kind"], registry=r)
        self.generated_tokens = Counter(
            "ftaas_serving_generated_tokens_total", "Tokens generated", ["model_kind"], registry=r
        )
        self.batch_size = Histogram(
            "ftaas_serving_batch_size", "Rows in each decode step", buckets=BATCH_BUCKETS, registry=r
        )
        self.queue_depth = Gauge("ftaas_serving_queue_depth", "Requests waiting to join a batch", registry=r)
        self.adapter_loads, self.adapter_load_seconds = adapter_load_metrics(r)
        self.adapter_hits = Counter(
            "ftaas_serving_adapter_hits_total", "Requests for a fine-tuned model already in memory", ["model_kind"], registry=r
        )
        self.adapter_evictions = Counter(
            "ftaas_serving_adapter_evictions_total", "Fine-tuned models unloaded to make room", ["model_kind"], registry=r
        )
        self.adapters_loaded = Gauge(
            "ftaas_serving_adapters_loaded", "Fine-tuned models (adapters and own-weight models) in memory", registry=r
        )

        r.register(AcceleratorCollector("ftaas_serving"))  # absent without NVML

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition the scraper's Accept header asks for, and its content type."""
        return exposition(self.registry, accept)
