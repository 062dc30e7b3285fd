"""Job events: a Redis stream for live reads, the store as their record.

Event ids are `ftevent-` + the Redis stream id (time-ordered), so pages are cheap range reads. Listing
is newest first with an `after` cursor, as in OpenAI's API.

The store holds every event within seconds of it happening, so losing Redis loses none of them:
- the worker running a job keeps `events.jsonl` up to date (`EventArchive`: every few seconds and when
  the job ends, merging what it wrote before with what Redis holds now);
- the API's own events (created, cancelled) are written as one small object each, as they happen.
A stream that Redis has held since the job was created carries a `complete` marker and is read alone;
one rebuilt after Redis lost it (no marker) is read merged with the store's copy.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Literal

from redis.asyncio import Redis

from jobs import keys
from jobs.ids import is_event_id
from jobs.keys import RedisKeys
from jobs.store import ObjectNotFound, Store

EVENT_PREFIX = "ftevent-"
STREAM_TTL_S = 7 * 24 * 3600  # Redis keeps a job's events this long after they stop changing; the store keeps them


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event(stream_id: Any, fields: dict) -> dict[str, Any]:
    return {"id": EVENT_PREFIX + _decode(stream_id), **json.loads(fields[b"event"])}


def _order(event: dict[str, Any]) -> tuple[int, int]:
    ms, _, seq = event["id"].removeprefix(EVENT_PREFIX).partition("-")
    return int(ms), int(seq)


class EventLog:
    def __init__(self, redis: Redis, store: Store) -> None:
        self.redis = redis
        self.store = store

    async def start(self, tenant: str, job_id: str, message: str) -> dict[str, Any]:
        """A new job's first event; the stream it opens is complete for as long as Redis keeps it."""
        await self.redis.set(RedisKeys.job_events_complete(job_id), 1)
        return await self.append(job_id, message, tenant=tenant)

    async def append(
        self,
        job_id: str,
        message: str,
        *,
        level: Literal["info", "warning", "error"] = "info",
        type: Literal["message", "metrics"] = "message",
        data: dict[str, Any] | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """Add an event. With `tenant` it is also written to the store at once (callers other than the
        job's worker, whose EventArchive stores its events in batches)."""
        event = {"created_at": int(time.time()), "level": level, "message": message, "type": type, "data": data or {}}
        stream = RedisKeys.job_events(job_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {"event": json.dumps(event)})
            pipe.expire(stream, STREAM_TTL_S)
            pipe.expire(RedisKeys.job_events_complete(job_id), STREAM_TTL_S)
            stream_id, *_ = await pipe.execute()
        stored = {"id": EVENT_PREFIX + _decode(stream_id), **event}
        if tenant is not None:
            await asyncio.to_thread(self.store.put_json, keys.job_event(tenant, job_id, stored["id"]), stored)
        return stored

    async def wait_for_new(self, job_id: str, after: str | None, block_ms: int) -> list[dict[str, Any]]:
        """The events after the event id `after` (from the first without), oldest first, waiting at most `block_ms`
        for one to arrive."""
        since = after.removeprefix(EVENT_PREFIX) if after else "0-0"
        rows = await self.redis.xread({RedisKeys.job_events(job_id): since}, block=block_ms, count=100)
        return [_event(sid, fields) for _, entries in rows for sid, fields in entries]

    async def redis_events(self, job_id: str, after_stream_id: str = "-") -> list[dict[str, Any]]:
        rows = await self.redis.xrange(RedisKeys.job_events(job_id), min=after_stream_id)
        return [_event(sid, fields) for sid, fields in rows]

    async def list(self, tenant: str, job_id: str, after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        if after is not None and not is_event_id(after):
            raise ValueError(f"'{after[:80]}' is not an event id (ftevent-…) from this job")
        if await self.redis.exists(RedisKeys.job_events_complete(job_id)):
            upper = "+" if after is None else "(" + after.removeprefix(EVENT_PREFIX)
            rows = await self.redis.xrevrange(RedisKeys.job_events(job_id), max=upper, min="-", count=limit + 1)
            events = [_event(sid, fields) for sid, fields in rows]
            return events[:limit], len(events) > limit
        events = await self.all(tenant, job_id)
        events.reverse()
        if after is not None:
            ids = [e["id"] for e in events]
            if after not in ids:
                raise ValueError(f"'{after}' is not an event id from this job")
            events = events[ids.index(after) + 1:]
        return events[:limit], len(events) > limit

    async def all(self, tenant: str, job_id: str) -> list[dict[str, Any]]:
        """Every event of the job, oldest first: the store's record merged with what Redis holds."""
        kept = await asyncio.to_thread(self.stored, tenant, job_id)
        merged = {e["id"]: e for e in kept + await self.redis_events(job_id)}
        return sorted(merged.values(), key=_order)

    def stored(self, tenant: str, job_id: str) -> list[dict[str, Any]]:
        """The events the store holds for the job (blocking): its events.jsonl and the API's one-event objects."""
        events = []
        try:
            body = self.store.get_bytes(keys.job_events(tenant, job_id))
            events = [json.loads(line) for line in body.splitlines() if line.strip()]
        except ObjectNotFound:
            pass
        for key in self.store.list_keys(keys.job_events_prefix(tenant, job_id)):
            try:
                events.append(self.store.get_json(key))
            except ObjectNotFound:  # deleted since it was listed
                pass
        return events


class EventArchive:
    """The running job's events in the store: `flush` merges what Redis holds now into what was stored
    before (a Redis that lost the stream loses nothing already flushed) and rewrites `events.jsonl`."""

    def __init__(self, log: EventLog, tenant: str, job_id: str) -> None:
        self.log, self.tenant, self.job_id = log, tenant, job_id
        self.events: dict[str, dict[str, Any]] | None = None
        self.read_up_to = "-"  # the last stream id taken from Redis

    async def flush(self) -> None:
        if self.events is None:  # first flush: start from what earlier attempts stored
            self.events = {e["id"]: e for e in await asyncio.to_thread(self.log.stored, self.tenant, self.job_id)}
        for event in await self.log.redis_events(self.job_id, self.read_up_to):
            self.events[event["id"]] = event
            self.read_up_to = "(" + event["id"].removeprefix(EVENT_PREFIX)
        body = "".join(json.dumps(e) + "\n" for e in sorted(self.events.values(), key=_order)).encode()
        await asyncio.to_thread(self.log.store.put_bytes, keys.job_events(self.tenant, self.job_id), body)
