"""Reading and writing file, job and model records: the store holds them, Redis indexes them.

Every job status change goes through `JobRepository.transition`, which holds a per-job Redis lock
and checks the transition table, so the API (cancel) and the worker (progress, finish) never
overwrite each other. Store calls are blocking and run in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import LockError, LockNotOwnedError

from jobs import keys
from jobs.ids import InvalidId, new_permission_id, new_webhook_event_id
from jobs.keys import RedisKeys
from jobs.records import CheckpointPermission, CheckpointRecord, FileRecord, JobRecord, ModelManifest, WebhookEndpointRecord
from jobs.status import JobStatus, check_transition
from jobs.store import ObjectNotFound, Store

log = logging.getLogger("ftaas.jobs")
WEBHOOK_EVENTS_KEPT = 100_000  # the stream's length bound; the deliverers read events within seconds


class RecordNotFound(LookupError):
    pass


class JobTakenOver(Exception):
    """A newer attempt holds the job: the worker of an older one may no longer write anything of it."""

    def __init__(self, job_id: str, attempt: int, current: int) -> None:
        super().__init__(f"job {job_id}: attempt {attempt} was taken over by attempt {current}")


def _key(build: Any, tenant: str, object_id: str) -> str:
    """The store key of a tenant's object; an id that does not match its grammar names nothing."""
    try:
        return build(tenant, object_id)
    except InvalidId:
        raise RecordNotFound(object_id) from None


def _owned(record: Any, tenant: str, object_id: str) -> Any:
    """A record read under a tenant's prefix must also say it is that tenant's (and that object)."""
    if record.tenant != tenant or record.id != object_id:
        raise RecordNotFound(object_id)
    return record


class FileRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(self, record: FileRecord) -> None:
        await asyncio.to_thread(self.store.put_json, keys.file_record(record.tenant, record.id), record.model_dump())

    async def get(self, tenant: str, file_id: str) -> FileRecord:
        key = _key(keys.file_record, tenant, file_id)
        try:
            data = await asyncio.to_thread(self.store.get_json, key)
        except ObjectNotFound:
            raise RecordNotFound(file_id) from None
        return _owned(FileRecord.model_validate(data), tenant, file_id)

    async def delete(self, tenant: str, file_id: str) -> None:
        """The record first (a file without one does not exist), then the content."""
        def delete() -> None:
            self.store.delete(_key(keys.file_record, tenant, file_id))
            self.store.delete(_key(keys.file_content, tenant, file_id))

        await asyncio.to_thread(delete)

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
    LOCK_TIMEOUT_S = 120  # longer than any store round trip a holder makes, so it rarely runs out
    LOCK_WAIT_S = 30
    FILTERED_READ = 100  # job records read at a time when a filter decides which are listed

    def __init__(self, store: Store, redis: Redis) -> None:
        self.store = store
        self.redis = redis

    async def _write(self, job: JobRecord) -> None:
        await asyncio.to_thread(self.store.put_json, keys.job_record(job.tenant, job.id), job.model_dump(mode="json"))

    async def _read(self, tenant: str, job_id: str) -> JobRecord:
        key = _key(keys.job_record, tenant, job_id)
        try:
            data = await asyncio.to_thread(self.store.get_json, key)
        except ObjectNotFound:
            raise RecordNotFound(job_id) from None
        return _owned(JobRecord.model_validate(data), tenant, job_id)

    async def create(self, job: JobRecord) -> None:
        # The marker first: a job whose record exists is always found by the reconciler.
        await asyncio.to_thread(self.store.put_bytes, keys.unfinished_job(job.tenant, job.id), b"")
        await self._write(job)
        await self._ensure_index(job.tenant)
        await self.redis.zadd(RedisKeys.job_index(job.tenant), {job.id: job.created_at})

    async def get(self, tenant: str, job_id: str) -> JobRecord:
        return await self._read(tenant, job_id)

    async def list(self, tenant: str, after: str | None, limit: int,
                   where: Callable[[JobRecord], bool] | None = None) -> tuple[list[JobRecord], bool]:
        """Newest first, only the jobs `where` accepts (all without it); `after` is the id of the last job of the
        previous page. Returns the page and whether more follow."""
        await self._ensure_index(tenant)
        index = RedisKeys.job_index(tenant)
        start = 0
        if after is not None:
            rank = await self.redis.zrevrank(index, after)
            if rank is None:
                raise RecordNotFound(after)
            start = rank + 1
        # Unfiltered, the next limit + 1 jobs tell the page and whether more follow. An index entry whose record
        # is gone (a creation that failed half-way) is passed over.
        batch = self.FILTERED_READ if where else limit + 1
        found: list[JobRecord] = []
        while len(found) <= limit:
            ids = await self._index_ids(index, start, batch)
            start += len(ids)
            jobs = await asyncio.gather(*(self._read_if_any(tenant, i) for i in ids))
            found += [job for job in jobs if job is not None and (where is None or where(job))]
            if len(ids) < batch:
                break
        return found[:limit], len(found) > limit

    async def _read_if_any(self, tenant: str, job_id: str) -> JobRecord | None:
        try:
            return await self._read(tenant, job_id)
        except RecordNotFound:
            return None

    async def _index_ids(self, index: str, start: int, count: int) -> list[str]:
        return [i.decode() if isinstance(i, bytes) else i for i in await self.redis.zrevrange(index, start, start + count - 1)]

    @contextlib.asynccontextmanager
    async def _locked(self, job_id: str) -> AsyncIterator[None]:
        lock = self.redis.lock(RedisKeys.job_lock(job_id), timeout=self.LOCK_TIMEOUT_S, blocking_timeout=self.LOCK_WAIT_S)
        if not await lock.acquire():
            raise LockError(f"job {job_id} is being changed by another process; try again")
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockNotOwnedError:  # it ran out while we held it (a very slow store): what we wrote stands
                log.warning("job %s: the lock ran out before its holder was done", job_id)

    @staticmethod
    def _check_attempt(job: JobRecord, attempt: int | None) -> None:
        if attempt is not None and job.attempt != attempt:
            raise JobTakenOver(job.id, attempt, job.attempt)

    async def claim(self, tenant: str, job_id: str) -> JobRecord:
        """A worker takes the job: a new attempt, whose number fences off every earlier one's writes."""
        async with self._locked(job_id):
            job = await self._read(tenant, job_id)
            if job.status.is_terminal:
                return job
            claimed = job.model_copy(update={"attempt": job.attempt + 1})
            await self._write(claimed)
            return claimed

    async def transition(
        self, tenant: str, job_id: str, target: JobStatus, *, attempt: int | None = None,
        before_write: Callable[[], Awaitable[None]] | None = None, **changes: Any,
    ) -> JobRecord:
        """Move a job to `target` (raises InvalidTransition if the table forbids it) and apply `changes`.
        A worker passes its `attempt`: if another has taken the job since, JobTakenOver and nothing written.
        `before_write` runs once the move is allowed, under the same lock (publishing a model with it
        makes the model and the job's success one step that a cancel cannot come between)."""
        async with self._locked(job_id):
            job = await self._read(tenant, job_id)
            self._check_attempt(job, attempt)
            check_transition(job.status, target)
            if before_write is not None:
                await before_write()
            updated = job.model_copy(update={"status": target, **changes})
            await self._write(updated)
        if target.is_terminal:
            await asyncio.to_thread(self.store.delete, keys.unfinished_job(tenant, job_id))
        if target.is_terminal or target == JobStatus.RUNNING:
            await self.announce(tenant, job_id, f"fine_tuning.job.{target.value}", updated.finished_at)
        return updated

    async def announce(self, tenant: str, job_id: str, event_type: str, created_at: int | None = None,
                       data: dict[str, Any] | None = None) -> None:
        """Hand a job's event (jobs.webhooks.EVENT_TYPES; `data` beside the job's id) to the webhook deliverers.
        Written after what it announces: a Redis that fails just then loses the event (logged), never the change."""
        fields = {"tenant": tenant, "job_id": job_id, "type": event_type, "event_id": new_webhook_event_id(),
                  "created_at": str(created_at or int(time.time())), "data": json.dumps(data or {})}
        try:
            await self.redis.xadd(RedisKeys.WEBHOOK_EVENTS, fields, maxlen=WEBHOOK_EVENTS_KEPT, approximate=True)
        except Exception:
            log.exception("job %s: its webhook event %s could not be queued", job_id, event_type)

    async def update(
        self, tenant: str, job_id: str, *, attempt: int | None = None, even_if_ended: bool = False, **changes: Any
    ) -> JobRecord | None:
        """Change fields without changing the status; does nothing (returns None) once the job has ended,
        unless `even_if_ended` (the worker's last progress of a job cancelled while it ran)."""
        async with self._locked(job_id):
            job = await self._read(tenant, job_id)
            self._check_attempt(job, attempt)
            if job.status.is_terminal and not even_if_ended:
                return None
            updated = job.model_copy(update=changes)
            await self._write(updated)
            return updated

    async def check_holder(self, job: JobRecord) -> JobRecord:
        """The job as stored now, if `job`'s attempt still holds it (else JobTakenOver)."""
        current = await self._read(job.tenant, job.id)
        self._check_attempt(current, job.attempt)
        return current

    async def unfinished(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """(tenant, job id) of every job that has not ended (of `tenant` only, when given), from the store's markers."""

        def scan() -> list[tuple[str, str]]:
            prefix = keys.unfinished_jobs_prefix()
            found = []
            for key in self.store.list_keys(keys.unfinished_jobs_prefix(tenant)):
                owner, _, job_id = key[len(prefix):].partition("/")
                found.append((owner, job_id))
            return found

        return await asyncio.to_thread(scan)

    async def forget_unfinished(self, tenant: str, job_id: str) -> None:
        await asyncio.to_thread(self.store.delete, keys.unfinished_job(tenant, job_id))

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

    def read(self, tenant: str, model_id: str) -> ModelManifest:
        """Blocking (the model resolver is synchronous)."""
        try:
            data = self.store.get_json(_key(keys.model_manifest, tenant, model_id))
        except ObjectNotFound:
            raise RecordNotFound(model_id) from None
        return _owned(ModelManifest.model_validate(data), tenant, model_id)

    async def get(self, tenant: str, model_id: str) -> ModelManifest:
        return await asyncio.to_thread(self.read, tenant, model_id)

    async def delete(self, tenant: str, model_id: str) -> None:
        """The manifest first (a model without one does not exist: nothing resolves it from then on), then every file
        of every attempt's upload."""
        def delete() -> None:
            self.store.delete(_key(keys.model_manifest, tenant, model_id))
            self.store.delete_prefix(_key(keys.model_prefix, tenant, model_id))

        await asyncio.to_thread(delete)

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
            pointer = self.store.get_json(_key(keys.checkpoint_pointer, tenant, ref))
            record = CheckpointRecord.model_validate(
                self.store.get_json(keys.job_checkpoint_record(tenant, pointer["job_id"], pointer["step"]))
            )
        except ObjectNotFound:
            raise RecordNotFound(ref) from None
        if record.tenant != tenant or ref not in (record.id, record.fine_tuned_model_checkpoint):
            raise RecordNotFound(ref)
        return record

    async def get(self, tenant: str, ref: str) -> CheckpointRecord:
        return await asyncio.to_thread(self.read, tenant, ref)

    async def delete_interim(self, tenant: str, job_id: str, before_step: int) -> list[int]:
        """Delete the job's interim checkpoints below `before_step` (names first, then the record, then the
        files, so nothing finds a checkpoint whose files are going); returns their steps."""

        def delete() -> list[int]:
            deleted = []
            for record in self._load(tenant, job_id):
                if record.interim and record.step < before_step:
                    for ref in (record.id, record.fine_tuned_model_checkpoint):
                        self.store.delete(keys.checkpoint_pointer(tenant, ref))
                    self.store.delete(keys.job_checkpoint_record(tenant, job_id, record.step))
                    self.store.delete_prefix(keys.job_checkpoint(tenant, job_id, record.step))
                    deleted.append(record.step)
            return sorted(deleted)

        return await asyncio.to_thread(delete)

    def _load(self, tenant: str, job_id: str) -> list[CheckpointRecord]:
        return [
            CheckpointRecord.model_validate(self.store.get_json(key))
            for key in self.store.list_keys(keys.job_checkpoints_prefix(tenant, job_id))
            if key.endswith("/checkpoint.json")
        ]

    async def list(self, tenant: str, job_id: str) -> list[CheckpointRecord]:
        """Newest (highest step) first."""
        return sorted(await asyncio.to_thread(self._load, tenant, job_id), key=lambda c: c.step, reverse=True)


class CheckpointPermissionRepository:
    """Checkpoints shared with other tenants. The owner's permission record is the grant; the grantee's pointer
    (by the checkpoint's id and by its name) only finds it, so a grant counts only while both exist: revoking
    deletes the record first and takes effect at once."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _load(self, owner: str, checkpoint_name: str) -> list[CheckpointPermission]:
        return [CheckpointPermission.model_validate(self.store.get_json(key))
                for key in self.store.list_keys(keys.checkpoint_permissions_prefix(owner, checkpoint_name))]

    async def list(self, owner: str, checkpoint_name: str) -> list[CheckpointPermission]:
        """Oldest first."""
        found = await asyncio.to_thread(self._load, owner, checkpoint_name)
        return sorted(found, key=lambda p: p.created_ns)

    async def grant(self, checkpoint: CheckpointRecord, grantees: list[str]) -> list[CheckpointPermission]:
        """One permission per grantee; a grantee that already has one keeps it (the same id)."""
        def write() -> list[CheckpointPermission]:
            existing = {p.project_id: p for p in self._load(checkpoint.tenant, checkpoint.fine_tuned_model_checkpoint)}
            granted = []
            for grantee in grantees:
                permission = existing.get(grantee) or CheckpointPermission(
                    id=new_permission_id(), project_id=grantee, owner=checkpoint.tenant,
                    checkpoint=checkpoint.fine_tuned_model_checkpoint, checkpoint_id=checkpoint.id,
                )
                self.store.put_json(keys.checkpoint_permission(checkpoint.tenant, permission.checkpoint, permission.id),
                                    permission.model_dump())
                for ref in (permission.checkpoint, permission.checkpoint_id):
                    self.store.put_json(keys.shared_checkpoint(grantee, ref),
                                        {"owner": permission.owner, "permission_id": permission.id, "checkpoint": permission.checkpoint})
                granted.append(permission)
            return granted

        return await asyncio.to_thread(write)

    async def revoke(self, owner: str, checkpoint_name: str, permission_id: str) -> CheckpointPermission:
        def delete() -> CheckpointPermission:
            key = _key(lambda t, i: keys.checkpoint_permission(t, checkpoint_name, i), owner, permission_id)
            try:
                permission = CheckpointPermission.model_validate(self.store.get_json(key))
            except ObjectNotFound:
                raise RecordNotFound(permission_id) from None
            self.store.delete(key)  # the grant ends here; the pointers below only found it
            for ref in (permission.checkpoint, permission.checkpoint_id):
                self.store.delete(keys.shared_checkpoint(permission.project_id, ref))
            return permission

        return await asyncio.to_thread(delete)

    def owner_of(self, grantee: str, ref: str) -> str:
        """The tenant that shares the checkpoint `ref` (id or name) with `grantee`; RecordNotFound when none does
        (never shared, or revoked). Blocks (the serving engine is synchronous)."""
        try:
            pointer = self.store.get_json(_key(keys.shared_checkpoint, grantee, ref))
            self.store.get_json(keys.checkpoint_permission(pointer["owner"], pointer["checkpoint"], pointer["permission_id"]))
        except ObjectNotFound:
            raise RecordNotFound(ref) from None
        return pointer["owner"]


class WebhookEndpointRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(self, record: WebhookEndpointRecord) -> None:
        await asyncio.to_thread(self.store.put_json, keys.webhook_endpoint(record.tenant, record.id), record.model_dump())

    async def get(self, tenant: str, endpoint_id: str) -> WebhookEndpointRecord:
        try:
            raw = await asyncio.to_thread(self.store.get_json, _key(keys.webhook_endpoint, tenant, endpoint_id))
        except ObjectNotFound:
            raise RecordNotFound(endpoint_id) from None
        return _owned(WebhookEndpointRecord.model_validate(raw), tenant, endpoint_id)

    async def delete(self, tenant: str, endpoint_id: str) -> None:
        await asyncio.to_thread(self.store.delete, _key(keys.webhook_endpoint, tenant, endpoint_id))

    async def list(self, tenant: str) -> list[WebhookEndpointRecord]:
        """Newest first."""
        def load() -> list[WebhookEndpointRecord]:
            return [WebhookEndpointRecord.model_validate(self.store.get_json(key))
                    for key in self.store.list_keys(keys.webhook_endpoints_prefix(tenant))]

        return sorted(await asyncio.to_thread(load), key=lambda e: e.created_ns, reverse=True)
