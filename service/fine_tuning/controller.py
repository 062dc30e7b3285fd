import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.openapi import ResponseSpec
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.exceptions import SerializationException
from litestar.params import FromPath, QueryParameter

from jobs.records import JobRecord
from service.dependencies import Deps, Services, Tenant
from service.errors import BODY_RESPONSES, CONFLICT_RESPONSES, ERROR_RESPONSES, InvalidRequest, quoted
from service.fine_tuning import service
from service.fine_tuning.openapi import JOB_SPEC_BODY
from service.fine_tuning.schemas import (
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobCheckpointList,
    FineTuningJobEstimate,
    FineTuningJobEvent,
    FineTuningJobEventList,
    FineTuningJobList,
    FineTuningJobStreamMessage,
)
from service.idempotency import idempotent
from service.pagination import After, cursor

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Page size")]


METADATA_PARAM = re.compile(r"metadata\[(.*)\]")


def _metadata_filter(request: Request) -> dict[str, str]:
    """The `metadata[KEY]=VALUE` query parameters, as {KEY: VALUE}."""
    wanted: dict[str, str] = {}
    for name, value in request.query_params.items():
        if name.startswith("metadata"):
            match = METADATA_PARAM.fullmatch(name)
            if match is None or not match.group(1):
                raise InvalidRequest(f"filter by metadata as metadata[KEY]=VALUE, not {quoted(name)}", param=name)
            wanted[match.group(1)] = value
    return wanted


async def _wire_all(services: Services, jobs: list[JobRecord]) -> list[FineTuningJob]:
    positions = await service.queue_positions(services, jobs)
    return [FineTuningJob.from_record(job, positions.get(job.id)) for job in jobs]


async def _wire(services: Services, job: JobRecord) -> FineTuningJob:
    return (await _wire_all(services, [job]))[0]


class FineTuningController(Controller):
    path = "/fine_tuning/jobs"
    tags = ["fine_tuning"]

    @post(
        "/", responses=BODY_RESPONSES, operation_id="create_fine_tuning_job", status_code=200, dependencies=JOB_SPEC_BODY,
        middleware=[idempotent],
        summary="Create a fine-tuning job", description="Every problem with the request is reported at once.",
    )
    async def create_fine_tuning_job(self, services: Deps, tenant: Tenant, request: Request) -> FineTuningJob:
        try:
            body: Any = await request.json()
        except SerializationException as exc:
            raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
        return await _wire(services, await service.create_job(services, tenant, body))

    @post(
        "/estimate", responses=BODY_RESPONSES, operation_id="estimate_fine_tuning_job", status_code=200,
        dependencies=JOB_SPEC_BODY, summary="Estimate a fine-tuning job before creating it (ftaas extension)",
        description="Takes the create body and creates nothing. A body the create would refuse gets the same 400, "
        "naming every problem; else a worker computes, with the code the job's training runs, the tokens it would "
        "train (`total_tokens` is the job's `trained_tokens`), its steps, expected duration on this deployment's "
        "workers, peak memory against the worker's device, and cost. 503 when no worker answers in "
        "FTAAS_ESTIMATE_TIMEOUT_SECONDS.",
    )
    async def estimate_fine_tuning_job(self, services: Deps, tenant: Tenant, request: Request) -> FineTuningJobEstimate:
        try:
            body: Any = await request.json()
        except SerializationException as exc:
            raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
        spec, reply, quota_problems = await service.estimate_job(services, tenant, body)
        return FineTuningJobEstimate.from_reply(spec, reply, services.settings.price_per_million_tokens, quota_problems)

    @get(
        "/", responses=ERROR_RESPONSES, operation_id="list_fine_tuning_jobs", summary="List fine-tuning jobs, newest first",
        description="`metadata[KEY]=VALUE` (any number of them, as OpenAI's SDKs send `metadata={...}`) lists only "
        "the jobs whose metadata has each of those values.",
    )
    async def list_fine_tuning_jobs(
        self, services: Deps, tenant: Tenant, request: Request, after: After = None, limit: Limit = 20
    ) -> FineTuningJobList:
        metadata = _metadata_filter(request)
        jobs, has_more = await service.list_jobs(services, tenant, cursor(after), limit, metadata)
        return FineTuningJobList(data=await _wire_all(services, jobs), has_more=has_more)

    @get("/{fine_tuning_job_id:str}", responses=ERROR_RESPONSES, operation_id="retrieve_fine_tuning_job", summary="Get a fine-tuning job")
    async def retrieve_fine_tuning_job(self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str]) -> FineTuningJob:
        return await _wire(services, await service.get_job(services, tenant, fine_tuning_job_id))

    @post(
        "/{fine_tuning_job_id:str}/cancel", responses=CONFLICT_RESPONSES, operation_id="cancel_fine_tuning_job", status_code=200,
        summary="Cancel a queued or running job; a running job stops within seconds",
    )
    async def cancel_fine_tuning_job(self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str]) -> FineTuningJob:
        return await _wire(services, await service.cancel_job(services, tenant, fine_tuning_job_id))

    @post(
        "/{fine_tuning_job_id:str}/pause", responses=CONFLICT_RESPONSES, operation_id="pause_fine_tuning_job", status_code=200,
        summary="Pause a job: a waiting job at once; a running one stores a checkpoint and frees its worker",
        description="A running job stops at the end of its current step (it shows `running` until then); a paused job "
        "shows `status: queued` (OpenAI's status set) with `paused: true`. Resume continues from the checkpoint.",
    )
    async def pause_fine_tuning_job(self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str]) -> FineTuningJob:
        return await _wire(services, await service.pause_job(services, tenant, fine_tuning_job_id))

    @post(
        "/{fine_tuning_job_id:str}/resume", responses=CONFLICT_RESPONSES, operation_id="resume_fine_tuning_job",
        status_code=200, summary="Resume a paused job: it is queued and goes on from its latest checkpoint",
    )
    async def resume_fine_tuning_job(self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str]) -> FineTuningJob:
        return await _wire(services, await service.resume_job(services, tenant, fine_tuning_job_id))

    @get(
        "/{fine_tuning_job_id:str}/events", responses=ERROR_RESPONSES, operation_id="list_fine_tuning_events",
        summary="A job's events (progress, metrics, errors), newest first",
    )
    async def list_fine_tuning_events(
        self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str], after: After = None, limit: Limit = 20
    ) -> FineTuningJobEventList:
        events, has_more = await service.list_events(services, tenant, fine_tuning_job_id, cursor(after), limit)
        return FineTuningJobEventList(data=[FineTuningJobEvent(**e) for e in events], has_more=has_more)

    @get(
        "/{fine_tuning_job_id:str}/events/stream", operation_id="stream_fine_tuning_events", media_type="text/event-stream",
        responses={**ERROR_RESPONSES, 200: ResponseSpec(FineTuningJobStreamMessage, media_type="text/event-stream",
                                                        generate_examples=False, description="Each server-sent event")},
        summary="A job's events as they happen, oldest first (server-sent events; ftaas extension)",
        description="Each event is an SSE message `event: fine_tuning.job.event` whose data is the event object and whose "
        "id is its id (send `Last-Event-ID` to go on after it). Once the job has ended or is paused, a last message "
        "`event: fine_tuning.job` carries the job, and the stream ends.",
    )
    async def stream_fine_tuning_events(
        self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str], request: Request,
    ) -> ServerSentEvent:
        follow = await service.follow_events(services, tenant, fine_tuning_job_id, request.headers.get("last-event-id"))

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            async for item in follow:
                if isinstance(item, JobRecord):
                    job = await _wire(services, item)
                    yield ServerSentEventMessage(data=job.model_dump_json(), event="fine_tuning.job", id=item.id)
                else:
                    event = FineTuningJobEvent(**item)
                    yield ServerSentEventMessage(data=event.model_dump_json(), event="fine_tuning.job.event", id=event.id)

        return ServerSentEvent(messages())

    @get(
        "/{fine_tuning_job_id:str}/checkpoints", responses=ERROR_RESPONSES, operation_id="list_fine_tuning_checkpoints",
        summary="A job's stored checkpoints, newest first",
        description="Each checkpoint's `id` or `fine_tuned_model_checkpoint` can be a new job's `model`, to continue training from it.",
    )
    async def list_fine_tuning_checkpoints(
        self, services: Deps, tenant: Tenant, fine_tuning_job_id: FromPath[str], after: After = None, limit: Limit = 10
    ) -> FineTuningJobCheckpointList:
        checkpoints, has_more = await service.list_checkpoints(services, tenant, fine_tuning_job_id, cursor(after), limit)
        data = [FineTuningJobCheckpoint.from_record(c) for c in checkpoints]
        return FineTuningJobCheckpointList(
            data=data, has_more=has_more, first_id=data[0].id if data else None, last_id=data[-1].id if data else None,
        )
