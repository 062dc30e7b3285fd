"""Wire models for /v1/fine_tuning (OpenAI's `fine_tuning.job` and `fine_tuning.job.event` objects)."""

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from jobs.records import CheckpointRecord, JobProgress, JobRecord
from jobs.spec import Compute
from jobs.status import JobStatus


class HyperparametersObject(BaseModel):
    n_epochs: int | Literal["auto"]
    batch_size: int | Literal["auto"]
    learning_rate_multiplier: float | Literal["auto"]


class JobErrorObject(BaseModel):
    code: str
    message: str
    param: str | None = None


class FineTuningJob(BaseModel):
    id: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    created_at: int
    finished_at: int | None
    model: str
    fine_tuned_model: str | None
    organization_id: str
    status: Literal["validating_files", "queued", "running", "succeeded", "failed", "cancelled"] = Field(
        description="OpenAI's status set: a paused job is `queued`, with `paused: true`."
    )
    training_file: str
    validation_file: str | None
    hyperparameters: HyperparametersObject
    method: dict[str, Any]
    result_files: list[str]
    trained_tokens: int | None
    error: JobErrorObject | None
    seed: int | None
    estimated_finish: int | None
    integrations: list[dict[str, Any]] = []
    metadata: dict[str, str] | None
    user_provided_suffix: str | None
    # ftaas extensions
    training_type: dict[str, Any]
    compute: Compute
    task_format: str | None = Field(
        None, description="The training file's format (chat, prompt_completion, text, classification, preference), known once validated."
    )
    progress: JobProgress | None
    queue_position: int | None = Field(None, description="While the job waits for a worker: how many jobs (all "
                                       "tenants') a free worker takes before it, plus one.")
    paused: bool = Field(False, description="Paused by request (status `queued`): POST …/resume to go on.")
    paused_at: int | None = None

    @classmethod
    def from_record(cls, job: JobRecord, queue_position: int | None = None) -> "FineTuningJob":
        spec = job.spec
        if job.plan is not None:  # after validation every "auto" has a value
            hp = HyperparametersObject(
                n_epochs=job.plan.n_epochs, batch_size=job.plan.batch_size,
                learning_rate_multiplier=job.plan.learning_rate_multiplier,
            )
        else:
            requested = spec.effective_hyperparameters
            hp = HyperparametersObject(
                n_epochs=requested.n_epochs, batch_size=requested.batch_size,
                learning_rate_multiplier=requested.learning_rate_multiplier,
            )
        return cls(
            id=job.id, created_at=job.created_at, finished_at=job.finished_at, model=spec.model,
            fine_tuned_model=job.fine_tuned_model, organization_id=job.tenant,
            status=JobStatus.QUEUED.value if job.status == JobStatus.PAUSED else job.status.value,
            training_file=spec.training_file, validation_file=spec.validation_file, hyperparameters=hp,
            method=_method(spec.method_type, hp, job.plan),
            result_files=job.result_files, trained_tokens=job.trained_tokens,
            error=JobErrorObject(**job.error.model_dump()) if job.error else None, seed=spec.seed,
            estimated_finish=job.estimated_finish, metadata=spec.metadata, user_provided_suffix=spec.suffix,
            training_type=spec.training_type.model_dump(), compute=spec.compute, task_format=job.task_format,
            progress=job.progress, queue_position=queue_position, paused=job.status == JobStatus.PAUSED,
            paused_at=job.paused_at,
        )


def _method(method_type: str, hp: HyperparametersObject, plan) -> dict[str, Any]:
    hyperparameters = hp.model_dump()
    if method_type == "dpo":
        hyperparameters["beta"] = plan.beta if plan is not None else "auto"
    return {"type": method_type, method_type: {"hyperparameters": hyperparameters}}


class FineTuningJobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJob]
    has_more: bool


class FineTuningJobEvent(BaseModel):
    id: str
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"] = Field(description="OpenAI's levels: a warning is `warn`.")
    message: str
    type: Literal["message", "metrics"]
    data: dict[str, Any]

    @field_validator("level", mode="before")
    @classmethod
    def _openai_level(cls, level: str) -> str:
        return "warn" if level == "warning" else level  # jobs' events say "warning"; the SDK's type says "warn"


class FineTuningJobStreamMessage(BaseModel):
    """One server-sent event of GET …/events/stream (as it is documented: each message of the stream)."""

    event: Literal["fine_tuning.job.event", "fine_tuning.job"]
    data: str = Field(description="JSON: a fine_tuning.job.event object, or (last) the fine_tuning.job.")
    id: str = Field(description="The event's id (send it as Last-Event-ID to go on after it), or the job's.")


class FineTuningJobEventList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJobEvent]
    has_more: bool


class CheckpointMetrics(BaseModel):
    step: int
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None


class FineTuningJobCheckpoint(BaseModel):
    id: str
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    metrics: CheckpointMetrics
    step_number: int

    @classmethod
    def from_record(cls, checkpoint: CheckpointRecord) -> "FineTuningJobCheckpoint":
        metrics = checkpoint.metrics
        # ftaas evaluates on the whole validation file, so the "full" validation numbers are the same ones.
        valid_loss, valid_accuracy = metrics.get("valid_loss"), metrics.get("valid_accuracy")
        return cls(
            id=checkpoint.id, created_at=checkpoint.created_at, fine_tuned_model_checkpoint=checkpoint.fine_tuned_model_checkpoint,
            fine_tuning_job_id=checkpoint.job_id, step_number=checkpoint.step,
            metrics=CheckpointMetrics(
                step=checkpoint.step, train_loss=metrics.get("train_loss"),
                train_mean_token_accuracy=metrics.get("train_accuracy"), valid_loss=valid_loss,
                valid_mean_token_accuracy=valid_accuracy, full_valid_loss=valid_loss, full_valid_mean_token_accuracy=valid_accuracy,
            ),
        )


class FineTuningJobCheckpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJobCheckpoint]
    first_id: str | None
    last_id: str | None
    has_more: bool
