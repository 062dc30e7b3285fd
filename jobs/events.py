"""Job events: appended to a Redis stream while the job runs, copied to the store when it ends.

Event ids are `ftevent-` + the Redis stream id, so pages are cheap range reads. Listing is newest
first with an `after` cursor, as in OpenAI's API.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Literal

from redis.asyncio import Redis

from jobs import keys
from jobs.keys import RedisKeys
from jobs.store import ObjectNotFound, Store

EVENT_PREFIX = "ftevent-"
STREAM_TTL_AFTER_END_S = 7 * 24 * 3600


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


class EventLog:
    def __init__(self, redis: Redis, store: Store) -> None:
        self.redis = redis
        self.store = store

    async def append(
        self,
        job_id: str,
        message: str,
        *,
        level: Literal["info", "warning", "error"] = "info",
        type: Literal["message", "metrics"] = "message",
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        event = {"created_at": int(time.time()), "level": level, "message": message, "type": type, "data": data or {}}
        stream_id = await self.redis.xadd(RedisKeys.job_events(job_id), {"event": json.dumps(event)})
        return {"id": EVENT_PREFIX + _decode(stream_id), **event}

    async def list(self, tenant: str, job_id: str, after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        stream = RedisKeys.job_events(job_id)
        if not await self.redis.exists(stream):
            return await self._list_from_store(tenant, job_id, after, limit)
        upper = "+" if after is None else "(" + after.removeprefix(EVENT_PREFIX)
        try:
            rows = await self.redis.xrevrange(stream, max=upper, min="-", count=limit + 1)
        except Exception:  # a malformed cursor
            raise ValueError(f"'{after}' is not an event id from this job") from None
        events = [{"id": EVENT_PREFIX + _decode(sid), **json.loads(fields[b"event"])} for sid, fields in rows]
        return events[:limit], len(events) > limit

    async def all(self, job_id: str) -> list[dict[str, Any]]:
        rows = await self.redis.xrange(RedisKeys.job_events(job_id))
        return [{"id": EVENT_PREFIX + _decode(sid), **json.loads(fields[b"event"])} for sid, fields in rows]

    async def persist(self, tenant: str, job_id: str) -> None:
        """Copy the job's events to the store (the record of truth) and let the Redis copy expire."""
        events = await self.all(job_id)
        body = "".join(json.dumps(e) + "\n" for e in events).encode()
        await asyncio.to_thread(self.store.put_bytes, keys.job_events(tenant, job_id), body)
        await self.redis.expire(RedisKeys.job_events(job_id), STREAM_TTL_AFTER_END_S)

    async def _list_from_store(self, tenant: str, job_id: str, after: str | None, limit: int):
        try:
            body = await asyncio.to_thread(self.store.get_bytes, keys.job_events(tenant, job_id))
        except ObjectNotFound:
            return [], False
        events = [json.loads(line) for line in body.splitlines() if line.strip()][::-1]
        if after is not None:
            ids = [e["id"] for e in events]
            if after not in ids:
                raise ValueError(f"'{after}' is not an event id from this job")
            events = events[ids.index(after) + 1 :]
        return events[:limit], len(events) > limit
