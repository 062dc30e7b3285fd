"""Estimates before spending GPU time (ftaas extension: `POST /v1/fine_tuning/jobs/estimate`): the wire between
the API and the workers, and the throughput succeeded jobs measured.

The API checks a create body as the create does, but it holds no base model and no tokenizer (API pods have
none, and the API never imports torch), so the workers compute estimates, where the models are:

  API     LPUSH RedisKeys.ESTIMATE_REQUESTS an EstimateRequest; BLPOP RedisKeys.estimate_reply(id) for its
          deadline. No answer in time: the request is taken back and the caller gets a 503.
  worker  every (non-burst) worker runs jobs.estimate.EstimateServer beside its jobs: BRPOP a request, download
          its files (and the model it continues), compute the estimate in a child process
          (`python -m jobs.estimate`, so the worker stays torch-free), add the expected duration from the
          measured throughput, and RPUSH the reply, which expires after REPLY_TTL_S. An expired request is skipped.

Measured throughput: each job that succeeds records its training tokens per second and the rest of its run
(loading, measuring before and after, saving, uploading) per base model, method and number of training
processes, as exponential moving averages in one Redis hash (RedisKeys.THROUGHPUT). Like the queue, it is
Redis's: a flushed Redis forgets it, and estimates state no duration until a job of that kind succeeds again.

Torch-free: the API imports it.
"""

import json
import secrets
import time

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from jobs.keys import RedisKeys
from jobs.records import JobRecord, StartingModel
from jobs.spec import JobSpec, TrainingPlan

REPLY_TTL_S = 300
EMA_WEIGHT = 0.3  # the newest job's share of the moving averages


class EstimateRequest(BaseModel):
    id: str
    tenant: str
    spec: JobSpec  # validated by the API, its seed decided
    starting_model: StartingModel | None = None
    expires_at: float  # unix time after which the API no longer waits for the answer


class Throughput(BaseModel):
    """What this deployment's workers measured for one base model, method and number of processes."""

    tokens_per_second: float = Field(description="Trained tokens per second of training (moving average).")
    overhead_seconds: float | None = Field(
        None, description="The rest of a job's run on its worker, from `running` to `succeeded`: loading the model, "
        "measuring it before and after, saving and uploading (moving average; null until a job measured it).",
    )
    jobs: int = Field(description="How many succeeded jobs were measured.")


class MemoryEstimate(BaseModel):
    """Expected peak memory of one training process on the worker's device, against that device's memory."""

    device: str = Field(description="`cuda` (the worker's accelerator) or `cpu`.")
    device_memory_bytes: int = Field(
        description="The accelerator's memory; on CPU, the machine's (or the container's limit), shared by the "
        "training processes.",
    )
    total_parameters: int
    trainable_parameters: int
    sharded: bool = Field(False, description="Whether FSDP2 shards the weights and trainable state over the job's "
                          "processes (compute.strategy, or its auto choice); then the two are each process's share.")
    weights_bytes: int = Field(description="The model's weights as training loads them (4-bit for qlora), per process.")
    trainable_state_bytes: int = Field(description="Gradients and AdamW's two moments of the trainable parameters, "
                                       "per process.")
    activation_budget_bytes: int = Field(
        description="What one forward may keep for its backward (FTAAS_TRAINING_ACTIVATION_BUDGET_BYTES, else a "
        "share of the accelerator's memory left after the weights, else 2 GiB on CPU).",
    )
    gradient_checkpointing: bool = Field(description="Whether training will recompute activations.")
    activation_bytes: int = Field(description="The activations of the largest forward the job's batches make.")
    peak_bytes: int = Field(description="weights + trainable state + activations, per process (times the "
                            "processes on CPU, which share one memory).")
    fits: bool = Field(description="peak_bytes ≤ device_memory_bytes.")


class EstimateResult(BaseModel):
    """What the estimate's child process computes from the job's files, tokenizer and model."""

    base_model: str
    format: str
    n_examples: int
    tokens_per_epoch: int
    total_tokens: int
    steps: int
    plan: TrainingPlan
    processes: int
    notes: list[str] = []
    memory: MemoryEstimate | None = None
    memory_unavailable: str | None = None


class EstimateError(BaseModel):
    code: str
    message: str


class EstimateReply(BaseModel):
    result: EstimateResult | None = None
    error: EstimateError | None = None  # why the job would fail before training (its files, its model)
    throughput: Throughput | None = None
    expected_duration_seconds: float | None = None
    duration_unavailable: str | None = None


def method_name(spec: JobSpec) -> str:
    """How throughput is told apart: the training type, and DPO (two sequences a pair, and a reference pass)."""
    return spec.training_type.type + ("+dpo" if spec.method_type == "dpo" else "")


def _throughput_field(base_model: str, method: str, processes: int) -> str:
    return json.dumps([base_model, method, processes])


async def record_throughput(redis: Redis, job: JobRecord, processes: int) -> Throughput | None:
    """Fold a succeeded job's measurements into its kind's moving averages (concurrent updates may lose one)."""
    tokens_per_second = job.progress.tokens_per_second if job.progress else None
    if not tokens_per_second or not job.trained_tokens:
        return None
    overhead = None
    if job.attempt == 1 and job.started_at is not None and job.finished_at is not None:  # one uninterrupted run
        overhead = max(0.0, job.finished_at - job.started_at - job.trained_tokens / tokens_per_second)
    field = _throughput_field(job.base_model, method_name(job.spec), processes)
    raw = await redis.hget(RedisKeys.THROUGHPUT, field)
    if raw is None:
        measured = Throughput(tokens_per_second=tokens_per_second, overhead_seconds=overhead, jobs=1)
    else:
        old = Throughput.model_validate_json(raw)

        def average(previous: float | None, new: float | None) -> float | None:
            if previous is None or new is None:
                return new if previous is None else previous
            return (1 - EMA_WEIGHT) * previous + EMA_WEIGHT * new

        measured = Throughput(tokens_per_second=average(old.tokens_per_second, tokens_per_second),
                              overhead_seconds=average(old.overhead_seconds, overhead), jobs=old.jobs + 1)
    await redis.hset(RedisKeys.THROUGHPUT, field, measured.model_dump_json())
    return measured


async def measured_throughput(redis: Redis, base_model: str, method: str, processes: int) -> Throughput | None:
    raw = await redis.hget(RedisKeys.THROUGHPUT, _throughput_field(base_model, method, processes))
    return Throughput.model_validate_json(raw) if raw is not None else None


async def with_duration(redis: Redis, spec: JobSpec, reply: EstimateReply) -> EstimateReply:
    """The reply with the expected duration from the measured throughput of its kind, or why there is none."""
    result = reply.result
    if result is None:
        return reply
    method = method_name(spec)
    throughput = await measured_throughput(redis, result.base_model, method, result.processes)
    if throughput is None:
        return reply.model_copy(update={"duration_unavailable": (
            f"no {method} job on {result.base_model} in {result.processes} process(es) has succeeded on this "
            "deployment yet; the first one's measured throughput is used from then on")})
    seconds = (throughput.overhead_seconds or 0.0) + result.total_tokens / throughput.tokens_per_second
    return reply.model_copy(update={"throughput": throughput, "expected_duration_seconds": round(seconds, 1)})


async def request_estimate(redis: Redis, tenant: str, spec: JobSpec, starting_model: StartingModel | None,
                           timeout_s: float) -> EstimateReply | None:
    """Ask the workers for an estimate and wait up to `timeout_s` for it; None when none answered in time (the
    request is taken back, so no worker computes it later)."""
    request = EstimateRequest(id=secrets.token_hex(12), tenant=tenant, spec=spec, starting_model=starting_model,
                              expires_at=time.time() + timeout_s)
    payload = request.model_dump_json()
    await redis.lpush(RedisKeys.ESTIMATE_REQUESTS, payload)
    answer = await redis.blpop([RedisKeys.estimate_reply(request.id)], timeout=timeout_s)
    if answer is None:
        await redis.lrem(RedisKeys.ESTIMATE_REQUESTS, 1, payload)
        return None
    await redis.delete(RedisKeys.estimate_reply(request.id))
    return EstimateReply.model_validate_json(answer[1])
