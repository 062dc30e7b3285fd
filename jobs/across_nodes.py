"""Training across nodes, the worker's side: a job with `compute.num_nodes` above 1 trains as a Kubeflow Trainer
TrainJob (jobs/kubeflow.py) instead of in a child process of the worker.

The worker validates and resolves the job as for any other (jobs.runner), stores the resolved input under the
attempt's key, creates the TrainJob and follows it until it ends. Every node of the TrainJob runs
`python -m jobs.training_node`, which downloads the input, the files and the latest checkpoint and runs the
training process under torchrun; node 0 reports the events and progress to Redis and stores the checkpoints
and, at the end, the results and the model, exactly as the worker does for its own child
(jobs/training_node.py). The worker then publishes them (jobs.runner._publish), so only the worker ever writes
the job's final status, fenced by its attempt as always.

A cancelled job, a worker that lost the job and a timed-out job delete the TrainJob. A worker that stops (SIGTERM: a
drain, a rollout) deletes it and waits for its pods to go: on their SIGTERM the ranks checkpoint and node 0 stores
the checkpoint, from which the job's next attempt resumes in a TrainJob of its own (each attempt deletes those of
earlier ones). A failed TrainJob is kept for `kubectl logs` and fails the job.
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from jobs import keys
from jobs.keys import RedisKeys
from jobs.kubeflow import KubeflowTrainJobs, trainjob_manifest, trainjob_name, trainjob_status
from jobs.repository import JobTakenOver
from jobs.runner import TRANSIENT_ERRORS, Attempt, JobFailed, JobPaused, TrainingOutputs, retrying
from jobs.settings import Settings
from jobs.status import InvalidTransition, JobStatus

log = logging.getLogger("ftaas.worker")


@dataclass(frozen=True)
class AcrossNodes:
    """A deployment's Kubeflow Trainer: the settings the TrainJobs are built from, and the client that makes them."""

    settings: Settings
    trainjobs: KubeflowTrainJobs


def _gone(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 404  # kubernetes.client.ApiException for a missing object


async def _delete(trainjobs: KubeflowTrainJobs, name: str, wait_for_pods: bool = False) -> None:
    try:
        await asyncio.to_thread(trainjobs.delete, name, wait_for_pods)
    except Exception as exc:
        if not _gone(exc):
            raise


async def _stop(run: Attempt, trainjobs: KubeflowTrainJobs, name: str) -> None:
    """The worker is stopping (a drain, a rollout). Deleting the TrainJob sends its pods SIGTERM, on which the ranks
    checkpoint and node 0 stores the checkpoint: wait for the pods to be gone (within FTAAS_WORKER_STOP_GRACE_SECONDS),
    so that the job is queued again with that checkpoint stored and no node of this attempt left."""
    try:
        await _delete(trainjobs, name, wait_for_pods=True)
        deadline = time.monotonic() + run.ctx.stop_grace_s
        while time.monotonic() < deadline:
            try:
                await asyncio.to_thread(trainjobs.get, name)
            except Exception as exc:
                if _gone(exc):
                    return
            await asyncio.sleep(1)
        log.warning("job %s: TrainJob %s still had pods %.0f s after it was deleted", run.id, name, run.ctx.stop_grace_s)
    except Exception:
        log.exception("job %s: could not stop TrainJob %s", run.id, name)


async def train_across_nodes(run: Attempt, resume: bool) -> TrainingOutputs:
    """Run the job's training as a TrainJob and return what its node 0 stored."""
    ctx, job = run.ctx, run.job
    if ctx.across_nodes is None:  # the API refuses such jobs then; a deployment changed under a queued one
        raise JobFailed("invalid_training", f"the job asks for {job.spec.compute.num_nodes} nodes, and this "
                        "deployment's workers have no Kubeflow Trainer (FTAAS_KUBEFLOW_ENABLED); create it with num_nodes 1")
    settings, trainjobs = ctx.across_nodes.settings, ctx.across_nodes.trainjobs
    await retrying("store the resolved job", asyncio.to_thread, ctx.store.put_json,
                   keys.job_attempt_input(job.tenant, job.id, job.attempt), run.training.model_dump(mode="json"))
    for earlier in range(1, job.attempt):
        await _delete(trainjobs, trainjob_name(job.id, earlier))
    manifest = trainjob_manifest(job, settings)
    name, trainer = manifest["metadata"]["name"], manifest["spec"]["trainer"]
    try:
        await asyncio.to_thread(trainjobs.create, manifest)
    except Exception as exc:  # RBAC, a missing runtime, the CRD's own rules
        raise JobFailed("training_failed", f"Kubeflow Trainer did not take TrainJob {name}: {exc}; see docs/deploy.md, "
                        "\"Training across nodes with Kubeflow Trainer\"") from exc
    await run.event(
        f"Submitted TrainJob {name} to Kubeflow Trainer: {trainer['numNodes']} nodes × {trainer['numProcPerNode']} "
        f"training process{'es' if trainer['numProcPerNode'] > 1 else ''}"
        + ("; its nodes resume from the latest checkpoint" if resume else ""),
        data={"trainjob": name, "namespace": settings.kubeflow_namespace},
    )
    try:
        status, message = await _follow(run, trainjobs, name, settings.kubeflow_poll_seconds)
    except (asyncio.CancelledError, JobPaused):  # the worker stops, or the job is paused: checkpoint first
        await asyncio.shield(_stop(run, trainjobs, name))
        raise
    except BaseException:  # cancelled, taken over, timed out
        with contextlib.suppress(Exception):
            await asyncio.shield(_delete(trainjobs, name))
        raise
    if status == JobStatus.FAILED:  # the TrainJob stays, for its logs
        raise JobFailed("training_failed", f"{message}; the training nodes' events above say more (kubectl logs "
                        "for the rest)")
    with contextlib.suppress(Exception):
        await _delete(trainjobs, name)
    return TrainingOutputs.model_validate(await retrying(
        "read what the training nodes stored", asyncio.to_thread, ctx.store.get_json,
        keys.job_attempt_outputs(job.tenant, job.id, job.attempt)))


async def _follow(run: Attempt, trainjobs: KubeflowTrainJobs, name: str, poll_s: float) -> tuple[JobStatus, str]:
    """Read the TrainJob's state until it ends (succeeded or failed: that status and why), telling each change
    as an event; stop at once on a cancel or a newer attempt, and on a pause (JobPaused)."""
    ctx, job = run.ctx, run.job
    told = None
    while True:
        if run.lost.is_set():
            raise JobTakenOver(job.id, job.attempt, -1)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            if await ctx.redis.exists(RedisKeys.job_cancel(job.id)):
                await run.event(f"Job cancelled; TrainJob {name} deleted")
                raise InvalidTransition(JobStatus.CANCELLED, JobStatus.SUCCEEDED)
            if await ctx.redis.exists(RedisKeys.job_pause(job.id)):
                await run.event(f"Job paused; stopping TrainJob {name} (its nodes checkpoint first)")
                raise JobPaused()
        try:
            document = await asyncio.to_thread(trainjobs.get, name)
        except Exception as exc:
            if _gone(exc):
                raise JobFailed("training_failed", f"TrainJob {name} was deleted outside ftaas") from None
            log.warning("job %s: cannot read TrainJob %s: %s; trying again", job.id, name, exc)
            await asyncio.sleep(poll_s)
            continue
        status, message = trainjob_status(document)
        if message != told:
            told = message
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await run.event(message, level="error" if status == JobStatus.FAILED else "info",
                                data={"trainjob": name, "trainjob_status": status.value})
        if status == JobStatus.SUCCEEDED:
            run.progress = (await ctx.jobs.get(job.tenant, job.id)).progress  # node 0 kept it up to date
        if status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return status, message
        await asyncio.sleep(poll_s)
