"""The arq queue: JSON payloads (never pickle), one task per fine-tuning job."""

import json
from typing import Any

from arq import create_pool
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.connections import ArqRedis, RedisSettings

TRAINING_TASK = "run_fine_tuning_job"


def serialize(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def deserialize(value: bytes) -> dict[str, Any]:
    return json.loads(value)


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


async def connect(redis_url: str, queue_name: str) -> ArqRedis:
    return await create_pool(
        redis_settings(redis_url),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


async def enqueue_training(redis: ArqRedis, tenant: str, job_id: str, queue_name: str | None = None) -> None:
    # The arq job id is the ftaas job id, so a job is never queued twice.
    await redis.enqueue_job(TRAINING_TASK, tenant, job_id, _job_id=job_id, _queue_name=queue_name)


async def dequeue_training(redis: ArqRedis, job_id: str, queue_name: str | None = None) -> None:
    """Take a job no worker has taken off the queue (a worker that takes it meanwhile finds it paused)."""
    await redis.zrem(queue_name or redis.default_queue_name, job_id)
    await redis.delete(job_key_prefix + job_id)


async def waiting_positions(redis: ArqRedis, job_ids: list[str], queue_name: str | None = None) -> dict[str, int]:
    """Each of `job_ids` that waits in the queue: its place among the jobs no worker has taken yet (1: next)."""
    if not job_ids:
        return {}
    queued = [i.decode() if isinstance(i, bytes) else i for i in await redis.zrange(queue_name or redis.default_queue_name, 0, -1)]
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in queued:
            pipe.exists(in_progress_key_prefix + job_id)
        taken = await pipe.execute()
    waiting = [job_id for job_id, held in zip(queued, taken) if not held]
    wanted = set(job_ids)
    return {job_id: place for place, job_id in enumerate(waiting, start=1) if job_id in wanted}


async def waiting_stats(redis: ArqRedis, queue_name: str, now_s: float) -> tuple[int, float]:
    """For the worker's metrics: how many jobs wait in the queue (no worker has taken them; deferred ones too),
    and for how long the one waiting longest has been due (arq's score is when a job may run), 0 when none is."""
    queued = await redis.zrange(queue_name, 0, -1, withscores=True)
    async with redis.pipeline(transaction=False) as pipe:
        for job_id, _ in queued:
            pipe.exists(in_progress_key_prefix + (job_id.decode() if isinstance(job_id, bytes) else job_id))
        taken = await pipe.execute() if queued else []
    waiting = [score / 1000 for (_, score), held in zip(queued, taken) if not held]
    return len(waiting), max(0.0, now_s - min(waiting, default=now_s))
