"""One node of a job that trains across nodes: what every pod of the job's Kubeflow Trainer TrainJob runs
(jobs/across_nodes.py submits it).

    python -m jobs.training_node --tenant TENANT --job JOB_ID --attempt N

Every node checks that attempt N still holds the job (a TrainJob left by an earlier attempt stops at once),
downloads the input the worker resolved (keys.job_attempt_input), the job's files, the model it continues and
its latest checkpoint, and runs the worker's training process (jobs.train) under torchrun, which takes the
node count, this node's rank, its processes and the master's address from the PET_* variables.

Node 0 does for its training process what the worker does for a local one (jobs.runner.run_child): it forwards
the events to the job's event stream, writes the progress, stores each checkpoint, and at the end stores the
results and the model (jobs.runner.store_outputs) and writes what it stored under keys.job_attempt_outputs,
which the worker publishes. Only the worker writes the job's status.

A checkpoint's shards lie on every node's disk (torch.distributed.checkpoint writes each rank's own). Each other
node stores its shards when its first process says the checkpoint is written, then adds itself to a Redis set;
node 0 records the checkpoint only once every node is in the set, so a recorded checkpoint is complete, and a
resumed run (on any number of nodes and processes) reshards it.

A SIGTERM (the TrainJob deleted, the pod evicted) reaches torchrun and the ranks: they checkpoint and stop, and
the checkpoint is stored within FTAAS_WORKER_STOP_GRACE_SECONDS.
"""

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import sys
import time

from redis.asyncio import Redis

from jobs import keys
from jobs.events import EventArchive
from jobs.keys import RedisKeys
from jobs.repository import RecordNotFound
from jobs.runner import (
    TRANSIENT_ERRORS, Attempt, CheckpointUploads, download_inputs, download_latest_checkpoint, retrying, run_child,
    store_outputs,
)
from jobs.settings import Settings
from jobs.status import JobStatus
from jobs.store import open_store
from jobs.train import EXIT_STOPPED, die_with_parent, training_command
from jobs.training_input import TrainingInput
from jobs.worker import worker_context

log = logging.getLogger("ftaas.training_node")

EXIT_NOT_THIS_ATTEMPT = 4  # the job has moved on (cancelled, ended, or a newer attempt holds it)
SHARD_MARKS_TTL_S = 24 * 3600


def node_position() -> tuple[int, int]:
    """(this node's rank, the number of nodes), as Kubeflow Trainer's torch runtime sets them."""
    return int(os.environ.get("PET_NODE_RANK", "0")), int(os.environ.get("PET_NNODES", "1"))


async def run_node(settings: Settings, tenant: str, job_id: str, attempt: int) -> int:
    node, nodes = node_position()
    redis = Redis.from_url(settings.redis_url)
    ctx = None
    try:
        ctx = worker_context(settings, open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region),
                             redis)
        try:
            job = await retrying("read the job", ctx.jobs.get, tenant, job_id)
        except RecordNotFound:
            log.error("job %s of %s does not exist: nothing to do", job_id, tenant)
            return EXIT_NOT_THIS_ATTEMPT
        if job.attempt != attempt or job.status != JobStatus.RUNNING:
            log.error("job %s is %s at attempt %d; this TrainJob was made for attempt %d: nothing to do",
                      job_id, job.status.value, job.attempt, attempt)
            return EXIT_NOT_THIS_ATTEMPT
        work = ctx.work_dir / f"{job_id}-attempt-{attempt}-node-{node}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        run = Attempt(ctx, job, work, EventArchive(ctx.events, tenant, job_id))
        resolved = TrainingInput.model_validate(await retrying(
            "read the resolved job", asyncio.to_thread, ctx.store.get_json, keys.job_attempt_input(tenant, job_id, attempt)))
        paths, start = await download_inputs(run, quiet=True)
        run.training = resolved.model_copy(update={
            "training_path": paths["training_file"], "validation_path": paths.get("validation_file"), "start_from": start,
        })
        step = await download_latest_checkpoint(run)
        input_path = work / "input.json"
        input_path.write_text(run.training.model_dump_json())
        command = [*training_command(sys.executable, stop_grace_s=ctx.stop_grace_s, across_nodes=True),
                   "--input", str(input_path), "--out", str(work / "out"), "--events", "jsonl",
                   *(["--resume"] if step is not None else [])]
        if node != 0:
            return await _train_and_store_shards(run, command, node)
        if step is not None:
            await run.event(f"{nodes} training nodes resume from the checkpoint stored at step {step}")
        uploads = CheckpointUploads(run, work / "out" / "checkpoints", wait_for_shards=functools.partial(
            _wait_for_shards, run, nodes - 1, settings.kubeflow_shard_wait_seconds))
        code, _ = await run_child(run, command, dict(ctx.child_env), uploads)
        if code != 0:
            return code
        summary = json.loads((work / "out" / "summary.json").read_text())
        outputs = await store_outputs(run, work / "out", summary)
        await retrying("record what was stored", asyncio.to_thread, ctx.store.put_json,
                       keys.job_attempt_outputs(tenant, job_id, attempt), outputs.model_dump(mode="json"))
        return 0
    except asyncio.CancelledError:  # SIGTERM: the training process checkpointed (run_child) and stopped
        return EXIT_STOPPED
    except Exception as exc:  # the job's events say why the TrainJob failed; the pod's log has the traceback
        log.exception("training node %d of job %s failed", node, job_id)
        if ctx is not None:
            with contextlib.suppress(Exception):
                await ctx.events.append(job_id, f"Training node {node} failed: {type(exc).__name__}: {exc}", level="error")
        return 1
    finally:
        await redis.aclose()


async def _wait_for_shards(run: Attempt, others: int, patience_s: float, step: int) -> None:
    """Return once the `others` other nodes stored their shards of the checkpoint at `step`."""
    key = RedisKeys.checkpoint_shards(run.id, run.job.attempt, step)
    deadline = time.monotonic() + patience_s
    while (stored := await run.ctx.redis.scard(key)) < others:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {stored} of the other {others} training nodes stored their shards within "
                               f"{patience_s:.0f} s (FTAAS_KUBEFLOW_SHARD_WAIT_SECONDS)")
        await asyncio.sleep(0.5)


async def _train_and_store_shards(run: Attempt, command: list[str], node: int) -> int:
    """A node other than node 0: train, and store this node's shards of each checkpoint as it is written."""
    child = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, env=dict(run.ctx.child_env), start_new_session=True,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )
    try:
        await _store_shards(run, child, node)
        return await child.wait()
    except asyncio.CancelledError:  # SIGTERM: the ranks checkpoint and stop; this node's shards are stored
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(run.ctx.stop_grace_s):
                await _store_shards(run, child, node)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        raise


async def _store_shards(run: Attempt, child: asyncio.subprocess.Process, node: int) -> None:
    ctx, job = run.ctx, run.job
    assert child.stdout is not None
    async for line in child.stdout:
        with contextlib.suppress(json.JSONDecodeError):
            data = json.loads(line).get("data") or {}
            if "checkpoint" not in data:
                continue
            try:
                await asyncio.to_thread(ctx.store.upload_folder, keys.job_checkpoint(job.tenant, job.id, data["step"]),
                                        run.work / "out" / "checkpoints" / data["checkpoint"])
                marks = RedisKeys.checkpoint_shards(job.id, job.attempt, data["step"])
                await ctx.redis.sadd(marks, node)
                await ctx.redis.expire(marks, SHARD_MARKS_TTL_S)
            except TRANSIENT_ERRORS as exc:  # node 0 gives the checkpoint up; training goes on
                log.warning("job %s: node %d's shards of the checkpoint at step %d not stored: %s",
                            job.id, node, data["step"], exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.training_node",
        description="Train one node's share of a fine-tuning job that trains across nodes (the command of the "
        "job's Kubeflow Trainer TrainJob; the worker creates it). Reads the deployment's FTAAS_* settings and "
        "Kubeflow's PET_* variables.",
    )
    parser.add_argument("--tenant", required=True, help="the job's tenant")
    parser.add_argument("--job", required=True, help="the job id (ftjob-…)")
    parser.add_argument("--attempt", required=True, type=int, help="the attempt of the job this TrainJob runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def node() -> int:
        task = asyncio.current_task()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run_node(Settings(), args.tenant, args.job, args.attempt)

    return asyncio.run(node())


if __name__ == "__main__":
    sys.exit(main())
