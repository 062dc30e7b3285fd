"""What the store holds about files, jobs and fine-tuned models (the system of record).

These are storage records, not wire objects: the API shapes them into OpenAI's objects.
"""

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from jobs import keys
from jobs.ids import fine_tuned_model_id
from jobs.spec import JobSpec, TrainingPlan
from jobs.status import JobStatus


def now() -> int:
    return int(time.time())


class FileRecord(BaseModel):
    id: str
    tenant: str
    filename: str
    purpose: str
    bytes: int
    sha256: str
    created_at: int = Field(default_factory=now)
    format: str | None = None
    n_examples: int = 0
    status: Literal["processed", "error"] = "processed"


class JobError(BaseModel):
    code: str
    message: str
    param: str | None = None


class JobProgress(BaseModel):
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    train_loss: float | None = None
    tokens_per_second: float | None = None


class StartingModel(BaseModel):
    """What a job continues training, when its `model` is a fine-tuned model or a checkpoint."""

    id: str = Field(description="As the request named it: a fine-tuned model id, a checkpoint id or a checkpoint's model name.")
    base_model: str = Field(description="The catalog model at the root of its lineage.")
    training_type: dict[str, Any]
    task_format: str
    artifacts: str = Field(description="Store prefix of its adapter/ or model/ folder.")


class JobRecord(BaseModel):
    id: str
    tenant: str
    spec: JobSpec
    status: JobStatus = JobStatus.QUEUED
    created_at: int = Field(default_factory=now)
    started_at: int | None = None
    finished_at: int | None = None
    plan: TrainingPlan | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    result_files: list[str] = Field(default_factory=list)
    error: JobError | None = None
    estimated_finish: int | None = None
    progress: JobProgress | None = None
    n_examples: int | None = None
    task_format: str | None = Field(None, description="The training file's format, which chose the task.")
    starting_model: StartingModel | None = None
    attempt: int = Field(0, description="How many times a worker has taken the job; the latest holds it (fencing token).")
    paused_attempts: int = Field(0, description="Attempts that ended in a pause by request (they do not count as interruptions).")
    paused_at: int | None = None

    @property
    def base_model(self) -> str:
        """The catalog model this job's weights descend from."""
        return self.starting_model.base_model if self.starting_model else self.spec.model

    @property
    def planned_model_id(self) -> str:
        """The id its fine-tuned model gets when it succeeds; its checkpoints are named after it too."""
        return fine_tuned_model_id(self.base_model, self.spec.suffix, self.id)


class ModelManifest(BaseModel):
    """Written last, after every artifact file: a model whose manifest is missing does not exist."""

    id: str
    tenant: str
    base_model: str
    job_id: str
    kind: str = Field("lora", description="The training_type that made it; 'full' models hold all weights.")
    task_format: str = "chat"
    created_at: int = Field(default_factory=now)
    files: list[str] = Field(default_factory=list, description="Artifact paths relative to the model's artifact folder.")
    extra: dict[str, Any] = Field(default_factory=dict)
    parent: str | None = Field(None, description="The fine-tuned model or checkpoint its job continued training, if any.")
    attempt: int = Field(0, description="The job attempt that uploaded it; its files lie in that attempt's folder.")

    @property
    def artifacts(self) -> str:
        """Store prefix of its adapter/ or model/ folder."""
        return keys.model_artifacts(self.tenant, self.id, self.attempt)


class SigningSecret(BaseModel):
    value: str = Field(description="`whsec_` and the base64 of 32 random bytes (Standard Webhooks).")
    expires_at: int | None = Field(None, description="A rotated-out secret still signs deliveries until then.")


class WebhookEndpointRecord(BaseModel):
    id: str
    tenant: str
    name: str
    url: str
    event_types: list[str]
    created_at: int = Field(default_factory=now)
    created_ns: int = Field(default_factory=time.time_ns, description="Orders endpoints made within one second.")
    updated_at: int | None = None
    secrets: list[SigningSecret] = Field(description="The current secret first, then any still valid after a rotation.")

    def signing_secrets(self, at: int) -> list[str]:
        """The secrets a delivery at `at` is signed with: the current one, and rotated-out ones not yet expired."""
        return [s.value for s in self.secrets if s.expires_at is None or s.expires_at > at]


class CheckpointPermission(BaseModel):
    """A checkpoint's owner lets another tenant (OpenAI: project) train from it and call it; stored by the owner."""

    id: str
    created_at: int = Field(default_factory=now)
    created_ns: int = Field(default_factory=time.time_ns, description="Orders permissions made within one second.")
    project_id: str = Field(description="The tenant the checkpoint is shared with.")
    owner: str
    checkpoint: str = Field(description="The checkpoint's model name, `ft:…:ckpt-step-N`.")
    checkpoint_id: str = Field(description="Its `ftckpt-…` id (the grantee may use either).")


class CheckpointRecord(BaseModel):
    """A checkpoint a job stored while training; written last, after its files."""

    id: str
    tenant: str
    job_id: str
    step: int
    fine_tuned_model_checkpoint: str = Field(description="Its model name: `{fine-tuned model id}:ckpt-step-{step}`.")
    created_at: int = Field(default_factory=now)
    metrics: dict[str, float] = Field(default_factory=dict)
    artifact: str = Field(description="`adapter` or `model`: the folder a new job continues training from.")
    base_model: str
    training_type: dict[str, Any]
    task_format: str
    interim: bool = Field(False, description="Written on the deployment's interval or when the worker stopped, not "
                          "because the job asked: the job's next checkpoint replaces it.")

    @property
    def artifacts(self) -> str:
        """Store prefix of its adapter/ or model/ folder."""
        return keys.checkpoint_artifacts(self.tenant, self.job_id, self.step, self.artifact)
