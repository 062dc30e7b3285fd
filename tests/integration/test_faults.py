"""Fault drills as tests: a worker killed at every point of a job, a stalled worker that wakes up after
another took its job, Redis losing everything, the store going away mid-job. Real Redis, moto's S3
server behind a proxy that can be cut, real training of the real model in worker processes."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from jobs import keys
from jobs.runner import EVENT_FLUSH_INTERVAL_S
from jobs.store import open_store
from tests.conftest import ALPHA, make_settings
from tests.integration.test_api import jsonl, upload
from tests.integration.test_worker import events_of, run_worker_until_idle, worker_samples
from tests.support.faults import CuttableProxy
from tests.support.tasks import classification_examples

pytestmark = pytest.mark.slow
BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
LEASE_S = 3
TERMINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture
def store_proxy(s3_endpoint):
    host, port = s3_endpoint.removeprefix("http://").split(":")
    with CuttableProxy((host, int(port))) as proxy:
        yield proxy


@pytest.fixture
def settings(request, cache_dir, redis_url, s3_bucket, store_proxy):
    """The S3 store reached through a proxy the test can cut; short leases and a busy reconciler."""
    redis.Redis.from_url(redis_url).flushdb()
    return make_settings(
        f"s3://{s3_bucket}/ftaas", cache_dir, s3_endpoint_url=store_proxy.url, s3_region="us-east-1",
        worker_lease_seconds=LEASE_S, reconcile_interval_seconds=1,
    )


def start_worker(settings, tmp_path: Path, failpoint: str | None = None, name: str = "worker") -> subprocess.Popen:
    env = {f"FTAAS_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None}
    if failpoint:
        env["FTAAS_FAILPOINT"] = failpoint
    log = open(tmp_path / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env={**os.environ, **env},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition, what: str, worker: subprocess.Popen | None = None, limit_s: float = 600) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        assert worker is None or worker.poll() is None, f"the worker exited while waiting: {what}"
        time.sleep(0.2)


def create(api, steps: int, seed: int) -> dict:
    train = upload(api, jsonl(*classification_examples(16, seed=seed))).json()["id"]
    r = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": BASE, "training_file": train, "seed": seed, "training_type": {"type": "lora", "r": 4},
        "hyperparameters": {"max_steps": steps, "batch_size": 4, "learning_rate": 3e-4, "checkpoint_every": 2},
    })
    assert r.status_code == 200, r.text
    return r.json()


def job_of(api, job_id: str) -> dict:
    return api.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALPHA).json()


def record_of(store, job_id: str) -> dict:
    return store.get_json(keys.job_record("alpha", job_id))


def has_checkpoint(store, job_id: str) -> bool:
    return any(k.endswith("/checkpoint.json") for k in store.list_keys(keys.job_checkpoints_prefix("alpha", job_id)))


def training_children(job_id: str, attempt: int) -> list[int]:
    """Processes working in that attempt's folder (the training child's command line names it)."""
    marker = f"{job_id}-attempt-{attempt}"
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.kill(worker.pid, signal.SIGKILL)  # the worker alone: its training child must die with it
    worker.wait()


def assert_succeeded_exactly_once(api, store, job_id: str, steps: int) -> dict:
    done = job_of(api, job_id)
    assert done["status"] == "succeeded", done["error"]
    model = done["fine_tuned_model"]
    manifests = [k for k in store.list_keys(keys.models_prefix("alpha"))
                 if k.endswith("/manifest.json") and store.get_json(k)["job_id"] == job_id]
    assert manifests == [keys.model_manifest("alpha", model)]
    manifest = store.get_json(manifests[0])
    artifacts = keys.model_artifacts("alpha", model, manifest["attempt"])
    leftovers = [k for k in store.list_keys(keys.model_prefix("alpha", model))
                 if not k.startswith(artifacts) and k != manifests[0]]
    assert leftovers == [], "files of an attempt that did not publish are left"
    assert sorted(k[len(artifacts):] for k in store.list_keys(artifacts)) == sorted(manifest["files"])
    # Result files: listed once on the job, and no other result files exist.
    results = [f for f in api.get("/v1/files", headers=ALPHA).json()["data"]
               if f["purpose"] == "fine-tune-results" and f["filename"].startswith(job_id)]
    assert len(done["result_files"]) == 3 and sorted(f["id"] for f in results) == sorted(done["result_files"])
    rows = api.get(f"/v1/files/{done['result_files'][0]}/content", headers=ALPHA).text.splitlines()
    assert len(rows) == 1 + steps
    assert done["progress"]["step"] == done["progress"]["total_steps"] == steps
    messages = [e["message"] for e in events_of(api, job_id)]
    assert not [m for m in messages if m.startswith("Job failed")]
    checkpoints = [c["step_number"] for c in api.get(f"/v1/fine_tuning/jobs/{job_id}/checkpoints",
                                                     params={"limit": 100}, headers=ALPHA).json()["data"]]
    assert checkpoints == list(range(steps, 0, -2))
    return done


KILL_POINTS = {
    # point: (how the worker dies, when)
    "before-the-first-checkpoint": None,
    "after-a-checkpoint": None,
    "while-storing-a-checkpoint": "checkpoint-uploaded",
    "while-publishing": "model-uploaded",
    "after-publishing": "published",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_worker_killed_at_any_point_leaves_one_job_that_succeeds_once(api, settings, tmp_path, point):
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    steps = 4
    job = create(api, steps, seed=7)
    worker = start_worker(settings, tmp_path, failpoint=KILL_POINTS[point])
    try:
        if point == "before-the-first-checkpoint":
            wait_for(lambda: any(e["type"] == "metrics" for e in events_of(api, job["id"])), "training started", worker)
            assert not has_checkpoint(store, job["id"])
        elif point == "after-a-checkpoint":
            wait_for(lambda: has_checkpoint(store, job["id"]), "a checkpoint", worker)
        else:
            wait_for(lambda: worker.poll() is not None, f"the worker to die: {point}")
            assert worker.returncode == -signal.SIGKILL
    finally:
        kill(worker)
    wait_for(lambda: not training_children(job["id"], 1), "the training child to die with its worker", limit_s=30)

    time.sleep(LEASE_S + 1)  # the dead worker's lease runs out
    metrics = worker_samples(run_worker_until_idle(settings))
    done = assert_succeeded_exactly_once(api, store, job["id"], steps)
    if point != "after-publishing":
        assert record_of(store, job["id"])["attempt"] == 2
        # The burst worker's reconcile pass recovered the job from the dead worker's lease, then ran it.
        assert metrics[("ftaas_worker_lease_recoveries_total", ())] == 1
        assert metrics[("ftaas_worker_job_requeues_total", (("reason", "reconciled"),))] == 1
        assert metrics[("ftaas_worker_job_attempts_total", ())] == 1
        messages = [e["message"] for e in events_of(api, job["id"])]
        assert any(m.startswith("The worker running this job stopped answering") for m in messages)
    assert done["fine_tuned_model"] in [m["id"] for m in api.get("/v1/models", headers=ALPHA).json()["data"]]


def test_a_stalled_worker_cannot_publish_or_fail_a_job_another_took_over(api, settings, tmp_path):
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    steps = 10
    job = create(api, steps, seed=8)
    stalled = start_worker(settings, tmp_path, name="stalled")
    try:
        wait_for(lambda: has_checkpoint(store, job["id"]), "a checkpoint", stalled)
        os.kill(stalled.pid, signal.SIGSTOP)  # the worker stalls; its training child runs on until its pipe fills
        time.sleep(LEASE_S + 1)

        other = threading.Thread(target=run_worker_until_idle, args=(settings,))
        other.start()
        wait_for(lambda: record_of(store, job["id"])["attempt"] == 2, "another worker to take the job over")
        os.kill(stalled.pid, signal.SIGCONT)  # wakes up while the other attempt trains
        wait_for(lambda: not training_children(job["id"], 1), "the stalled attempt to stop its training", limit_s=60)
        other.join(timeout=600)
        assert not other.is_alive()
        time.sleep(1)
    finally:
        kill(stalled)

    done = assert_succeeded_exactly_once(api, store, job["id"], steps)
    manifest = store.get_json(keys.model_manifest("alpha", done["fine_tuned_model"]))
    assert manifest["attempt"] == 2 and record_of(store, job["id"])["attempt"] == 2
    log = (tmp_path / "stalled.log").read_text()
    assert "was taken over by a newer one" in log


def test_redis_losing_everything_loses_no_job_and_no_event(api, settings, tmp_path, redis_url):
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    running = create(api, 10, seed=9)
    queued = create(api, 4, seed=10)
    worker = start_worker(settings, tmp_path)
    try:
        wait_for(lambda: has_checkpoint(store, running["id"]), "a checkpoint of the running job", worker)
        waiting = job_of(api, queued["id"])
        assert (waiting["status"], waiting["queue_position"]) == ("queued", 1)  # next, once the running one ends
        before = [e["id"] for e in events_of(api, running["id"])]
        time.sleep(EVENT_FLUSH_INTERVAL_S + 1)  # the worker stores its events every few seconds
        redis.Redis.from_url(redis_url).flushdb()

        wait_for(lambda: all(job_of(api, j["id"])["status"] in TERMINAL for j in (running, queued)),
                 "both jobs to end", worker, limit_s=900)
    finally:
        kill(worker)
    assert_succeeded_exactly_once(api, store, running["id"], 10)
    assert job_of(api, queued["id"])["status"] == "succeeded"
    after = [e["id"] for e in events_of(api, running["id"])]
    assert set(before) <= set(after), "events from before the flush are gone"
    messages = [e["message"] for e in events_of(api, running["id"])]
    assert f"Created fine-tuning job: {running['id']}" in messages
    listed = [j["id"] for j in api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"]]
    assert set(listed) == {running["id"], queued["id"]}


def test_a_store_outage_during_a_job_answers_503_and_the_job_still_finishes(api, settings, tmp_path, store_proxy):
    steps = 10
    job = create(api, steps, seed=11)
    worker = start_worker(settings, tmp_path)
    try:
        wait_for(lambda: any(e["type"] == "metrics" for e in events_of(api, job["id"])), "training started", worker)
        store_proxy.cut()
        r = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA)
        assert r.status_code == 503 and "retry-after" in r.headers, r.text
        assert r.json()["error"]["type"] == "server_error"
        time.sleep(10)  # training goes on; checkpoints and progress cannot be stored meanwhile
        store_proxy.restore()
        wait_for(lambda: job_of(api, job["id"])["status"] in TERMINAL, "the job to end", worker)
    finally:
        store_proxy.restore()
        kill(worker)
    done = job_of(api, job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"]["step"] == steps and done["fine_tuned_model"]
