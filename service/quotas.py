"""The API's side of the per-tenant quotas (jobs.quotas): a 429 in OpenAI's shape that names the limit.

Checks that count what exists (queued jobs, stored bytes) and then add to it run under a per-tenant Redis lock, so
concurrent requests on any number of API replicas cannot pass one limit together.
"""

import contextlib
import math
from collections.abc import AsyncIterator

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Message, Scope

from jobs.data.formats import human_bytes
from jobs.keys import RedisKeys
from jobs.quotas import Quota, count_request, running_jobs, seconds_to_next_month, trained_tokens_this_month
from service.dependencies import Services
from service.errors import ApiError, ServiceUnavailable

QUEUED_RETRY_AFTER_S = 60  # a queued job's turn comes when another job ends: minutes, typically
LOCK_TIMEOUT_S = 60
LOCK_WAIT_S = 30


class RateLimited(ApiError):
    """Too many requests this minute: waiting helps, and OpenAI's SDKs retry after `Retry-After`."""

    status_code = 429
    type = "requests"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QuotaExceeded(ApiError):
    """A quota the request would exceed; `code` is the quota's name. The same request gets the same answer until
    something ends or is deleted, so SDKs are told not to retry it."""

    status_code = 429
    type = "insufficient_quota"
    retryable = False

    def __init__(self, quota: str, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message, code=quota)
        self.retry_after_s = retry_after_s


def quota_of(services: Services, tenant: str) -> Quota:
    return services.settings.tenant_quotas.for_tenant(tenant)


async def check_request_rate(services: Services, tenant: str) -> dict[str, str]:
    """Count this request against max_requests_per_minute; the `x-ratelimit-*` headers OpenAI sends, or a 429."""
    limit = quota_of(services, tenant).max_requests_per_minute
    if limit is None:
        return {}
    count, reset_s = await count_request(services.redis, tenant)
    if count > limit:
        wait = math.ceil(reset_s)
        raise RateLimited(f"rate limit reached: at most {limit} requests per minute (quota max_requests_per_minute); "
                          f"try again in {wait} s", retry_after_s=wait)
    return {"x-ratelimit-limit-requests": str(limit), "x-ratelimit-remaining-requests": str(limit - count),
            "x-ratelimit-reset-requests": f"{reset_s:.0f}s"}


async def limit_request_rate(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Litestar guard, after require_api_key: counts the request against the tenant's max_requests_per_minute."""
    connection.state.ratelimit_headers = await check_request_rate(connection.app.state.services, connection.state.tenant)


async def send_ratelimit_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: the request-rate headers check_request_rate decided, on the response."""
    headers = scope.get("state", {}).get("ratelimit_headers")
    if headers and message["type"] == "http.response.start":
        message.setdefault("headers", [])
        mutable = MutableScopeHeaders.from_message(message)
        for name, value in headers.items():
            mutable[name] = value


@contextlib.asynccontextmanager
async def _tenant_lock(services: Services, tenant: str, what: str) -> AsyncIterator[None]:
    lock = services.redis.lock(RedisKeys.tenant_quota_lock(tenant, what), timeout=LOCK_TIMEOUT_S,
                               blocking_timeout=LOCK_WAIT_S)
    if not await lock.acquire():
        raise ServiceUnavailable(f"too many {what} requests at once for this tenant; try again", code="busy")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # it ran out: what was written stands
            await lock.release()


@contextlib.asynccontextmanager
async def admitting_job(services: Services, tenant: str) -> AsyncIterator[None]:
    """Around creating one job: raises QuotaExceeded when the tenant has max_queued_jobs waiting, or has trained
    max_trained_tokens_per_month this month."""
    quota = quota_of(services, tenant)
    if quota.max_trained_tokens_per_month is not None:
        used = await trained_tokens_this_month(services.redis, tenant)
        if used >= quota.max_trained_tokens_per_month:
            raise QuotaExceeded(
                "max_trained_tokens_per_month",
                f"your jobs have trained {used:,} tokens this month, the limit of max_trained_tokens_per_month "
                f"({quota.max_trained_tokens_per_month:,}); new jobs are accepted again next month (UTC)",
                retry_after_s=seconds_to_next_month(),
            )
    if quota.max_queued_jobs is None:
        yield
        return
    async with _tenant_lock(services, tenant, "jobs"):
        waiting = await _waiting_jobs(services, tenant)
        if waiting >= quota.max_queued_jobs:
            raise QuotaExceeded(
                "max_queued_jobs",
                f"you have {waiting} jobs waiting (queued or paused), the limit of max_queued_jobs "
                f"({quota.max_queued_jobs}); retry when one has started, or cancel one",
                retry_after_s=QUEUED_RETRY_AFTER_S,
            )
        yield


async def _waiting_jobs(services: Services, tenant: str) -> int:
    """The tenant's jobs that have not started (queued or paused): its unfinished ones but those running."""
    return len(await services.jobs.unfinished(tenant)) - await running_jobs(services.redis, tenant)


async def job_quota_problems(services: Services, tenant: str, total_tokens: int) -> list[str]:
    """What the tenant's quotas say of a job that would train `total_tokens` (for estimates): whether a create now
    is refused, whether it would wait for a running place, whether it takes the month past its tokens."""
    quota, problems = quota_of(services, tenant), []
    if quota.max_queued_jobs is not None and (waiting := await _waiting_jobs(services, tenant)) >= quota.max_queued_jobs:
        problems.append(f"max_queued_jobs: you have {waiting} jobs waiting, the limit ({quota.max_queued_jobs}); "
                        "a create is refused until one starts or is cancelled")
    if quota.max_running_jobs is not None and (running := await running_jobs(services.redis, tenant)) >= quota.max_running_jobs:
        problems.append(f"max_running_jobs: {running} of your jobs are running, the limit; the job would wait "
                        "queued until one ends")
    if (limit := quota.max_trained_tokens_per_month) is not None:
        used = await trained_tokens_this_month(services.redis, tenant)
        if used >= limit:
            problems.append(f"max_trained_tokens_per_month: your jobs have trained {used:,} tokens this month, the "
                            f"limit ({limit:,}); a create is refused until next month (UTC)")
        elif used + total_tokens > limit:
            problems.append(f"max_trained_tokens_per_month: this job's {total_tokens:,} tokens are more than the "
                            f"{limit - used:,} this month has left; it would be accepted, and later jobs refused "
                            "once it succeeds")
    return problems


@contextlib.asynccontextmanager
async def admitting_file(services: Services, tenant: str, size: int) -> AsyncIterator[None]:
    """Around storing one file of `size` bytes: raises QuotaExceeded past max_stored_bytes."""
    limit = quota_of(services, tenant).max_stored_bytes
    if limit is None:
        yield
        return
    async with _tenant_lock(services, tenant, "files"):
        stored = sum(record.bytes for record in await services.files.list(tenant))
        if stored + size > limit:
            raise QuotaExceeded(
                "max_stored_bytes",
                f"this file ({human_bytes(size)}) and your stored files ({human_bytes(stored)}) exceed the limit of "
                f"max_stored_bytes ({human_bytes(limit)}); delete files you no longer need (DELETE /v1/files/{{id}})",
            )
        yield
