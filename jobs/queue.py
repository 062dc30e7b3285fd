"""The arq queue: JSON payloads (never pickle), one task per fine-tuning job."""

import json
from typing import Any

from arq import create_pool
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
