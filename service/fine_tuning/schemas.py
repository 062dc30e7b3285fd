"""Wire models for /v1/fine_tuning (OpenAI's `fine_tuning.job` and `fine_tuning.job.event` objects)."""

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from jobs.estimates import EstimateReply, MemoryEstimate, Throughput
from jobs.records import CheckpointRecord, JobProgress, JobRecord
from jobs.spec import Compute, Integration, JobSpec, TrainingPlan
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
    integrations: list[Integration] = Field(
        [], description="The job's integrations as it asked for them: OpenAI's wandb objects, and (extension) mlflow.")
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
            paused_at=job.paused_at, integrations=spec.integrations or [],
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


class FineTuningJobEstimate(BaseModel):
    """What a create body would train, before any GPU time is spent (ftaas extension). Computed by a worker with
    the code the job's training runs: the same files, tokenizer, plan and data order."""

    object: Literal["fine_tuning.job.estimate"] = "fine_tuning.job.estimate"
    model: str = Field(description="The request's model.")
    base_model: str = Field(description="The catalog model at the root of its lineage (the model itself unless it continues one).")
    task_format: str = Field(description="The training file's format (chat, prompt_completion, text, classification, preference).")
    n_examples: int = Field(description="Training examples as training sees them: long texts split into "
                            "max_seq_length chunks, examples with nothing to learn from left out.")
    tokens_per_epoch: int = Field(description="Tokens one pass over the training examples feeds the model "
                                  "(after truncation; both sides of preference pairs).")
    n_epochs: int = Field(description="Passes over the training examples (with max_steps, the passes it starts).")
    total_tokens: int = Field(description="Tokens the whole run feeds the model: what the job will record as "
                              "`trained_tokens` (with early_stopping, at most that). With max_steps ending within an "
                              "epoch they depend on the seed: create the job with this estimate's `seed`.")
    steps: int = Field(description="Optimizer steps the run plans.")
    seed: int = Field(description="The seed the estimate was computed with: the request's, else one drawn for it.")
    hyperparameters: TrainingPlan = Field(description="Every hyper-parameter as the job would resolve it (no `auto` left).")
    processes: int = Field(description="Training processes the job would run in on this deployment's workers.")
    expected_duration_seconds: float | None = Field(
        description="From `running` to `succeeded` on this deployment's workers: total_tokens at the throughput "
        "measured by its succeeded jobs of the same base model, method and processes, plus their measured "
        "overhead (loading, measuring, saving). Null until such a job has succeeded: see duration_unavailable.",
    )
    duration_unavailable: str | None = Field(None, description="Why expected_duration_seconds is null.")
    throughput: Throughput | None = Field(None, description="The measurements the expected duration comes from.")
    memory: MemoryEstimate | None = Field(description="Expected peak memory of a training process on the worker's "
                                          "device, and whether it fits. Null: see memory_unavailable.")
    memory_unavailable: str | None = Field(None, description="Why memory is null.")
    price_per_million_tokens: float | None = Field(description="This deployment's price (FTAAS_PRICE_PER_MILLION_TOKENS); null when it sets none.")
    cost: float | None = Field(description="total_tokens / 1,000,000 × price_per_million_tokens; null without a price.")
    notes: list[str] = Field(description="What training would report about the data before it starts (truncated "
                             "examples, split texts).")
    quota_problems: list[str] = Field(
        [], description="What your quotas (README, \"Quotas\") say of this job now, each naming the limit: a create "
        "refused (max_queued_jobs, max_trained_tokens_per_month reached), a wait for a running place "
        "(max_running_jobs), or total_tokens beyond what the month has left. Empty: none applies.",
    )

    @classmethod
    def from_reply(cls, spec: JobSpec, reply: EstimateReply, price_per_million_tokens: float | None,
                   quota_problems: list[str]) -> "FineTuningJobEstimate":
        result = reply.result
        assert result is not None
        return cls(
            model=spec.model, base_model=result.base_model, task_format=result.format, n_examples=result.n_examples,
            tokens_per_epoch=result.tokens_per_epoch, n_epochs=result.plan.n_epochs, total_tokens=result.total_tokens,
            steps=result.steps, seed=result.plan.seed, hyperparameters=result.plan, processes=result.processes,
            expected_duration_seconds=reply.expected_duration_seconds, duration_unavailable=reply.duration_unavailable,
            throughput=reply.throughput, memory=result.memory, memory_unavailable=result.memory_unavailable,
            price_per_million_tokens=price_per_million_tokens,
            cost=None if price_per_million_tokens is None else round(result.total_tokens / 1e6 * price_per_million_tokens, 6),
            notes=result.notes, quota_problems=quota_problems,
        )
