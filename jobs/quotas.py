"""Per-tenant quotas (FTAAS_QUOTAS): what each limit means, and its counters in Redis (shared by every API
replica and worker).

- `max_requests_per_minute`: requests to /v1, per tenant and clock minute (the API's auth guard).
- `max_queued_jobs`: jobs created and not running (waiting for a worker, or paused); checked when a job is created.
- `max_running_jobs`: jobs training at once. A worker that takes a job beyond it puts the job back in the queue,
  where it stays `queued` (with its queue position) until one of the tenant's running jobs ends.
- `max_stored_bytes`: the tenant's uploaded files together; checked when a file is uploaded.
- `max_trained_tokens_per_month`: tokens trained by the tenant's jobs that succeeded this calendar month (UTC);
  checked when a job is created (a running job is never stopped by it).

A limit that is not set (null) is no limit. The counters live in Redis: a flushed Redis forgets the month's trained
tokens (quotas protect a deployment; they are not a bill).
"""

import calendar
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis

from jobs.keys import RedisKeys


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_requests_per_minute: int | None = Field(None, ge=1)
    max_queued_jobs: int | None = Field(None, ge=0)
    max_running_jobs: int | None = Field(None, ge=1)
    max_stored_bytes: int | None = Field(None, ge=0)
    max_trained_tokens_per_month: int | None = Field(None, ge=0)


class Quotas(BaseModel):
    """`default` applies to every tenant; `tenants` overrides some of its limits for some tenants (null: unlimited)."""

    model_config = ConfigDict(extra="forbid")

    default: Quota = Quota()
    tenants: dict[str, Quota] = {}

    @classmethod
    def from_setting(cls, value: str) -> "Quotas":
        """FTAAS_QUOTAS: a JSON object, or the path of a JSON file holding one; empty means no limits."""
        text = value.strip()
        if not text:
            return cls()
        if not text.startswith("{"):
            try:
                text = Path(text).read_text()
            except OSError as exc:
                raise ValueError(f"FTAAS_QUOTAS is neither a JSON object nor a readable file: {exc}") from None
        try:
            return cls.model_validate(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ValueError(f"FTAAS_QUOTAS is not JSON: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"FTAAS_QUOTAS: {problems}") from None

    def for_tenant(self, tenant: str) -> Quota:
        override = self.tenants.get(tenant)
        if override is None:
            return self.default
        return self.default.model_copy(update=override.model_dump(exclude_unset=True))


MINUTE_S = 60


async def count_request(redis: Redis, tenant: str) -> tuple[int, float]:
    """Count one request in the tenant's current clock minute: (requests this minute, seconds until the next)."""
    now = time.time()
    key = RedisKeys.requests_in_minute(tenant, int(now // MINUTE_S))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 2 * MINUTE_S)
        count, _ = await pipe.execute()
    return count, MINUTE_S - now % MINUTE_S


# Remove the expired holders, then take a place when the job already has one or one is free.
_TAKE_RUNNING_PLACE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
    return 1
end
return 0
"""


async def take_running_place(redis: Redis, tenant: str, job_id: str, limit: int | None, hold_s: float) -> bool:
    """Count `job_id` among the tenant's running jobs for `hold_s` (renew it with this again) unless `limit` of
    them run already; False then. A worker that dies stops counting when its hold runs out."""
    now_ms = int(time.time() * 1000)
    taken = await redis.eval(_TAKE_RUNNING_PLACE, 1, RedisKeys.running_jobs(tenant), job_id, now_ms,
                             now_ms + int(hold_s * 1000), limit if limit is not None else 2**31)
    return bool(taken)


async def leave_running_place(redis: Redis, tenant: str, job_id: str) -> None:
    await redis.zrem(RedisKeys.running_jobs(tenant), job_id)


async def running_jobs(redis: Redis, tenant: str) -> int:
    return await redis.zcount(RedisKeys.running_jobs(tenant), int(time.time() * 1000), "+inf")


def _month(at: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(at))


def seconds_to_next_month(at: float | None = None) -> int:
    now = datetime.fromtimestamp(time.time() if at is None else at, timezone.utc)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return max(1, int(calendar.timegm((year, month, 1, 0, 0, 0)) - now.timestamp()))


async def add_trained_tokens(redis: Redis, tenant: str, tokens: int, at: float | None = None) -> None:
    await redis.hincrby(RedisKeys.trained_tokens_by_month(tenant), _month(time.time() if at is None else at), tokens)


async def trained_tokens_this_month(redis: Redis, tenant: str) -> int:
    return int(await redis.hget(RedisKeys.trained_tokens_by_month(tenant), _month(time.time())) or 0)
