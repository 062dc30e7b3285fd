"""One fine-tuning job on the worker, start to finish.

validating_files → queued → running → succeeded | failed | cancelled:
download and check the files (and the model to continue, if the job continues one), run
`python -m jobs.train` in a child process (its stdout is a stream of JSON events), forward events
and progress, store each checkpoint as the child writes it, upload the adapter and results, write
the model manifest last, then mark the job succeeded. A cancel (a Redis flag set by the API) kills the
child's whole process group within a second or two.

When the worker stops mid-job (a rollout, a drained node), the job goes back to `queued` and arq runs
it again on the next worker, which resumes it from its latest stored checkpoint. A worker that dies
without stopping stops renewing the job's lease; `recover_orphaned_jobs`, run by every worker, then
drops arq's claim on the job so that it runs again and resumes the same way. Either way the job gives
up after MAX_ATTEMPTS.
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
from dataclasses import dataclass
from pathlib import Path

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from jobs import keys
from jobs.data.validation import InvalidFiles, check_files
from jobs.events import EventLog
from jobs.ids import checkpoint_model_name, new_checkpoint_id, new_file_id
from jobs.keys import RedisKeys
from jobs.records import CheckpointRecord, FileRecord, JobError, JobProgress, JobRecord, ModelManifest, now
from jobs.repository import CheckpointRepository, FileRepository, JobRepository
from jobs.status import InvalidTransition, JobStatus
from jobs.store import Store

log = logging.getLogger("ftaas.worker")

MAX_ATTEMPTS = 4
PROGRESS_WRITE_INTERVAL_S = 5.0
CANCEL_POLL_INTERVAL_S = 0.5
KILL_GRACE_S = 5.0


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
    child_env: dict[str, str]
    job_timeout_s: float = 24 * 3600
    lease_s: float = 60
    queue_name: str = "ftaas:queue"


async def run_job(ctx: WorkerContext, tenant: str, job_id: str, attempt: int = 1) -> str:
    """Run one job (its `attempt`-th run: later ones resume it); returns its final status. Never raises for
    a job-level failure."""
    job = await ctx.jobs.get(tenant, job_id)
    if job.status not in (JobStatus.VALIDATING_FILES, JobStatus.QUEUED, JobStatus.RUNNING):
        log.info("job %s is %s; nothing to run", job_id, job.status.value)
        return job.status.value
    resuming = job.status != JobStatus.VALIDATING_FILES  # validated before a worker stopped or died
    work = ctx.work_dir / job_id
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    lease = asyncio.create_task(_hold_lease(ctx, job))
    deadline = asyncio.timeout(ctx.job_timeout_s)
    try:
        if attempt > MAX_ATTEMPTS:
            raise JobFailed("interrupted", f"the job's worker stopped or died {attempt - 1} times; create the job again, "
                            f"or continue from its latest checkpoint (GET /v1/fine_tuning/jobs/{job_id}/checkpoints)")
        async with deadline:
            job = await (_prepare_resume(ctx, job, work) if resuming else _validate_files(ctx, job, work))
            if job.status == JobStatus.QUEUED:
                job = await ctx.jobs.transition(tenant, job_id, JobStatus.RUNNING, started_at=job.started_at or now())
                await ctx.events.append(job_id, "Fine-tuning job resumed" if resuming else "Fine-tuning job started")
            summary = await _train(ctx, job, work, resume=resuming)
            job = await _publish(ctx, job, work, summary)
        await ctx.events.append(job_id, f"The job has successfully completed; new model: {job.fine_tuned_model}")
        return job.status.value
    except TimeoutError as exc:
        if deadline.expired():
            await _fail(ctx, job, "timeout", f"the job ran longer than FTAAS_JOB_TIMEOUT_SECONDS ({ctx.job_timeout_s:.0f} s)")
        else:
            log.exception("job %s failed", job_id)
            await _fail(ctx, job, "internal_error", f"internal error: TimeoutError: {exc}")
        return JobStatus.FAILED.value
    except InvalidTransition:
        # The API cancelled the job while we worked; the cancel already wrote the final status.
        return (await ctx.jobs.get(tenant, job_id)).status.value
    except JobFailed as exc:
        await _fail(ctx, job, exc.code, exc.message)
        return JobStatus.FAILED.value
    except asyncio.CancelledError:
        await _requeue(ctx, job)
        raise
    except Exception as exc:
        log.exception("job %s failed", job_id)
        await _fail(ctx, job, "internal_error", f"internal error: {type(exc).__name__}: {exc}")
        return JobStatus.FAILED.value
    finally:
        lease.cancel()
        await ctx.redis.hdel(RedisKeys.running_jobs(ctx.queue_name), job_id)
        await ctx.redis.delete(RedisKeys.job_lease(job_id))
        await ctx.events.persist(tenant, job_id)
        shutil.rmtree(work, ignore_errors=True)


async def _hold_lease(ctx: WorkerContext, job: JobRecord) -> None:
    """Say, for as long as this worker runs `job`, that a live worker runs it."""
    while True:
        await ctx.redis.set(RedisKeys.job_lease(job.id), 1, px=int(ctx.lease_s * 1000))
        # Listed after the lease exists, so that no other worker ever sees it listed without one.
        await ctx.redis.hset(RedisKeys.running_jobs(ctx.queue_name), job.id, job.tenant)
        await asyncio.sleep(ctx.lease_s / 4)


async def recover_orphaned_jobs(ctx: WorkerContext) -> list[str]:
    """Jobs taken by a worker that died without stopping (their lease expired) run again: dropping arq's
    claim lets the next free worker take them, and they resume from their latest checkpoint."""
    recovered = []
    running = RedisKeys.running_jobs(ctx.queue_name)
    for job_id, tenant in (await ctx.redis.hgetall(running)).items():
        job_id = job_id.decode() if isinstance(job_id, bytes) else job_id
        if await ctx.redis.exists(RedisKeys.job_lease(job_id)):
            continue
        await ctx.redis.delete(in_progress_key_prefix + job_id)  # the arq job id is the ftaas job id
        await ctx.redis.hdel(running, job_id)
        log.warning("job %s: its worker stopped answering; it will run again", job_id)
        await ctx.events.append(job_id, "The worker running this job stopped answering; the job will resume from "
                                "its latest checkpoint on the next free worker", level="warning")
        recovered.append(job_id)
    return recovered


async def _fail(ctx: WorkerContext, job: JobRecord, code: str, message: str) -> None:
    with contextlib.suppress(InvalidTransition):
        await ctx.jobs.transition(
            job.tenant, job.id, JobStatus.FAILED, error=JobError(code=code, message=message), finished_at=now()
        )
        await ctx.events.append(job.id, f"Job failed: {message}", level="error")


async def _requeue(ctx: WorkerContext, job: JobRecord) -> None:
    """The worker is stopping: a running job goes back to the queue (arq runs it again on the next worker)."""
    if (await ctx.jobs.get(job.tenant, job.id)).status != JobStatus.RUNNING:
        return  # still validating (the next run validates again) or already ended
    with contextlib.suppress(InvalidTransition):
        await ctx.jobs.transition(job.tenant, job.id, JobStatus.QUEUED, estimated_finish=None)
        await ctx.events.append(job.id, "The worker stopped; the job is queued again and will resume from its "
                                "latest checkpoint on the next worker", level="warning")


async def _download_files(ctx: WorkerContext, job: JobRecord, work: Path) -> dict[str, Path]:
    paths = {}
    for role, file_id in (("training_file", job.spec.training_file), ("validation_file", job.spec.validation_file)):
        if file_id is not None:
            paths[role] = work / f"{role}.jsonl"
            await asyncio.to_thread(ctx.store.download_file, keys.file_content(job.tenant, file_id), paths[role])
    return paths


async def _prepare_resume(ctx: WorkerContext, job: JobRecord, work: Path) -> JobRecord:
    """Download the (already validated) files and the job's latest stored checkpoint, where the child resumes."""
    await _download_files(ctx, job, work)
    stored = await ctx.checkpoints.list(job.tenant, job.id)
    if not stored:
        await ctx.events.append(job.id, "Resuming: no checkpoint was stored, so training starts again from the first step")
        return job
    prefix = keys.job_checkpoint(job.tenant, job.id, stored[0].step)
    # The store keeps the child's folder names (step-N), which is where the child looks for checkpoints.
    await asyncio.to_thread(ctx.store.download_folder, prefix, work / "out" / "checkpoints" / Path(prefix).name)
    await ctx.events.append(job.id, f"Resuming from the checkpoint stored at step {stored[0].step}")
    return job


async def _validate_files(ctx: WorkerContext, job: JobRecord, work: Path) -> JobRecord:
    await ctx.events.append(job.id, "Validating training file")
    paths = await _download_files(ctx, job, work)
    names = (f"training_file {job.spec.training_file}", f"validation_file {job.spec.validation_file}")
    try:
        files = await asyncio.to_thread(check_files, job.spec, paths["training_file"], paths.get("validation_file"), names)
    except InvalidFiles as exc:
        raise JobFailed("invalid_file", "; ".join(exc.problems)) from None
    plan = job.spec.resolve(files.n_examples)
    job = await ctx.jobs.transition(
        job.tenant, job.id, JobStatus.QUEUED, n_examples=files.n_examples, plan=plan, task_format=files.format
    )
    await ctx.events.append(job.id, f"Files validated: {files.n_examples} {files.format} training examples")
    return job


def _child_spec(job: JobRecord, work: Path) -> Path:
    spec = job.spec.model_dump(mode="json", exclude_none=True)
    spec["training_file"] = str(work / "training_file.jsonl")
    if job.spec.validation_file:
        spec["validation_file"] = str(work / "validation_file.jsonl")
    spec["seed"] = job.plan.seed if job.plan else job.spec.seed
    path = work / "spec.json"
    path.write_text(json.dumps(spec))
    return path


async def _train(ctx: WorkerContext, job: JobRecord, work: Path, resume: bool = False) -> dict:
    out = work / "out"
    spec_path = _child_spec(job, work)
    stderr_path = work / "train.log"
    command = [sys.executable, "-m", "jobs.train", str(spec_path), "--out", str(out), "--events", "jsonl"]
    if job.starting_model is not None:
        start = work / "start"
        await ctx.events.append(job.id, f"Downloading {job.starting_model.id} to continue training it")
        await asyncio.to_thread(ctx.store.download_folder, job.starting_model.artifacts, start)
        command += ["--start-from", str(start)]
    if resume:
        command.append("--resume")
    checkpoints = CheckpointUploads(ctx, job, out / "checkpoints")
    with open(stderr_path, "wb") as stderr:
        child = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=ctx.child_env,
            start_new_session=True,  # its own process group, so a cancel kills everything it started
        )
        watcher = asyncio.create_task(_kill_on_cancel(ctx, job.id, child))
        try:
            last_error = await _forward_events(ctx, job, child, checkpoints)
            code = await child.wait()
        except BaseException:
            _kill_group(child, signal.SIGKILL)
            raise
        finally:
            watcher.cancel()
            await checkpoints.finish()
    if await ctx.redis.exists(RedisKeys.job_cancel(job.id)):
        await ctx.events.append(job.id, "Job cancelled; training process stopped")
        raise InvalidTransition(JobStatus.CANCELLED, JobStatus.SUCCEEDED)
    if code != 0:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise JobFailed("training_failed", last_error or ("training process exited with code %d: %s" % (code, " | ".join(tail))))
    return json.loads((out / "summary.json").read_text())


async def _forward_events(
    ctx: WorkerContext, job: JobRecord, child: asyncio.subprocess.Process, checkpoints: "CheckpointUploads"
) -> str | None:
    last_error = None
    last_progress_write = 0.0
    assert child.stdout is not None
    async for line in child.stdout:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        await ctx.events.append(
            job.id, event.get("message", ""), level=event.get("level", "info"), type=event.get("type", "message"),
            data=event.get("data") or {},
        )
        if event.get("level") == "error":
            last_error = event.get("message")
        data = event.get("data") or {}
        if "checkpoint" in data:
            checkpoints.add(data["checkpoint"], data["step"], data.get("metrics") or {})
        if event.get("type") == "metrics" and time.monotonic() - last_progress_write > PROGRESS_WRITE_INTERVAL_S:
            last_progress_write = time.monotonic()
            eta = data.get("eta_seconds")
            await ctx.jobs.update(
                job.tenant, job.id,
                progress=JobProgress(
                    step=data.get("step", 0), total_steps=data.get("total_steps", 0), epoch=data.get("epoch", 0.0),
                    train_loss=data.get("train_loss"), tokens_per_second=data.get("tokens_per_second"),
                ),
                estimated_finish=int(time.time() + eta) if eta is not None else None,
            )
    return last_error


class CheckpointUploads:
    """Stores each checkpoint the child reports, one after another in the background, so training never
    waits on the store; `finish` waits for the last. A checkpoint that cannot be stored costs a warning
    event, not the job."""

    def __init__(self, ctx: WorkerContext, job: JobRecord, folder: Path) -> None:
        self.ctx, self.job, self.folder = ctx, job, folder
        self.last: asyncio.Task | None = None

    def add(self, name: str, step: int, metrics: dict) -> None:
        self.last = asyncio.create_task(self._store(self.last, self.folder / name, step, metrics))

    async def finish(self) -> None:
        if self.last is not None:
            await asyncio.shield(self.last)

    async def _store(self, previous: asyncio.Task | None, folder: Path, step: int, metrics: dict) -> None:
        if previous is not None:
            await previous
        ctx, job = self.ctx, self.job
        try:
            await asyncio.to_thread(ctx.store.upload_folder, keys.job_checkpoint(job.tenant, job.id, step), folder)
            record = CheckpointRecord(
                id=new_checkpoint_id(), tenant=job.tenant, job_id=job.id, step=step,
                fine_tuned_model_checkpoint=checkpoint_model_name(job.planned_model_id, step),
                metrics=metrics, artifact="adapter" if (folder / "adapter").is_dir() else "model",
                base_model=job.base_model, training_type=job.spec.training_type.model_dump(), task_format=job.task_format or "chat",
            )
            await ctx.checkpoints.save(record)
        except Exception as exc:
            log.exception("job %s: storing the checkpoint at step %d failed", job.id, step)
            await ctx.events.append(job.id, f"Checkpoint at step {step} could not be stored: {type(exc).__name__}: {exc}", level="warning")
            return
        await ctx.events.append(
            job.id, f"Checkpoint {record.id} stored at step {step}; continue training from it with model "
            f"{record.fine_tuned_model_checkpoint!r}", data={"checkpoint_id": record.id, "step": step},
        )


async def _kill_on_cancel(ctx: WorkerContext, job_id: str, child: asyncio.subprocess.Process) -> None:
    """Kill the child when the job is cancelled; `_train` notices the flag once the child is gone."""
    while child.returncode is None:
        if await ctx.redis.exists(RedisKeys.job_cancel(job_id)):
            log.info("job %s cancelled; stopping the training process", job_id)
            _kill_group(child, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), KILL_GRACE_S)
            except TimeoutError:
                _kill_group(child, signal.SIGKILL)
            return
        await asyncio.sleep(CANCEL_POLL_INTERVAL_S)


def _kill_group(child: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


async def _publish(ctx: WorkerContext, job: JobRecord, work: Path, summary: dict) -> JobRecord:
    """Upload results and the adapter, write the manifest last, then mark the job succeeded."""
    out = work / "out"
    result_files = []
    # metrics.csv first: OpenAI's clients read result_files[0] as the metrics file.
    for path in sorted((out / "results").glob("*"), key=lambda p: (p.name != "metrics.csv", p.name)):
        result_files.append(await _store_result_file(ctx, job, path))
    model_id = job.planned_model_id
    prefix = keys.model_artifacts(job.tenant, model_id)
    artifact = summary["artifact"]  # "adapter" (peft methods) or "model" (full fine-tuning)
    uploaded = await asyncio.to_thread(ctx.store.upload_folder, prefix, out / artifact)
    manifest = ModelManifest(
        id=model_id, tenant=job.tenant, base_model=job.base_model, job_id=job.id,
        parent=job.starting_model.id if job.starting_model else None,
        kind="full" if artifact == "model" else job.spec.training_type.type, task_format=summary["format"],
        files=[k[len(prefix):] for k in uploaded], extra={"training_type": job.spec.training_type.model_dump()},
    )
    # A cancel may have landed during the upload: check before the model becomes visible.
    if await ctx.redis.exists(RedisKeys.job_cancel(job.id)):
        await asyncio.to_thread(ctx.store.delete_prefix, keys.model_prefix(job.tenant, model_id))
        raise InvalidTransition(JobStatus.CANCELLED, JobStatus.SUCCEEDED)
    await asyncio.to_thread(ctx.store.put_json, keys.model_manifest(job.tenant, model_id), manifest.model_dump())
    return await ctx.jobs.transition(
        job.tenant, job.id, JobStatus.SUCCEEDED,
        fine_tuned_model=model_id, trained_tokens=summary["trained_tokens"], result_files=result_files,
        finished_at=now(), estimated_finish=None,
    )


async def _store_result_file(ctx: WorkerContext, job: JobRecord, path: Path) -> str:
    """A result (metrics.csv, …) becomes a file object of purpose `fine-tune-results`, as in OpenAI's API."""
    file_id = new_file_id()
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
