"""One fine-tuning job on the worker, start to finish.

queued → validating_files → running → succeeded | failed | cancelled (and paused, by request):
take the job (a new attempt), download and check the files (and the model to continue, if the job
continues one) and resolve the job once (jobs.training_input), run `python -m jobs.train --input` on the
result in a child process (its stdout is a stream of JSON events),
forward events and progress, store each checkpoint as the child writes it, upload the adapter and
results, then write the model manifest and mark the job succeeded in one fenced step. A cancel (a
Redis flag set by the API) stops the child's whole process group within a second or two. A pause (another
flag) makes the child checkpoint at the end of its step and exit; the checkpoint is stored, the job becomes
`paused` and the worker takes the next job. A resume queues it again, and it goes on from that checkpoint.

What survives what:
- The worker stops (SIGTERM: a drain, a rollout): the child checkpoints at the end of its step and the
  checkpoint is stored (within FTAAS_WORKER_STOP_GRACE_SECONDS); the job goes back to `queued`, and the
  next worker resumes from there. Every FTAAS_CHECKPOINT_INTERVAL_SECONDS of training also leaves a
  checkpoint, so even a worker that dies without warning loses at most that much.
- The worker dies (SIGKILL, node lost): its training child dies with it (parent-death signal); the job's
  lease expires; `reconcile` (every worker, every few seconds) queues the job again and it resumes.
- A worker stalls and another takes the job over: every attempt has a number (the job record's
  `attempt`, raised by `JobRepository.claim`). Status writes, checkpoint records and the publish check
  it, and the lease keeper kills the child as soon as it sees a newer attempt, so the stalled worker
  can neither publish nor fail the job. Each attempt works in its own folder and uploads its model into
  its own store folder.
- Redis is flushed: `reconcile` finds the store's unfinished jobs that are neither queued nor held by a
  live worker and queues them again; events already flushed to the store are kept (jobs.events).
- The store or Redis is unreachable for a while: progress writes are skipped, checkpoint uploads cost a
  warning, and every write the job's outcome depends on is retried until it lands (or the job's
  deadline passes). A job never stays `running` without a live owner: if its final write cannot land,
  its lease is left to expire and the job runs again.
A job gives up after MAX_ATTEMPTS.
"""

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from arq.constants import in_progress_key_prefix
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobs import keys
from jobs.catalog import Catalog
from jobs.data.validation import InvalidFiles
from jobs.events import EventArchive, EventLog
from jobs.ids import checkpoint_model_name, new_checkpoint_id, result_file_id
from jobs.keys import RedisKeys
from jobs.queue import enqueue_training
from jobs.quotas import Quotas, add_trained_tokens, leave_running_place, take_running_place
from jobs.records import CheckpointRecord, FileRecord, JobError, JobProgress, JobRecord, ModelManifest, now
from jobs.repository import CheckpointRepository, FileRepository, JobRepository, JobTakenOver, RecordNotFound
from jobs.status import InvalidTransition, JobStatus
from jobs.spec import JobSpec, processes_per_node
from jobs.training_input import TrainingInput, resolve
from jobs.train import EXIT_OUT_OF_MEMORY, die_with_parent, training_command
from jobs.store import Store, StoreUnavailable
from jobs.worker_ops import WorkerMetrics

if TYPE_CHECKING:
    from jobs.across_nodes import AcrossNodes

log = logging.getLogger("ftaas.worker")

MAX_ATTEMPTS = 4
RUNNABLE = (JobStatus.QUEUED, JobStatus.VALIDATING_FILES, JobStatus.RUNNING)  # what a worker that takes a job runs
WAITING = "waiting"  # run_job's answer for a job held back by its tenant's max_running_jobs: queue it again later
PROGRESS_WRITE_INTERVAL_S = 5.0
EVENT_FLUSH_INTERVAL_S = 5.0
# A training process that runs out of memory goes on from its latest checkpoint with half the activation budget,
# this many times: killed by the kernel (SIGKILL), or out of accelerator memory (jobs.train's exit code).
OUT_OF_MEMORY_RETRIES = 2
# Under torchrun, which exits with 1 whatever happened to a rank, its failure report says how the rank ended.
TORCHRUN_RANK_KILLED = f"Signal {signal.SIGKILL.value} (SIGKILL) received by PID"
TORCHRUN_RANK_OUT_OF_MEMORY = f"exitcode  : {EXIT_OUT_OF_MEMORY} "
CANCEL_POLL_INTERVAL_S = 0.5
KILL_GRACE_S = 5.0
# Outages of the store or Redis: writes the job's outcome depends on are retried with backoff, the final
# status write for this long (then the lease is left to expire and the job runs again).
TRANSIENT_ERRORS = (StoreUnavailable, RedisConnectionError, RedisTimeoutError, LockError)
RETRY_MAX_DELAY_S = 30.0
FINAL_WRITE_PATIENCE_S = 15 * 60


def failpoint(name: str, attempt: int) -> None:
    """Fault drills (tests/integration/test_faults.py): with FTAAS_FAILPOINT=name the worker dies here, as
    a crash would, in a job's first attempt. Unset in production."""
    if attempt == 1 and os.environ.get("FTAAS_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


class JobPaused(Exception):
    """The job was paused by request: what it trained so far is checkpointed and stored."""


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class WorkerContext:
    store: Store
    redis: Redis
    jobs: JobRepository
    files: FileRepository
    checkpoints: CheckpointRepository
    events: EventLog
    work_dir: Path
    catalog: Catalog
    child_env: dict[str, str]
    procs_per_node: int = 1  # the accelerators a job may train on (FTAAS_WORKER_MAX_PROCS_PER_NODE)
    stop_grace_s: float = 90  # FTAAS_WORKER_STOP_GRACE_SECONDS
    job_timeout_s: float = 24 * 3600
    lease_s: float = 60
    queue_name: str = "ftaas:queue"
    across_nodes: "AcrossNodes | None" = None  # Kubeflow Trainer, for jobs with compute.num_nodes > 1
    quotas: Quotas = field(default_factory=Quotas)  # FTAAS_QUOTAS: max_running_jobs is the worker's to keep
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)  # the worker's /metrics (jobs.worker_ops)


@dataclass
class Attempt:
    """One worker's run of one job: the record as claimed (its `attempt` is the fencing token)."""

    ctx: WorkerContext
    job: JobRecord
    work: Path
    archive: EventArchive
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    child: asyncio.subprocess.Process | None = None
    progress: JobProgress | None = None
    activation_budget: int | None = None  # the training child's, from its "Memory: …" event
    training: TrainingInput | None = None  # the job resolved for its training process (_resolve)

    @property
    def id(self) -> str:
        return self.job.id

    async def event(self, message: str, **fields) -> None:
        await self.ctx.events.append(self.job.id, message, **fields)

    async def transition(self, target: JobStatus, **changes) -> JobRecord:
        self.job = await self.ctx.jobs.transition(self.job.tenant, self.job.id, target, attempt=self.job.attempt, **changes)
        return self.job


async def retrying(what: str, call, *args, patience_s: float | None = None, **kwargs):
    """`await call(*args, **kwargs)`, again and again through store or Redis outages, with backoff; for at
    most `patience_s` (None: until the caller's deadline cancels it)."""
    started, delay = time.monotonic(), 1.0
    while True:
        try:
            return await call(*args, **kwargs)
        except TRANSIENT_ERRORS as exc:
            if patience_s is not None and time.monotonic() - started + delay > patience_s:
                raise
            log.warning("%s: %s; retrying in %.0f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY_S)


async def run_job(ctx: WorkerContext, tenant: str, job_id: str) -> str:
    """Run one job (a new attempt of it: later ones resume); returns its final status, or `taken_over` when a
    newer attempt holds it. Never raises for a job-level failure."""
    max_running = ctx.quotas.for_tenant(tenant).max_running_jobs
    if not await take_running_place(ctx.redis, tenant, job_id, max_running, ctx.lease_s):
        return await _wait_for_running_place(ctx, tenant, job_id, max_running)
    # The lease goes first, so that no reconciler sees the job taken without one while it is being claimed.
    await ctx.redis.set(RedisKeys.job_lease(job_id), 0, px=int(ctx.lease_s * 1000))
    try:
        job = await ctx.jobs.claim(tenant, job_id)
    except RecordNotFound:
        job = None
    if job is None or job.status not in RUNNABLE:
        await ctx.redis.delete(RedisKeys.job_lease(job_id))
        await leave_running_place(ctx.redis, tenant, job_id)
        log.info("job %s of %s: %s; nothing to run", job_id, tenant, job.status.value if job else "no record")
        return job.status.value if job else "missing"
    ctx.metrics.attempts.inc()
    resuming = job.plan is not None  # validated before: a worker stopped or died, or the job was paused
    work = ctx.work_dir / f"{job_id}-attempt-{job.attempt}"  # never shared with another attempt
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run = Attempt(ctx, job, work, EventArchive(ctx.events, tenant, job_id))
    keeper = asyncio.create_task(_keep_holding(run))
    archiver = asyncio.create_task(_archive_events(run))
    deadline = asyncio.timeout(ctx.job_timeout_s)
    settled = False  # the job's outcome is written (or it is another attempt's to write)
    try:
        if (interrupted := job.attempt - job.paused_attempts - 1) >= MAX_ATTEMPTS:
            raise JobFailed("interrupted", f"the job's worker stopped or died {interrupted} times; create the job "
                            f"again, or continue from its latest checkpoint (GET /v1/fine_tuning/jobs/{job_id}/checkpoints)")
        async with deadline:
            await (_prepare_resume(run) if resuming else _validate_files(run))
            if await ctx.redis.exists(RedisKeys.job_pause(job_id)):
                raise JobPaused()
            if run.job.status != JobStatus.RUNNING:
                await retrying("start", run.transition, JobStatus.RUNNING, started_at=run.job.started_at or now())
                await run.event("Fine-tuning job resumed" if resuming else "Fine-tuning job started")
            if job.spec.compute.num_nodes > 1:
                from jobs.across_nodes import train_across_nodes  # it builds on this module

                outputs = await train_across_nodes(run, resume=resuming)
            else:
                summary = await _train(run, resume=resuming)
                outputs = await store_outputs(run, run.work / "out", summary)
            await _publish(run, outputs)
        settled = True
        ctx.metrics.trained_tokens.inc(run.job.trained_tokens or 0)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await add_trained_tokens(ctx.redis, tenant, run.job.trained_tokens or 0)
        failpoint("published", job.attempt)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await run.event(f"The job has successfully completed; new model: {run.job.fine_tuned_model}")
        return run.job.status.value
    except JobTakenOver:
        settled = True
        log.warning("job %s: attempt %d was taken over by a newer one; leaving it alone", job_id, job.attempt)
        return "taken_over"
    except InvalidTransition:
        # The API cancelled (or, before it started, paused) the job while we worked; it wrote the status.
        settled = True
        await _record_final_progress(run)
        with contextlib.suppress(RecordNotFound, *TRANSIENT_ERRORS):
            return (await ctx.jobs.get(tenant, job_id)).status.value
        return JobStatus.CANCELLED.value
    except JobPaused:
        settled = await _pause(run)
        return JobStatus.PAUSED.value if settled else "unsettled"
    except asyncio.CancelledError:
        settled = await _requeue(run)
        raise
    except Exception as exc:
        if isinstance(exc, TimeoutError) and deadline.expired():
            code, message = "timeout", f"the job ran longer than FTAAS_JOB_TIMEOUT_SECONDS ({ctx.job_timeout_s:.0f} s)"
        elif isinstance(exc, JobFailed):
            code, message = exc.code, exc.message
        else:
            log.exception("job %s failed", job_id)
            code, message = "internal_error", f"internal error: {type(exc).__name__}: {exc}"
        settled = await _fail(run, code, message)
        return JobStatus.FAILED.value if settled else "unsettled"
    finally:
        keeper.cancel()
        archiver.cancel()
        await _let_go(run, settled)


async def _wait_for_running_place(ctx: WorkerContext, tenant: str, job_id: str, max_running: int) -> str:
    """The tenant runs max_running jobs already: the job goes back to the queue (WAITING), saying why once. Redis
    only, and quick: until arq has put it back, the job looks taken by a worker that holds no lease."""
    if await ctx.redis.set(RedisKeys.job_waiting_said(job_id), 1, nx=True, ex=7 * 24 * 3600):
        await ctx.events.append(job_id, f"Waiting: {max_running} of your jobs are running, the limit of "
                                f"max_running_jobs; this job starts when one of them ends", tenant=tenant)
    return WAITING


async def _let_go(run: Attempt, settled: bool) -> None:
    """Store the events and give the lease (and the tenant's running place) back; an unsettled job keeps its lease
    until it expires, so the reconciler runs it again instead of leaving it `running` with no owner."""
    ctx = run.ctx
    with contextlib.suppress(*TRANSIENT_ERRORS):
        await run.archive.flush()
        if settled:
            await ctx.redis.delete(RedisKeys.job_lease(run.id))
            await leave_running_place(ctx.redis, run.job.tenant, run.id)
    shutil.rmtree(run.work, ignore_errors=True)


async def _keep_holding(run: Attempt) -> None:
    """For as long as this attempt runs: renew the job's lease, and stop everything the moment a newer
    attempt holds the job (a stalled worker that wakes up must not go on)."""
    ctx = run.ctx
    while True:
        try:
            await ctx.jobs.check_holder(run.job)
        except JobTakenOver:
            run.lost.set()
            if run.child is not None:
                _kill_group(run.child, signal.SIGKILL)
            return
        except TRANSIENT_ERRORS:
            pass  # cannot tell now; keep the lease
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await ctx.redis.set(RedisKeys.job_lease(run.id), run.job.attempt, px=int(ctx.lease_s * 1000))
            await take_running_place(ctx.redis, run.job.tenant, run.id, None, ctx.lease_s)
        await asyncio.sleep(ctx.lease_s / 4)


async def _archive_events(run: Attempt) -> None:
    while True:
        await asyncio.sleep(EVENT_FLUSH_INTERVAL_S)
        try:
            await run.archive.flush()
        except TRANSIENT_ERRORS as exc:
            log.warning("job %s: events not stored yet: %s", run.id, exc)


async def reconcile(ctx: WorkerContext) -> list[str]:
    """Bring the queue in line with the store: every unfinished job is waiting in the queue or held by a live
    worker; any other is queued again (it resumes from its latest checkpoint). Covers a worker that died
    (its lease expired), a Redis that lost the queue, and an API that stopped between writing a job and
    queueing it."""
    redis = ctx.redis
    await redis.set(RedisKeys.RECONCILER_SINCE, int(time.time()), nx=True)
    # Just after Redis lost its data, live workers have not renewed their leases yet: wait a lease first.
    redis_is_new = time.time() - int(await redis.get(RedisKeys.RECONCILER_SINCE) or 0) < ctx.lease_s
    queued_again = []
    unfinished = await ctx.jobs.unfinished()
    if not redis_is_new:
        await _free_claims_on_ended_jobs(ctx, {job_id for _, job_id in unfinished})
    for tenant, job_id in unfinished:
        # Redis first: a job that is held or waiting costs no store read.
        if await redis.exists(RedisKeys.job_lease(job_id)):
            continue
        taken = await redis.exists(in_progress_key_prefix + job_id)  # the arq job id is the ftaas job id
        if not taken and await redis.zscore(ctx.queue_name, job_id) is not None:
            continue  # waiting for a worker
        try:
            job = await ctx.jobs.get(tenant, job_id)
        except RecordNotFound:
            continue  # being created right now (the marker goes first), or a creation that failed half-way
        if job.status.is_terminal:
            await ctx.jobs.forget_unfinished(tenant, job_id)
            continue
        if job.status == JobStatus.PAUSED:
            continue  # it waits for a resume, which queues it
        if job.status == JobStatus.RUNNING or taken:
            if redis_is_new:
                continue
            await redis.delete(in_progress_key_prefix + job_id)
            ctx.metrics.lease_recoveries.inc()
            log.warning("job %s: its worker stopped answering; it will run again", job_id)
            await ctx.events.append(job_id, "The worker running this job stopped answering; the job will resume "
                                    "from its latest checkpoint on the next free worker", level="warning")
        await enqueue_training(redis, tenant, job_id, queue_name=ctx.queue_name)  # arq refuses a duplicate
        ctx.metrics.requeues.labels(reason="reconciled").inc()
        queued_again.append(job_id)
    return queued_again


async def _free_claims_on_ended_jobs(ctx: WorkerContext, unfinished: set[str]) -> None:
    """A worker that died after a job ended left arq's claim on it: drop the claim, so that the next worker
    takes the job off the queue (and finds nothing to run) instead of it blocking the queue for a day."""
    for raw in await ctx.redis.zrange(ctx.queue_name, 0, -1):
        job_id = raw.decode() if isinstance(raw, bytes) else raw
        if job_id not in unfinished and not await ctx.redis.exists(RedisKeys.job_lease(job_id)):
            await ctx.redis.delete(in_progress_key_prefix + job_id)


async def _fail(run: Attempt, code: str, message: str) -> bool:
    """Write the failure (retried through outages); False if it could not be written."""
    try:
        await retrying("record the failure", run.transition, JobStatus.FAILED,
                       error=JobError(code=code, message=message), finished_at=now(), estimated_finish=None,
                       progress=run.progress or run.job.progress, patience_s=FINAL_WRITE_PATIENCE_S)
    except (InvalidTransition, JobTakenOver):
        return True  # cancelled, or another attempt's to settle
    except TRANSIENT_ERRORS:
        log.error("job %s: the failure (%s) could not be recorded; the job will run again", run.id, message)
        return False
    with contextlib.suppress(*TRANSIENT_ERRORS):
        await run.event(f"Job failed: {message}", level="error")
    return True


async def _requeue(run: Attempt) -> bool:
    """The worker is stopping: a running job goes back to the queue (arq runs it again on the next worker)."""
    try:
        if (await run.ctx.jobs.get(run.job.tenant, run.id)).status not in (JobStatus.VALIDATING_FILES, JobStatus.RUNNING):
            return True  # not taken yet, or already ended
        await run.transition(JobStatus.QUEUED, estimated_finish=None)
        run.ctx.metrics.requeues.labels(reason="worker_stopping").inc()
        await run.event("The worker stopped; the job is queued again and will resume from its latest checkpoint "
                        "on the next worker", level="warning")
    except (InvalidTransition, JobTakenOver):
        pass
    except TRANSIENT_ERRORS:
        return False
    return True


async def _pause(run: Attempt) -> bool:
    """Write the pause (retried through outages); False if it could not be written (the lease then runs out, the
    job runs again and, its pause flag still set, pauses again)."""
    try:
        await retrying("record the pause", run.transition, JobStatus.PAUSED, paused_at=now(), estimated_finish=None,
                       paused_attempts=run.job.paused_attempts + 1, progress=run.progress or run.job.progress,
                       patience_s=FINAL_WRITE_PATIENCE_S)
    except (InvalidTransition, JobTakenOver):
        return True  # cancelled meanwhile, or another attempt's to settle
    except TRANSIENT_ERRORS:
        log.error("job %s: the pause could not be recorded; the job will run again and pause then", run.id)
        return False
    progress = run.job.progress
    at = f" at step {progress.step} of {progress.total_steps}" if progress and progress.step else " before training"
    with contextlib.suppress(*TRANSIENT_ERRORS):
        await run.event(f"Job paused{at}; its worker is free. Resume it (POST /v1/fine_tuning/jobs/{run.id}/resume) "
                        "to go on from its latest checkpoint")
    return True


async def _record_final_progress(run: Attempt) -> None:
    if run.progress is not None:
        with contextlib.suppress(JobTakenOver, *TRANSIENT_ERRORS):
            await run.ctx.jobs.update(run.job.tenant, run.id, attempt=run.job.attempt, even_if_ended=True,
                                      progress=run.progress)


def job_files(spec: JobSpec, tenant: str, folder: Path) -> dict[str, tuple[str, Path]]:
    """The files a job reads, by role (training_file, validation_file): their store key and their path in `folder`."""
    return {role: (keys.file_content(tenant, file_id), folder / f"{role}.jsonl")
            for role, file_id in (("training_file", spec.training_file), ("validation_file", spec.validation_file))
            if file_id is not None}


async def _download_files(run: Attempt) -> dict[str, Path]:
    paths = {}
    for role, (key, path) in job_files(run.job.spec, run.job.tenant, run.work).items():
        await retrying(f"download the {role}", asyncio.to_thread, run.ctx.store.download_file, key, path)
        paths[role] = path
    return paths


async def download_inputs(run: Attempt, quiet: bool = False) -> tuple[dict[str, Path], Path | None]:
    """The job's files and the model it continues (if any), into the attempt's folder."""
    job = run.job
    paths = await _download_files(run)
    start = None
    if job.starting_model is not None:
        start = run.work / "start"
        if not quiet:
            await run.event(f"Downloading {job.starting_model.id} to continue training it")
        await retrying("download the starting model", asyncio.to_thread, run.ctx.store.download_folder,
                       job.starting_model.artifacts, start)
    return paths, start


async def _resolve(run: Attempt) -> None:
    """Download the job's files (and the model it continues), check them and decide everything the training
    process needs (jobs.training_input), once: the process is handed the result and checks nothing again."""
    job = run.job
    paths, start = await download_inputs(run)
    names = (f"training_file {job.spec.training_file}", f"validation_file {job.spec.validation_file}")
    # The seed the job was planned with (a job without one gets it when its files are validated).
    spec = job.spec.model_copy(update={"seed": job.plan.seed}) if job.plan else job.spec
    try:
        run.training = await asyncio.to_thread(resolve, spec, paths["training_file"], paths.get("validation_file"),
                                               run.ctx.catalog, start, names)
    except InvalidFiles as exc:
        raise JobFailed("invalid_file", "; ".join(exc.problems)) from None
    except ValueError as exc:
        raise JobFailed("invalid_training", str(exc)) from None
    run.training = run.training.model_copy(update={"job_id": job.id})  # the trackers' run is the job's


async def _prepare_resume(run: Attempt) -> None:
    """Resolve the (already validated) job again and download its latest stored checkpoint, where the child resumes."""
    await _resolve(run)
    if run.job.spec.compute.num_nodes > 1:
        return  # the training nodes download it themselves
    step = await download_latest_checkpoint(run)
    if step is None:
        await run.event("Resuming: no checkpoint was stored, so training starts again from the first step")
    else:
        await run.event(f"Resuming from the checkpoint stored at step {step}")


async def download_latest_checkpoint(run: Attempt) -> int | None:
    """The job's latest stored checkpoint, into `out/checkpoints/` where the training process resumes from it;
    its step, None when the job has none."""
    ctx, job = run.ctx, run.job
    stored = await retrying("list checkpoints", ctx.checkpoints.list, job.tenant, job.id)
    if not stored:
        return None
    prefix = keys.job_checkpoint(job.tenant, job.id, stored[0].step)
    # The store keeps the child's folder names (step-N), which is where the child looks for checkpoints.
    await retrying("download the checkpoint", asyncio.to_thread, ctx.store.download_folder, prefix,
                   run.work / "out" / "checkpoints" / Path(prefix).name)
    return stored[0].step


async def _validate_files(run: Attempt) -> None:
    if run.job.status == JobStatus.QUEUED:
        await retrying("start validating", run.transition, JobStatus.VALIDATING_FILES)
    await run.event("Validating training file")
    await _resolve(run)
    training = run.training
    ctx, job = run.ctx, run.job
    recorded = await retrying("record the validated files", ctx.jobs.update, job.tenant, job.id, attempt=job.attempt,
                              n_examples=training.n_examples, plan=training.plan, task_format=training.format)
    if recorded is None:  # cancelled meanwhile
        raise InvalidTransition(JobStatus.CANCELLED, JobStatus.RUNNING)
    run.job = recorded
    await run.event(f"Files validated: {training.n_examples} {training.format} training examples")


async def _train(run: Attempt, resume: bool = False) -> dict:
    ctx, job, work = run.ctx, run.job, run.work
    if run.lost.is_set():
        raise JobTakenOver(job.id, job.attempt, -1)
    out = work / "out"
    input_path = work / "input.json"
    input_path.write_text(run.training.model_dump_json())
    processes = processes_per_node(job.spec.compute, job.spec.training_type, ctx.procs_per_node)
    command = [*training_command(sys.executable, processes, ctx.stop_grace_s), "--input", str(input_path),
               "--out", str(out), "--events", "jsonl"]
    env = dict(ctx.child_env)
    log_path = work / "train.log"
    for retries_left in range(OUT_OF_MEMORY_RETRIES, -1, -1):
        log_start = log_path.stat().st_size if log_path.exists() else 0
        code, last_error = await run_child(run, [*command, *(["--resume"] if resume else [])], env)
        if run.lost.is_set():
            ctx.metrics.training_exits.labels(reason=training_exit_reason(code, None)).inc()
            raise JobTakenOver(job.id, job.attempt, -1)
        if await ctx.redis.exists(RedisKeys.job_cancel(job.id)):
            ctx.metrics.training_exits.labels(reason="cancelled").inc()
            await run.event("Job cancelled; training process stopped")
            raise InvalidTransition(JobStatus.CANCELLED, JobStatus.SUCCEEDED)
        if code != 0 and await ctx.redis.exists(RedisKeys.job_pause(job.id)):
            ctx.metrics.training_exits.labels(reason="paused").inc()
            raise JobPaused()  # it checkpointed on the SIGTERM the pause sent; the checkpoint is stored
        why = _out_of_memory(code, processes, log_path, log_start)
        ctx.metrics.training_exits.labels(reason=training_exit_reason(code, why)).inc()
        if why and retries_left and run.activation_budget:
            budget = run.activation_budget // 2
            await run.event(
                f"The training process ran out of memory: {why}. Retrying from its latest checkpoint with half the "
                f"activation budget ({budget / 2**30:.2f} GiB): smaller forwards, the same batches and results",
                level="warning", data={"activation_budget_bytes": budget, "retries_left": retries_left - 1},
            )
            env["FTAAS_TRAINING_ACTIVATION_BUDGET_BYTES"] = str(budget)
            resume = True
            continue
        if code != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise JobFailed("training_failed", last_error or ("training process exited with code %d: %s" % (code, " | ".join(tail))))
        return json.loads((out / "summary.json").read_text())
    raise AssertionError("unreachable")


def training_exit_reason(code: int, out_of_memory: str | None) -> str:
    """The `reason` label of ftaas_worker_training_exits_total (jobs.worker_ops.TRAINING_EXIT_REASONS) for an exit
    code and what `_out_of_memory` made of it."""
    if code == 0:
        return "ok"
    if out_of_memory:
        return "killed" if "killed" in out_of_memory else "out_of_memory"
    return "signal" if code < 0 else "error"


def _out_of_memory(code: int, processes: int, log_path: Path, log_start: int) -> str | None:
    """How the training process ran out of memory, from its exit code (or torchrun's report, which this run wrote
    into the log from `log_start` on); None when it did not."""
    killed = "was killed (SIGKILL), most likely by the kernel's out-of-memory killer"
    if code == -signal.SIGKILL:
        return f"it {killed}"
    if code == EXIT_OUT_OF_MEMORY:
        return "it ran out of accelerator memory"
    if processes > 1 and code != 0:
        with open(log_path, "rb") as f:
            f.seek(log_start)
            log = f.read().decode(errors="replace")
        if TORCHRUN_RANK_KILLED in log:
            return f"one of its {processes} processes {killed}"
        if TORCHRUN_RANK_OUT_OF_MEMORY in log:
            return f"one of its {processes} processes ran out of accelerator memory"
    return None


async def run_child(run: Attempt, command: list[str], env: dict[str, str],
                    checkpoints: "CheckpointUploads | None" = None) -> tuple[int, str | None]:
    """Run the training child to its end, forwarding its events and storing its checkpoints; returns its exit code
    and its last error event."""
    ctx = run.ctx
    checkpoints = checkpoints or CheckpointUploads(run, run.work / "out" / "checkpoints")
    with open(run.work / "train.log", "ab") as stderr:
        run.child = child = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
            start_new_session=True,  # its own process group, so a cancel kills everything it started
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        watcher = asyncio.create_task(_stop_on_request(ctx, run.id, child))
        try:
            last_error = await _forward_events(run, child, checkpoints)
            return await child.wait(), last_error
        except asyncio.CancelledError:  # the worker is stopping
            await _checkpoint_and_stop(run, child, checkpoints)
            raise
        except BaseException:
            _kill_group(child, signal.SIGKILL)
            raise
        finally:
            watcher.cancel()
            await checkpoints.finish()


async def _checkpoint_and_stop(run: Attempt, child: asyncio.subprocess.Process, checkpoints: "CheckpointUploads") -> None:
    """The worker is stopping (SIGTERM: a drain, a rollout): the child finishes its step, writes a checkpoint and
    exits (jobs.training.loop.StopRequest), and the checkpoint is stored, so the next worker resumes from the step
    this one reached. Whatever is not done within FTAAS_WORKER_STOP_GRACE_SECONDS is killed."""
    ctx = run.ctx
    log.info("job %s: the worker is stopping; asking the training process to checkpoint and stop", run.id)
    _kill_group(child, signal.SIGTERM)
    try:
        async with asyncio.timeout(ctx.stop_grace_s):
            await _forward_events(run, child, checkpoints)
            await child.wait()
            await checkpoints.finish()
    except TimeoutError:
        log.warning("job %s: the training process did not checkpoint and stop within %.0f s; killing it",
                    run.id, ctx.stop_grace_s)
    finally:
        _kill_group(child, signal.SIGKILL)


async def _forward_events(run: Attempt, child: asyncio.subprocess.Process, checkpoints: "CheckpointUploads") -> str | None:
    ctx, job = run.ctx, run.job
    last_error = None
    last_progress_write = 0.0
    assert child.stdout is not None
    async for line in child.stdout:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        data = event.get("data") or {}
        with contextlib.suppress(*TRANSIENT_ERRORS):  # Redis away: the event is lost, training goes on
            await run.event(event.get("message", ""), level=event.get("level", "info"),
                            type=event.get("type", "message"), data=data)
        if event.get("level") == "error":
            last_error = event.get("message")
        if "checkpoint" in data:
            checkpoints.add(data["checkpoint"], data["step"], data.get("metrics") or {}, data.get("interim", False))
        if "max_forward_tokens" in data:  # the child's activation plan (jobs/training/memory.py)
            run.activation_budget = data["budget_bytes"]
        if event.get("type") != "metrics":
            continue
        run.progress = JobProgress(
            step=data.get("step", 0), total_steps=data.get("total_steps", 0), epoch=data.get("epoch", 0.0),
            train_loss=data.get("train_loss"), tokens_per_second=data.get("tokens_per_second"),
        )
        if time.monotonic() - last_progress_write > PROGRESS_WRITE_INTERVAL_S:
            last_progress_write = time.monotonic()
            eta = data.get("eta_seconds")
            try:  # progress is best effort: an outage skips a write, the next one catches up
                await ctx.jobs.update(job.tenant, job.id, attempt=job.attempt, progress=run.progress,
                                      estimated_finish=int(time.time() + eta) if eta is not None else None)
            except TRANSIENT_ERRORS as exc:
                log.warning("job %s: progress not written: %s", job.id, exc)
    return last_error


class CheckpointUploads:
    """Stores each checkpoint the child reports, one after another in the background, so training never
    waits on the store; `finish` waits for the last. A checkpoint that cannot be stored costs a warning
    event, not the job; one of an attempt that lost the job is not recorded. Once one is stored, the job's
    earlier interim checkpoints (written on the interval or on a stop, not asked for) are deleted: a job keeps
    the checkpoints it asked for and at most one more, its newest."""

    def __init__(self, run: Attempt, folder: Path,
                 wait_for_shards: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.run, self.folder = run, folder
        self.last: asyncio.Task | None = None
        # Across nodes: `await wait_for_shards(step)` returns once the other nodes stored their shards of it.
        self.wait_for_shards = wait_for_shards

    def add(self, name: str, step: int, metrics: dict, interim: bool = False) -> None:
        self.last = asyncio.create_task(self._store(self.last, self.folder / name, step, metrics, interim))

    async def finish(self) -> None:
        if self.last is not None:
            await asyncio.shield(self.last)

    async def _store(self, previous: asyncio.Task | None, folder: Path, step: int, metrics: dict, interim: bool) -> None:
        if previous is not None:
            await previous
        run = self.run
        ctx, job = run.ctx, run.job
        try:
            await ctx.jobs.check_holder(job)
            await asyncio.to_thread(ctx.store.upload_folder, keys.job_checkpoint(job.tenant, job.id, step), folder)
            if self.wait_for_shards is not None:
                await self.wait_for_shards(step)
            failpoint("checkpoint-uploaded", job.attempt)
            record = CheckpointRecord(
                id=new_checkpoint_id(), tenant=job.tenant, job_id=job.id, step=step,
                fine_tuned_model_checkpoint=checkpoint_model_name(job.planned_model_id, step),
                metrics=metrics, artifact="adapter" if (folder / "adapter").is_dir() else "model",
                base_model=job.base_model, training_type=job.spec.training_type.model_dump(), task_format=job.task_format or "chat",
                interim=interim,
            )
            await ctx.jobs.check_holder(job)
            await ctx.checkpoints.save(record)
            await ctx.jobs.announce(job.tenant, job.id, "fine_tuning.job.checkpoint.created", data={
                "checkpoint_id": record.id, "fine_tuned_model_checkpoint": record.fine_tuned_model_checkpoint,
                "step_number": step,
            })
            replaced = await ctx.checkpoints.delete_interim(job.tenant, job.id, before_step=step)
        except JobTakenOver:
            return
        except Exception as exc:
            ctx.metrics.checkpoint_upload_failures.inc()
            log.exception("job %s: storing the checkpoint at step %d failed", job.id, step)
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await run.event(f"Checkpoint at step {step} could not be stored: {type(exc).__name__}: {exc}", level="warning")
            return
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await run.event(
                f"Checkpoint {record.id} stored at step {step}; continue training from it with model "
                f"{record.fine_tuned_model_checkpoint!r}"
                + (" (interim: the job's next checkpoint replaces it)" if interim else "")
                + (f"; it replaces the interim checkpoint{'s' if len(replaced) > 1 else ''} at step "
                   f"{', '.join(map(str, replaced))}" if replaced else ""),
                data={"checkpoint_id": record.id, "step": step, "interim": interim, "replaced_steps": replaced},
            )


async def _stop_on_request(ctx: WorkerContext, job_id: str, child: asyncio.subprocess.Process) -> None:
    """Kill the child when the job is cancelled; ask it to checkpoint and stop when the job is paused. `_train`
    notices the flag once the child is gone."""
    pausing = False
    while child.returncode is None:
        with contextlib.suppress(*TRANSIENT_ERRORS):
            if not pausing and await ctx.redis.exists(RedisKeys.job_pause(job_id)):
                log.info("job %s paused; asking the training process to checkpoint and stop", job_id)
                _kill_group(child, signal.SIGTERM)  # it finishes its step, checkpoints and exits
                pausing = True
            if await ctx.redis.exists(RedisKeys.job_cancel(job_id)):
                log.info("job %s cancelled; stopping the training process", job_id)
                _kill_group(child, signal.SIGINT)  # at once: SIGTERM would make it checkpoint first
                try:
                    await asyncio.wait_for(child.wait(), KILL_GRACE_S)
                except TimeoutError:
                    _kill_group(child, signal.SIGKILL)
                return
        await asyncio.sleep(CANCEL_POLL_INTERVAL_S)


def _kill_group(child: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


class TrainingOutputs(BaseModel):
    """What a finished training run stored for its attempt, ready to publish."""

    summary: dict  # jobs.train's summary.json
    result_files: list[str]  # file ids, metrics.csv first
    model_files: list[str]  # under the attempt's model folder (keys.model_artifacts)


async def store_outputs(run: Attempt, out: Path, summary: dict) -> TrainingOutputs:
    """Upload the run's results (as file objects) and its model into this attempt's folders (idempotent: a retry
    overwrites the same objects). Nothing is visible as a model until `_publish` writes the manifest."""
    ctx, job = run.ctx, run.job
    await retrying("check the job is still ours", ctx.jobs.check_holder, job)
    # metrics.csv first: OpenAI's clients read result_files[0] as the metrics file.
    results = sorted((out / "results").glob("*"), key=lambda p: (p.name != "metrics.csv", p.name))
    result_files = [await retrying("store a result file", _store_result_file, run, path) for path in results]
    prefix = keys.model_artifacts(job.tenant, job.planned_model_id, job.attempt)
    artifact = summary["artifact"]  # "adapter" (peft methods) or "model" (full fine-tuning)
    uploaded = await retrying("upload the model", asyncio.to_thread, ctx.store.upload_folder, prefix, out / artifact)
    return TrainingOutputs(summary=summary, result_files=result_files, model_files=[k[len(prefix):] for k in uploaded])


async def _publish(run: Attempt, outputs: TrainingOutputs) -> None:
    """In one step under the job's lock and only if this attempt still holds the job, write the manifest of the
    stored model and mark the job succeeded. A job cancelled meanwhile gets no model."""
    ctx, job, summary = run.ctx, run.job, outputs.summary
    model_id = job.planned_model_id
    prefix = keys.model_artifacts(job.tenant, model_id, job.attempt)
    manifest = ModelManifest(
        id=model_id, tenant=job.tenant, base_model=job.base_model, job_id=job.id, attempt=job.attempt,
        parent=job.starting_model.id if job.starting_model else None,
        kind="full" if summary["artifact"] == "model" else job.spec.training_type.type, task_format=summary["format"],
        files=outputs.model_files, extra={"training_type": job.spec.training_type.model_dump()},
    )
    steps = summary.get("steps") or (run.progress.total_steps if run.progress else 0)
    progress = (run.progress or JobProgress()).model_copy(update={"step": steps, "total_steps": steps})

    async def write_manifest() -> None:
        await asyncio.to_thread(ctx.store.put_json, keys.model_manifest(job.tenant, model_id), manifest.model_dump())

    failpoint("model-uploaded", job.attempt)
    try:
        await retrying(
            "publish", run.transition, JobStatus.SUCCEEDED, before_write=write_manifest,
            fine_tuned_model=model_id, trained_tokens=summary["trained_tokens"], result_files=outputs.result_files,
            finished_at=now(), estimated_finish=None, progress=progress,
        )
    except (InvalidTransition, JobTakenOver):
        current = await ctx.jobs.get(job.tenant, job.id)
        if not (current.status == JobStatus.SUCCEEDED and current.attempt == job.attempt):  # else: a retry after it landed
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await asyncio.to_thread(ctx.store.delete_prefix, prefix)
            raise
        run.job = current
    with contextlib.suppress(*TRANSIENT_ERRORS):  # what earlier attempts that died mid-upload left behind
        await asyncio.to_thread(_delete_other_uploads, ctx.store, keys.model_prefix(job.tenant, model_id), prefix)


def _delete_other_uploads(store: Store, model_prefix: str, published: str) -> None:
    for key in list(store.list_keys(model_prefix)):
        if not key.startswith(published) and key != model_prefix + "manifest.json":
            store.delete(key)


async def _store_result_file(run: Attempt, path: Path) -> str:
    """A result (metrics.csv, …) becomes a file object of purpose `fine-tune-results`, as in OpenAI's API."""
    ctx, job = run.ctx, run.job
    file_id = result_file_id(job.id, path.name)
    data = path.read_bytes()
    await asyncio.to_thread(ctx.store.put_file, keys.file_content(job.tenant, file_id), path)
    await asyncio.to_thread(ctx.store.put_file, keys.job_result(job.tenant, job.id, path.name), path)
    await ctx.files.save(
        FileRecord(
            id=file_id, tenant=job.tenant, filename=f"{job.id}-{path.name}", purpose="fine-tune-results",
            bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
        )
    )
    return file_id
