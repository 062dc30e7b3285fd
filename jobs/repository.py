"""Reading and writing file, job and model records: the store holds them, Redis indexes them.

Every job status change goes through `JobRepository.transition`, which holds a per-job Redis lock
and checks the transition table, so the API (cancel) and the worker (progress, finish) never
overwrite each other. Store calls are blocking and run in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from jobs import keys
from jobs.keys import RedisKeys
from jobs.records import CheckpointRecord, FileRecord, JobRecord, ModelManifest
from jobs.status import JobStatus, check_transition
from jobs.store import ObjectNotFound, Store


class RecordNotFound(LookupError):
    pass


class FileRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(self, record: FileRecord) -> None:
        await asyncio.to_thread(self.store.put_json, keys.file_record(record.tenant, record.id), record.model_dump())

    async def get(self, tenant: str, file_id: str) -> FileRecord:
        try:
            data = await asyncio.to_thread(self.store.get_json, keys.file_record(tenant, file_id))
        except ObjectNotFound:
            raise RecordNotFound(file_id) from None
        return FileRecord.model_validate(data)

    async def list(self, tenant: str) -> list[FileRecord]:
        def load() -> list[FileRecord]:
            return [
                FileRecord.model_validate(self.store.get_json(key))
                for key in self.store.list_keys(keys.files_prefix(tenant))
                if key.endswith("/file.json")
            ]

        records = await asyncio.to_thread(load)
        return sorted(records, key=lambda r: (r.created_at, r.id), reverse=True)

    async def formats(self, tenant: str, file_ids: list[str]) -> dict[str, str | None]:
        """The detected format of each of `file_ids` that exists (missing ids are left out)."""

        async def format_of(file_id: str) -> str | None:
            return (await self.get(tenant, file_id)).format

        found = await asyncio.gather(*(format_of(f) for f in file_ids), return_exceptions=True)
        for result in found:
            if isinstance(result, BaseException) and not isinstance(result, RecordNotFound):
                raise result
        return {f: result for f, result in zip(file_ids, found) if not isinstance(result, RecordNotFound)}


class JobRepository:
    LOCK_TIMEOUT_S = 30

    def __init__(self, store: Store, redis: Redis) -> None:
        self.store = store
        self.redis = redis

    async def _write(self, job: JobRecord) -> None:
        await asyncio.to_thread(self.store.put_json, keys.job_record(job.tenant, job.id), job.model_dump(mode="json"))

    async def _read(self, tenant: str, job_id: str) -> JobRecord:
        try:
            data = await asyncio.to_thread(self.store.get_json, keys.job_record(tenant, job_id))
        except ObjectNotFound:
            raise RecordNotFound(job_id) from None
        return JobRecord.model_validate(data)

    async def create(self, job: JobRecord) -> None:
        await self._write(job)
        await self._ensure_index(job.tenant)
        await self.redis.zadd(RedisKeys.job_index(job.tenant), {job.id: job.created_at})

    async def get(self, tenant: str, job_id: str) -> JobRecord:
        if not job_id.startswith("ftjob-"):
            raise RecordNotFound(job_id)
        return await self._read(tenant, job_id)

    async def list(self, tenant: str, after: str | None, limit: int) -> tuple[list[JobRecord], bool]:
        """Newest first; `after` is the id of the last job of the previous page."""
        await self._ensure_index(tenant)
        index = RedisKeys.job_index(tenant)
        start = 0
        if after is not None:
            rank = await self.redis.zrevrank(index, after)
            if rank is None:
                raise RecordNotFound(after)
            start = rank + 1
        ids = [i.decode() if isinstance(i, bytes) else i for i in await self.redis.zrevrange(index, start, start + limit)]
        jobs = await asyncio.gather(*(self._read(tenant, i) for i in ids[:limit]))
        return list(jobs), len(ids) > limit

    async def transition(self, tenant: str, job_id: str, target: JobStatus, **changes: Any) -> JobRecord:
        """Move a job to `target` (raises InvalidTransition if the table forbids it) and apply `changes`."""
        async with self.redis.lock(RedisKeys.job_lock(job_id), timeout=self.LOCK_TIMEOUT_S, blocking_timeout=10):
            job = await self._read(tenant, job_id)
            check_transition(job.status, target)
            updated = job.model_copy(update={"status": target, **changes})
            await self._write(updated)
            return updated

    async def update(self, tenant: str, job_id: str, **changes: Any) -> JobRecord | None:
        """Change fields without changing the status; does nothing (returns None) once the job has ended."""
        async with self.redis.lock(RedisKeys.job_lock(job_id), timeout=self.LOCK_TIMEOUT_S, blocking_timeout=10):
            job = await self._read(tenant, job_id)
            if job.status.is_terminal:
                return None
            updated = job.model_copy(update=changes)
            await self._write(updated)
            return updated

    async def _ensure_index(self, tenant: str) -> None:
        """Rebuild the tenant's job index from the store when Redis has lost it."""
        if await self.redis.exists(RedisKeys.job_index_built(tenant)):
            return

        def scan() -> dict[str, int]:
            found = {}
            for key in self.store.list_keys(keys.jobs_prefix(tenant)):
                if key.endswith("/job.json"):
                    record = self.store.get_json(key)
                    found[record["id"]] = record["created_at"]
            return found

        found = await asyncio.to_thread(scan)
        if found:
            await self.redis.zadd(RedisKeys.job_index(tenant), found)
        await self.redis.set(RedisKeys.job_index_built(tenant), 1)


class ModelRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, tenant: str, model_id: str) -> ModelManifest:
        try:
            data = await asyncio.to_thread(self.store.get_json, keys.model_manifest(tenant, model_id))
        except ObjectNotFound:
            raise RecordNotFound(model_id) from None
        return ModelManifest.model_validate(data)

    async def list(self, tenant: str) -> list[ModelManifest]:
        def load() -> list[ModelManifest]:
            return [
                ModelManifest.model_validate(self.store.get_json(key))
                for key in self.store.list_keys(keys.models_prefix(tenant))
                if key.endswith("/manifest.json")
            ]

        return sorted(await asyncio.to_thread(load), key=lambda m: (m.created_at, m.id))


class CheckpointRepository:
    """A job's checkpoints, found by job, or by checkpoint id or model name through a small pointer object."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(self, record: CheckpointRecord) -> None:
        def write() -> None:
            self.store.put_json(keys.job_checkpoint_record(record.tenant, record.job_id, record.step), record.model_dump())
            pointer = {"job_id": record.job_id, "step": record.step}
            for ref in (record.id, record.fine_tuned_model_checkpoint):
                self.store.put_json(keys.checkpoint_pointer(record.tenant, ref), pointer)

        await asyncio.to_thread(write)

    def read(self, tenant: str, ref: str) -> CheckpointRecord:
        """By checkpoint id (`ftckpt-…`) or model name (`ft:…:ckpt-step-N`); blocks (the serving engine is synchronous)."""
        try:
            pointer = self.store.get_json(keys.checkpoint_pointer(tenant, ref))
            return CheckpointRecord.model_validate(self.store.get_json(keys.job_checkpoint_record(tenant, pointer["job_id"], pointer["step"])))
        except ObjectNotFound:
            raise RecordNotFound(ref) from None

    async def get(self, tenant: str, ref: str) -> CheckpointRecord:
        return await asyncio.to_thread(self.read, tenant, ref)

    async def list(self, tenant: str, job_id: str) -> list[CheckpointRecord]:
        """Newest (highest step) first."""

        def load() -> list[CheckpointRecord]:
            return [
                CheckpointRecord.model_validate(self.store.get_json(key))
                for key in self.store.list_keys(keys.job_checkpoints_prefix(tenant, job_id))
                if key.endswith("/checkpoint.json")
            ]

        return sorted(await asyncio.to_thread(load), key=lambda c: c.step, reverse=True)
