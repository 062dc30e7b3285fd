"""The arq worker: takes job ids from the queue and runs them one at a time (one GPU, one job)."""

import logging
import os
import time
from typing import Any

from arq.cron import cron
from arq.worker import Worker, func
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from jobs import queue
from jobs.events import EventLog
from jobs.repository import CheckpointRepository, FileRepository, JobRepository
from jobs.runner import MAX_ATTEMPTS, WorkerContext, recover_orphaned_jobs, run_job
from jobs.store import open_store
from service.settings import Settings

log = logging.getLogger("ftaas.worker")


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter("ftaas_worker_jobs_total", "Jobs finished, by final status", ["status"], registry=self.registry)
        self.duration = Histogram(
            "ftaas_worker_job_duration_seconds", "Wall time of a job on the worker", registry=self.registry,
            buckets=(10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
        )
        self.running = Gauge("ftaas_worker_running_jobs", "Jobs running now", registry=self.registry)


async def run_fine_tuning_job(ctx: dict[str, Any], tenant: str, job_id: str) -> str:
    metrics: WorkerMetrics = ctx["metrics"]
    started = time.monotonic()
    metrics.running.inc()
    try:
        status = await run_job(ctx["worker"], tenant, job_id, attempt=ctx.get("job_try", 1))
    finally:
        metrics.running.dec()
        metrics.duration.observe(time.monotonic() - started)
    metrics.jobs.labels(status=status).inc()
    return status


async def recover_jobs(ctx: dict[str, Any]) -> int:
    return len(await recover_orphaned_jobs(ctx["worker"]))


def create_worker(settings: Settings, *, burst: bool = False) -> Worker:
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    metrics = WorkerMetrics()

    async def startup(ctx: dict[str, Any]) -> None:
        redis = ctx["redis"]
        ctx["metrics"] = metrics
        ctx["worker"] = WorkerContext(
            store=store,
            redis=redis,
            jobs=JobRepository(store, redis),
            files=FileRepository(store),
            checkpoints=CheckpointRepository(store),
            events=EventLog(redis, store),
            work_dir=settings.cache_dir / "work",
            child_env=dict(os.environ, FTAAS_CACHE_DIR=str(settings.cache_dir), FTAAS_MODELS=settings.models),
            job_timeout_s=settings.job_timeout_seconds,
            lease_s=settings.worker_lease_seconds,
            queue_name=settings.queue_name,
        )
        await recover_orphaned_jobs(ctx["worker"])
        if settings.worker_metrics_port and not burst:
            start_http_server(settings.worker_metrics_port, registry=metrics.registry)
        log.info("worker ready; queue %s", settings.queue_name)

    return Worker(
        functions=[func(run_fine_tuning_job, name=queue.TRAINING_TASK)],
        cron_jobs=[cron(recover_jobs, second=0)],  # every minute, on whichever worker is free
        queue_name=settings.queue_name,
        redis_settings=queue.redis_settings(settings.redis_url),
        job_serializer=queue.serialize,
        job_deserializer=queue.deserialize,
        on_startup=startup,
        max_jobs=1,
        # The runner enforces the job timeout and the attempts itself, so that it can record why a job failed;
        # arq's limits sit just beyond them.
        job_timeout=settings.job_timeout_seconds + 60,
        max_tries=MAX_ATTEMPTS + 1,
        burst=burst,
        handle_signals=not burst,
    )
