"""Creating, reading, listing, cancelling, pausing and resuming fine-tuning jobs."""

import secrets
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError

from jobs.estimates import EstimateReply, request_estimate
from jobs.ids import new_job_id
from jobs.keys import RedisKeys
from jobs.queue import dequeue_training, enqueue_training, waiting_positions
from jobs.records import CheckpointRecord, JobRecord, StartingModel, now
from jobs.repository import JobTakenOver, RecordNotFound
from jobs.resolver import ModelNotFound
from jobs.spec import JobSpec
from jobs.status import InvalidTransition, JobStatus
from service.dependencies import Services
from service.errors import Conflict, InvalidRequest, NotFound, ServiceUnavailable, from_validation_error, quoted
from service.pagination import page_after
from service.quotas import admitting_job, job_quota_problems

CANCEL_FLAG_TTL_S = 7 * 24 * 3600


async def create_job(services: Services, tenant: str, body: Any) -> JobRecord:
    spec, starting_model = await validated_spec(services, tenant, body)
    job = JobRecord(id=new_job_id(), tenant=tenant, spec=spec, starting_model=starting_model)
    async with admitting_job(services, tenant):
        await services.jobs.create(job)
    await services.events.start(tenant, job.id, f"Created fine-tuning job: {job.id}")
    await enqueue_training(services.redis, tenant, job.id)
    services.metrics.jobs_created.inc()
    return job


async def validated_spec(services: Services, tenant: str, body: Any) -> tuple[JobSpec, StartingModel | None]:
    """A create request's body checked as the create checks it (InvalidRequest names every problem); the spec
    with its seed decided, and the caller's model it continues, if any."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    file_ids = [body[k] for k in ("training_file", "validation_file") if isinstance(body.get(k), str)]
    starting_model = await find_starting_model(services, tenant, body.get("model"))
    context = {
        "allowed_models": set(services.catalog.ids()),
        "known_files": await services.files.formats(tenant, file_ids),
        "starting_model": starting_model.model_dump() if starting_model else None,
        "compute_limits": services.settings.compute_limits(),
        "integrations_configured": services.settings.configured_integrations(),
    }
    try:
        spec = JobSpec.model_validate(body, context=context)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    if spec.seed is None:  # recorded, so a job can be re-run exactly
        spec = spec.model_copy(update={"seed": secrets.randbelow(2**31)})
    return spec, starting_model


async def estimate_job(services: Services, tenant: str, body: Any) -> tuple[JobSpec, EstimateReply, list[str]]:
    """What the create body would train (ftaas extension): checked as the create checks it, then computed by a
    worker, where the base models are (jobs.estimates), and what the tenant's quotas say of it. Creates nothing."""
    spec, starting_model = await validated_spec(services, tenant, body)
    timeout_s = services.settings.estimate_timeout_seconds
    reply = await request_estimate(services.redis, tenant, spec, starting_model, timeout_s)
    if reply is None:
        raise ServiceUnavailable(
            f"estimates are computed by the workers, where the base models are, and none answered within {timeout_s:g} s; "
            "retry when a worker is running", code="no_worker_available")
    if reply.error is not None:
        if reply.error.code == "unavailable":
            raise ServiceUnavailable(reply.error.message, code="store_unavailable")
        if reply.error.code == "internal_error":
            raise RuntimeError(f"estimate failed on the worker: {reply.error.message}")
        param = "training_file" if reply.error.code == "invalid_file" else None
        raise InvalidRequest(reply.error.message, param=param, code=reply.error.code)
    assert reply.result is not None
    return spec, reply, await job_quota_problems(services, tenant, reply.result.total_tokens)


async def find_starting_model(services: Services, tenant: str, model: Any) -> StartingModel | None:
    """The caller's fine-tuned model or checkpoint that `model` names, if it names one (continued training)."""
    if not isinstance(model, str) or model in services.catalog:
        return None
    try:
        resolved = await services.resolver.aresolve(tenant, model)
    except ModelNotFound:
        return None
    assert resolved.training_type is not None and resolved.artifacts is not None
    return StartingModel(
        id=model, base_model=resolved.base_model, training_type=resolved.training_type,
        task_format=resolved.task_format, artifacts=resolved.artifacts,
    )


async def list_checkpoints(
    services: Services, tenant: str, job_id: str, after: str | None, limit: int
) -> tuple[list[CheckpointRecord], bool]:
    """Newest first; `after` is the id of the last checkpoint of the previous page."""
    await get_job(services, tenant, job_id)
    checkpoints = await services.checkpoints.list(tenant, job_id)
    return page_after(checkpoints, lambda c: c.id, after, limit, f"checkpoint of job {job_id}")


async def unfinished_jobs(services: Services, tenant: str) -> list[JobRecord]:
    """The tenant's jobs that have not ended (queued, running, ...): what still needs their files and models."""
    found = []
    for _, job_id in await services.jobs.unfinished(tenant):
        try:
            job = await services.jobs.get(tenant, job_id)
        except RecordNotFound:
            continue  # being created, or ended and forgotten meanwhile
        if not job.status.is_terminal:
            found.append(job)
    return found


async def get_job(services: Services, tenant: str, job_id: str) -> JobRecord:
    try:
        return await services.jobs.get(tenant, job_id)
    except RecordNotFound:
        raise NotFound(f"no fine-tuning job {quoted(job_id)}", param="fine_tuning_job_id") from None


async def list_jobs(services: Services, tenant: str, after: str | None, limit: int,
                    metadata: dict[str, str] | None = None) -> tuple[list[JobRecord], bool]:
    """Newest first; with `metadata`, only the jobs whose metadata has every one of those keys and values."""
    where = None
    if metadata:
        def where(job: JobRecord) -> bool:
            return all((job.spec.metadata or {}).get(k) == v for k, v in metadata.items())
    try:
        return await services.jobs.list(tenant, after, limit, where)
    except RecordNotFound:
        raise InvalidRequest(f"'after' names no job of yours: {quoted(after)}", param="after") from None


async def queue_positions(services: Services, jobs: list[JobRecord]) -> dict[str, int]:
    """Where each of `jobs` that waits for a worker stands in the queue."""
    return await waiting_positions(services.redis, [job.id for job in jobs if job.status == JobStatus.QUEUED])


async def cancel_job(services: Services, tenant: str, job_id: str) -> JobRecord:
    job = await get_job(services, tenant, job_id)
    if job.status.is_terminal:
        raise Conflict(f"job {job_id} has already {job.status.value}; only unfinished jobs can be cancelled")
    # The flag goes first: the worker checks it before publishing a model, so no model appears for a cancelled job.
    await services.redis.set(RedisKeys.job_cancel(job_id), 1, ex=CANCEL_FLAG_TTL_S)
    try:
        job = await services.jobs.transition(tenant, job_id, JobStatus.CANCELLED, finished_at=now())
    except InvalidTransition as exc:
        raise Conflict(f"job {job_id} has already {exc.current.value}; it cannot be cancelled") from None
    await services.events.append(job_id, "Job cancelled by request", tenant=tenant)
    return job


async def pause_job(services: Services, tenant: str, job_id: str) -> JobRecord:
    """Pause a job: at once when no worker holds it; else its worker checkpoints at the end of the step under way,
    stores the checkpoint and lets the job go (it is `paused` then). Pausing a paused job changes nothing."""
    job = await get_job(services, tenant, job_id)
    if job.status == JobStatus.PAUSED:
        return job
    if job.status.is_terminal:
        raise Conflict(f"job {job_id} has already {job.status.value}; only unfinished jobs can be paused")
    # The flag goes first: the worker that holds the job, or takes it next, pauses it.
    await services.redis.set(RedisKeys.job_pause(job_id), 1, ex=CANCEL_FLAG_TTL_S)
    if not await services.redis.exists(RedisKeys.job_lease(job_id)):
        try:  # fenced by the attempt read above: a worker that claims it meanwhile pauses it itself
            job = await services.jobs.transition(tenant, job_id, JobStatus.PAUSED, attempt=job.attempt,
                                                 paused_at=now(), estimated_finish=None)
            await dequeue_training(services.redis, job_id)  # it holds no place in the queue while paused
            await services.events.append(job_id, "Job paused by request before a worker took it; resume it to "
                                         "queue it again", tenant=tenant)
            return job
        except (InvalidTransition, JobTakenOver):
            job = await get_job(services, tenant, job_id)
            if job.status.is_terminal:
                raise Conflict(f"job {job_id} has already {job.status.value}; it cannot be paused") from None
    await services.events.append(job_id, "Pause requested: the job stops at the end of its current step, stores a "
                                 "checkpoint and is paused", tenant=tenant)
    return job


async def resume_job(services: Services, tenant: str, job_id: str) -> JobRecord:
    """Queue a paused job again; the next free worker goes on from its latest checkpoint."""
    job = await get_job(services, tenant, job_id)
    if job.status != JobStatus.PAUSED:
        pausing = not job.status.is_terminal and await services.redis.exists(RedisKeys.job_pause(job_id))
        raise Conflict(f"job {job_id} is {job.status.value}" + (
            ", pausing (it stops at the end of its current step); resume it once its status says paused"
            if pausing else "; only paused jobs can be resumed"))
    await services.redis.delete(RedisKeys.job_pause(job_id))  # first, or the worker that takes it pauses it again
    try:
        job = await services.jobs.transition(tenant, job_id, JobStatus.QUEUED, paused_at=None)
    except InvalidTransition as exc:
        raise Conflict(f"job {job_id} has already {exc.current.value}; it cannot be resumed") from None
    await enqueue_training(services.redis, tenant, job_id)
    await services.events.append(job_id, "Job resumed by request: queued", tenant=tenant)  # the worker says from where
    return job


FOLLOW_BLOCK_MS = 2000


async def follow_events(services: Services, tenant: str, job_id: str, after: str | None) -> AsyncIterator[dict | JobRecord]:
    """The job's events after the event id `after` (every one without it), oldest first, then each new one as it
    happens; last, the job record, once it has ended or is paused. Checks `after` before anything is sent."""
    await get_job(services, tenant, job_id)
    history = await services.events.all(tenant, job_id)
    if after is not None:
        ids = [e["id"] for e in history]
        if after not in ids:
            raise InvalidRequest(f"Last-Event-ID names no event of job {job_id}: {quoted(after)}", param="Last-Event-ID")
        history = history[ids.index(after) + 1:]
    return _following(services, tenant, job_id, history, after)


async def _following(services: Services, tenant: str, job_id: str, history: list[dict], after: str | None):
    for event in history:
        yield event
        after = event["id"]
    while True:
        job = await services.jobs.get(tenant, job_id)
        new = await services.events.wait_for_new(job_id, after, FOLLOW_BLOCK_MS)
        for event in new:
            yield event
            after = event["id"]
        if not new and (job.status.is_terminal or job.status == JobStatus.PAUSED):
            yield job
            return


async def list_events(
    services: Services, tenant: str, job_id: str, after: str | None, limit: int
) -> tuple[list[dict], bool]:
    await get_job(services, tenant, job_id)
    try:
        return await services.events.list(tenant, job_id, after, limit)
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="after") from None
