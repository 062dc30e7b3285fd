"""One fine-tuning job on the worker, start to finish.

validating_files → queued → running → succeeded | failed | cancelled:
download and check the files, run `python -m jobs.train` in a child process (its stdout is a
stream of JSON events), forward events and progress, upload the adapter and results, write the
model manifest last, then mark the job succeeded. A cancel (a Redis flag set by the API) kills the
child's whole process group within a second or two.
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

from redis.asyncio import Redis

from jobs import keys
from jobs.data.validation import InvalidFiles, check_files
from jobs.events import EventLog
from jobs.ids import fine_tuned_model_id, new_file_id
from jobs.keys import RedisKeys
from jobs.records import FileRecord, JobError, JobProgress, JobRecord, ModelManifest, now
from jobs.repository import FileRepository, JobRepository
from jobs.status import InvalidTransition, JobStatus
from jobs.store import Store

log = logging.getLogger("ftaas.worker")

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
    events: EventLog
    work_dir: Path
    child_env: dict[str, str]


async def run_job(ctx: WorkerContext, tenant: str, job_id: str) -> str:
    """Run one job; returns its final status. Never raises for a job-level failure."""
    job = await ctx.jobs.get(tenant, job_id)
    if job.status != JobStatus.VALIDATING_FILES:
        log.info("job %s is %s; nothing to run", job_id, job.status.value)
        return job.status.value
    work = ctx.work_dir / job_id
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        job = await _validate_files(ctx, job, work)
        job = await ctx.jobs.transition(tenant, job_id, JobStatus.RUNNING, started_at=now())
        await ctx.events.append(job_id, "Fine-tuning job started")
        summary = await _train(ctx, job, work)
        job = await _publish(ctx, job, work, summary)
        await ctx.events.append(job_id, f"The job has successfully completed; new model: {job.fine_tuned_model}")
        return job.status.value
    except InvalidTransition:
        # The API cancelled the job while we worked; the cancel already wrote the final status.
        return (await ctx.jobs.get(tenant, job_id)).status.value
    except JobFailed as exc:
        await _fail(ctx, job, exc.code, exc.message)
        return JobStatus.FAILED.value
    except asyncio.CancelledError:
        await _fail(ctx, job, "worker_stopped", "the worker stopped while running this job; create it again")
        raise
    except Exception as exc:
        log.exception("job %s failed", job_id)
        await _fail(ctx, job, "internal_error", f"internal error: {type(exc).__name__}: {exc}")
        return JobStatus.FAILED.value
    finally:
        await ctx.events.persist(tenant, job_id)
        shutil.rmtree(work, ignore_errors=True)


async def _fail(ctx: WorkerContext, job: JobRecord, code: str, message: str) -> None:
    with contextlib.suppress(InvalidTransition):
        await ctx.jobs.transition(
            job.tenant, job.id, JobStatus.FAILED, error=JobError(code=code, message=message), finished_at=now()
        )
        await ctx.events.append(job.id, f"Job failed: {message}", level="error")


async def _validate_files(ctx: WorkerContext, job: JobRecord, work: Path) -> JobRecord:
    await ctx.events.append(job.id, "Validating training file")
    paths = {}
    for role, file_id in (("training_file", job.spec.training_file), ("validation_file", job.spec.validation_file)):
        if file_id is not None:
            paths[role] = work / f"{role}.jsonl"
            await asyncio.to_thread(ctx.store.download_file, keys.file_content(job.tenant, file_id), paths[role])
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


async def _train(ctx: WorkerContext, job: JobRecord, work: Path) -> dict:
    out = work / "out"
    spec_path = _child_spec(job, work)
    stderr_path = work / "train.log"
    with open(stderr_path, "wb") as stderr:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jobs.train", str(spec_path), "--out", str(out), "--events", "jsonl",
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=ctx.child_env,
            start_new_session=True,  # its own process group, so a cancel kills everything it started
        )
        watcher = asyncio.create_task(_kill_on_cancel(ctx, job.id, child))
        try:
            last_error = await _forward_events(ctx, job, child)
            code = await child.wait()
        except BaseException:
            _kill_group(child, signal.SIGKILL)
            raise
        finally:
            watcher.cancel()
    if await ctx.redis.exists(RedisKeys.job_cancel(job.id)):
        await ctx.events.append(job.id, "Job cancelled; training process stopped")
        raise InvalidTransition(JobStatus.CANCELLED, JobStatus.SUCCEEDED)
    if code != 0:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise JobFailed("training_failed", last_error or ("training process exited with code %d: %s" % (code, " | ".join(tail))))
    return json.loads((out / "summary.json").read_text())


async def _forward_events(ctx: WorkerContext, job: JobRecord, child: asyncio.subprocess.Process) -> str | None:
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
    model_id = fine_tuned_model_id(job.spec.model, job.spec.suffix, job.id)
    prefix = keys.model_artifacts(job.tenant, model_id)
    artifact = summary["artifact"]  # "adapter" (peft methods) or "model" (full fine-tuning)
    uploaded = await asyncio.to_thread(ctx.store.upload_folder, prefix, out / artifact)
    manifest = ModelManifest(
        id=model_id, tenant=job.tenant, base_model=job.spec.model, job_id=job.id,
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
