"""Job create → arq worker → child-process training → adapter in the store, against real Redis and moto's S3."""

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import openai
import pytest

from jobs import keys
from jobs.store import open_store
from jobs.ids import new_webhook_endpoint_id
from jobs.records import SigningSecret, WebhookEndpointRecord
from jobs.repository import WebhookEndpointRepository
from jobs.webhooks import new_signing_secret
from jobs.worker import create_worker, webhook_deliverer
from jobs.worker_ops import WorkerMetrics
from tests.conftest import ALPHA
from tests.integration.test_api import jsonl, upload
from tests.support.tasks import classification_examples
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.slow
BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(params=["s3"])
def settings(request, tmp_path, cache_dir, redis_url):
    """One back-end is enough here (the API tests cover both); S3 exercises the remote path end to end."""
    from tests.conftest import make_settings
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return make_settings(f"s3://{bucket}/ftaas", cache_dir, s3_endpoint_url=endpoint, s3_region="us-east-1")


def run_worker_until_idle(settings) -> WorkerMetrics:
    """A burst worker, until the queue is empty; returns its metrics (what its /metrics would have served)."""
    async def burst() -> WorkerMetrics:
        worker = create_worker(settings, burst=True)  # created inside the loop it will run on
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker.ctx["metrics"]

    return asyncio.run(burst())


def worker_samples(metrics: WorkerMetrics) -> dict[tuple, float]:
    """The worker's exposition, parsed: `{(name, ((label, value), ...)): value}`."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics.render()[0].decode()) for s in family.samples}


def create_job(api, n_examples: int, **hyperparameters) -> dict:
    file_id = upload(api, jsonl(*classification_examples(n_examples, seed=1, split="train"))).json()["id"]
    r = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": BASE, "training_file": file_id, "suffix": "itest", "hyperparameters": hyperparameters,
    })
    assert r.status_code == 200, r.text
    return r.json()


def events_of(api, job_id: str) -> list[dict]:
    return api.get(f"/v1/fine_tuning/jobs/{job_id}/events", params={"limit": 100}, headers=ALPHA).json()["data"]


def test_job_runs_to_succeeded_and_publishes_the_adapter(api, settings, monkeypatch):
    # The deployment's interval checkpoints, due after every step here: each is interim, replaced by the next.
    monkeypatch.setenv("FTAAS_CHECKPOINT_INTERVAL_SECONDS", "0.001")
    receiver = Receiver()  # the tenant's webhook endpoint for its jobs' starts, checkpoints and successes
    endpoint = WebhookEndpointRecord(id=new_webhook_endpoint_id(), tenant="alpha", name="ends", url=receiver.url,
                                     event_types=["fine_tuning.job.succeeded", "fine_tuning.job.running",
                                                  "fine_tuning.job.checkpoint.created"],
                                     secrets=[SigningSecret(value=new_signing_secret())])
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    asyncio.run(WebhookEndpointRepository(store).save(endpoint))
    job = create_job(api, 16, n_epochs=1, batch_size=4)
    metrics = worker_samples(run_worker_until_idle(settings))

    done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
    assert done["status"] == "succeeded", done["error"]
    # The worker's series moved (bounded labels: statuses and reasons, never ids).
    succeeded = (("status", "succeeded"),)
    assert metrics[("ftaas_worker_jobs_total", succeeded)] == 1
    assert metrics[("ftaas_worker_job_duration_seconds_count", succeeded)] == 1
    assert metrics[("ftaas_worker_trained_tokens_total", ())] == done["trained_tokens"] > 0
    assert metrics[("ftaas_worker_job_attempts_total", ())] == 1
    assert metrics[("ftaas_worker_training_exits_total", (("reason", "ok"),))] == 1
    assert metrics[("ftaas_worker_checkpoint_upload_failures_total", ())] == 0
    assert not any(name == "ftaas_worker_job_requeues_total" for name, _ in metrics)
    assert done["fine_tuned_model"] == f"ft:{BASE}:itest:{job['id'][6:14]}"
    assert done["trained_tokens"] > 0 and done["finished_at"] >= done["created_at"]
    assert done["hyperparameters"] == {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0}

    metrics_file = done["result_files"][0]
    assert api.get(f"/v1/files/{metrics_file}", headers=ALPHA).json()["purpose"] == "fine-tune-results"
    csv = api.get(f"/v1/files/{metrics_file}/content", headers=ALPHA).text.splitlines()
    assert csv[0].startswith("step,") and len(csv) == 1 + 4  # one row per optimizer step
    names = [api.get(f"/v1/files/{f}", headers=ALPHA).json()["filename"] for f in done["result_files"]]
    assert names == [f"{job['id']}-{name}" for name in ("metrics.csv", "loss.png", "report.json")]
    assert done["task_format"] == "chat" and done["method"]["type"] == "supervised"
    # FTAAS_TRAINING_EVIDENCE=validation (tests/conftest.py) reached the child: no sample answers, no forgetting check
    report = json.loads(file_content(api, done["result_files"][2]))
    assert report["before"] == report["after"] == {} and "forgetting" not in report

    events = events_of(api, job["id"])
    steps = [e["data"]["step"] for e in events if e["type"] == "metrics"]
    assert sorted(steps) == [1, 2, 3, 4]
    assert all({"train_loss", "learning_rate", "tokens_per_second", "eta_seconds"} <= e["data"].keys()
               for e in events if e["type"] == "metrics")
    assert "successfully completed" in events[0]["message"]

    manifest = store.get_json(keys.model_manifest("alpha", done["fine_tuned_model"]))
    assert manifest["base_model"] == BASE and "adapter_model.safetensors" in manifest["files"]
    assert store.exists(keys.model_artifacts("alpha", done["fine_tuned_model"], attempt=1) + "adapter_config.json")
    # events outlive Redis: they were copied to the store when the job ended
    stored = [json.loads(line) for line in store.get_bytes(keys.job_events("alpha", job["id"])).splitlines()]
    assert [e["id"] for e in stored][::-1] == [e["id"] for e in events]
    assert done["fine_tuned_model"] in [m["id"] for m in api.get("/v1/models", headers=ALPHA).json()["data"]]

    # Interim checkpoints after steps 1, 2 and 3 (none after the last: the job's model is that); each one stored
    # deleted the one before, files, record and names, so the job keeps only the newest.
    listed = api.get(f"/v1/fine_tuning/jobs/{job['id']}/checkpoints", headers=ALPHA).json()["data"]
    assert [c["step_number"] for c in listed] == [3]
    assert any("(interim: the job's next checkpoint replaces it); it replaces the interim checkpoint at step 2"
               in e["message"] for e in events)
    for step in (1, 2):
        assert not list(store.list_keys(keys.job_checkpoint("alpha", job["id"], step)))
        name = f"{done['fine_tuned_model']}:ckpt-step-{step}"
        assert api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={"model": name, "training_file": "file-x"}).status_code in (400, 404)
    kept = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": listed[0]["fine_tuned_model_checkpoint"], "training_file": done["training_file"], "hyperparameters": {"max_steps": 1},
    })
    assert kept.status_code == 200, kept.text
    api.post(f"/v1/fine_tuning/jobs/{kept.json()['id']}/cancel", headers=ALPHA)  # only its creation mattered

    # The worker's webhook deliverer sends the job's success to the tenant's endpoint, signed for the SDK.
    async def deliver() -> int:
        import httpx
        import redis.asyncio

        connection = redis.asyncio.Redis.from_url(settings.redis_url)
        async with httpx.AsyncClient() as http:
            tried = await webhook_deliverer(settings, store, connection).run_once(http)
        await connection.aclose()
        return tried

    assert asyncio.run(deliver()) == 5
    client = openai.OpenAI(api_key="unused")
    events = [client.webhooks.unwrap(body, headers, secret=endpoint.secrets[0].value) for headers, body in receiver.received]
    assert all(event.data.id == job["id"] for event in events)
    assert sorted(event.type for event in events) == ["fine_tuning.job.checkpoint.created"] * 3 + [
        "fine_tuning.job.running", "fine_tuning.job.succeeded"]
    stored = {e.data.step_number: e.data for e in events if e.type == "fine_tuning.job.checkpoint.created"}
    assert sorted(stored) == [1, 2, 3]  # the interim ones too, each named as it can be trained from or called
    assert stored[3].fine_tuned_model_checkpoint == listed[0]["fine_tuned_model_checkpoint"]
    assert stored[3].checkpoint_id == listed[0]["id"]
    receiver.server.shutdown()


def test_cancel_stops_a_running_job_within_seconds(api, settings):
    job = create_job(api, 64, n_epochs=20, batch_size=4)
    worker = threading.Thread(target=run_worker_until_idle, args=(settings,))
    worker.start()
    try:
        deadline = time.monotonic() + 300
        while not any(e["type"] == "metrics" for e in events_of(api, job["id"])):
            assert time.monotonic() < deadline, "training never started"
            assert worker.is_alive(), "the worker stopped before training started"
            time.sleep(0.5)
        assert api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()["status"] == "running"

        cancelled_at = time.monotonic()
        r = api.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel", headers=ALPHA)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        worker.join(timeout=30)
        assert not worker.is_alive(), "the worker did not let go of the cancelled job"
        assert time.monotonic() - cancelled_at < 30
    finally:
        worker.join(timeout=60)

    final = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
    assert final["status"] == "cancelled" and final["fine_tuned_model"] is None
    assert any("training process stopped" in e["message"] for e in events_of(api, job["id"]))
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    assert list(store.list_keys(keys.models_prefix("alpha"))) == []
    assert not (settings.cache_dir / "work" / job["id"]).exists()
    assert not [p for p in Path("/proc").glob("[0-9]*") if job["id"] in _cmdline(p)], "training process still alive"


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def file_content(api, file_id: str) -> str:
    return api.get(f"/v1/files/{file_id}/content", headers=ALPHA).text


def test_checkpoints_are_stored_listed_and_trained_further(api, settings):
    train_file = upload(api, jsonl(*classification_examples(16, seed=1))).json()["id"]
    valid_file = upload(api, jsonl(*classification_examples(4, seed=1, split="test")), name="valid.jsonl").json()["id"]
    hyperparameters = {"max_steps": 3, "batch_size": 4, "learning_rate": 3e-4, "eval_every": 1, "checkpoint_every": 1}
    body = {"model": BASE, "training_file": train_file, "validation_file": valid_file, "training_type": {"type": "lora", "r": 4}}
    first = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={**body, "hyperparameters": hyperparameters}).json()
    run_worker_until_idle(settings)
    done = api.get(f"/v1/fine_tuning/jobs/{first['id']}", headers=ALPHA).json()
    assert done["status"] == "succeeded", done["error"]

    # Checkpoints after steps 1, 2 and the last, 3, newest first, in OpenAI's shape.
    listed = api.get(f"/v1/fine_tuning/jobs/{first['id']}/checkpoints", headers=ALPHA).json()
    assert [c["step_number"] for c in listed["data"]] == [3, 2, 1] and listed["has_more"] is False
    assert listed["data"][0]["fine_tuned_model_checkpoint"] == f"{done['fine_tuned_model']}:ckpt-step-3"
    newest = listed["data"][1]
    assert newest["object"] == "fine_tuning.job.checkpoint" and newest["id"].startswith("ftckpt-")
    assert newest["fine_tuning_job_id"] == first["id"] and listed["first_id"] == listed["data"][0]["id"]
    assert newest["fine_tuned_model_checkpoint"] == f"{done['fine_tuned_model']}:ckpt-step-2"
    rows = file_content(api, done["result_files"][0]).splitlines()
    header, step_2 = rows[0].split(","), dict(zip(rows[0].split(","), rows[2].split(",")))
    assert "valid_loss" in header
    assert newest["metrics"]["train_loss"] == pytest.approx(float(step_2["train_loss"]))
    assert newest["metrics"]["valid_loss"] == newest["metrics"]["full_valid_loss"] == pytest.approx(float(step_2["valid_loss"]))
    page = api.get(f"/v1/fine_tuning/jobs/{first['id']}/checkpoints", params={"limit": 1, "after": newest["id"]}, headers=ALPHA).json()
    assert [c["step_number"] for c in page["data"]] == [1] and page["has_more"] is False

    # A new job continues from the step-2 checkpoint (by id) and another from the finished model; they
    # inherit the LoRA settings, and the first starts exactly where step 2 left the validation loss.
    more = {"max_steps": 1, "batch_size": 4}
    from_checkpoint = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": newest["id"], "training_file": train_file, "validation_file": valid_file, "hyperparameters": more,
    })
    assert from_checkpoint.status_code == 200, from_checkpoint.text
    assert from_checkpoint.json()["training_type"]["r"] == 4
    from_model = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": done["fine_tuned_model"], "training_file": train_file, "suffix": "again", "hyperparameters": more,
    })
    assert from_model.status_code == 200, from_model.text
    run_worker_until_idle(settings)

    continued = api.get(f"/v1/fine_tuning/jobs/{from_checkpoint.json()['id']}", headers=ALPHA).json()
    assert continued["status"] == "succeeded", continued["error"]
    report = json.loads(file_content(api, continued["result_files"][2]))
    assert report["before"]["validation"]["loss"] == pytest.approx(float(step_2["valid_loss"]), rel=1e-4)
    again = api.get(f"/v1/fine_tuning/jobs/{from_model.json()['id']}", headers=ALPHA).json()
    assert again["status"] == "succeeded", again["error"]
    assert again["fine_tuned_model"] == f"ft:{BASE}:again:{again['id'][6:14]}"
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    assert store.get_json(keys.model_manifest("alpha", again["fine_tuned_model"]))["parent"] == done["fine_tuned_model"]
    assert any("to continue training it" in e["message"] for e in events_of(api, again["id"]))

    # Continuing needs the same method and kind of task; unknown models are named as such.
    refused = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": done["fine_tuned_model"], "training_file": train_file, "training_type": {"type": "ia3"},
    })
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "training_type.type"
    assert "trained with lora" in refused.json()["error"]["message"]
    unknown = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={"model": "ftckpt-nothing", "training_file": train_file})
    assert unknown.status_code == 400 and "no fine-tuned model or checkpoint 'ftckpt-nothing'" in unknown.json()["error"]["message"]


def stop_worker_during_training(api, settings, job_id: str, after_step: int, **worker_options) -> None:
    """Run a worker until the job has trained `after_step` steps, then stop it as a SIGTERM would (a drain, a
    rollout) and wait until it has let go of the job."""
    def trained() -> int:
        return max((e["data"]["step"] for e in events_of(api, job_id) if e["type"] == "metrics"), default=0)

    async def run() -> None:
        worker = create_worker(settings, **worker_options)
        running = asyncio.create_task(worker.async_run())
        try:
            deadline = time.monotonic() + 600
            while await asyncio.to_thread(trained) < after_step:
                assert time.monotonic() < deadline and not running.done(), "training did not get that far"
                await asyncio.sleep(0.1)
            worker.handle_sig(signal.SIGTERM)
            with contextlib.suppress(asyncio.CancelledError):
                await running
        finally:
            await worker.close()

    asyncio.run(run())


def test_a_worker_stopping_or_a_pause_checkpoints_the_job_which_resumes_with_the_same_losses(api, settings):
    """SIGTERM on the worker (a drain): the training process finishes its step, writes a checkpoint, which is
    stored, and the job is queued again; the next worker resumes from that step. A pause (through the official
    SDK, every answer parsed strictly by its types) stops the training the same way, the job is paused (OpenAI's
    `queued`, with `paused: true`) and its worker free; a resume goes on from the checkpoint. Both end with the
    losses of a run never interrupted. The jobs ask for no checkpoints, as a default job does not."""
    import openai

    client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0,
                           _strict_response_validation=True)
    train_file = upload(api, jsonl(*classification_examples(16, seed=4))).json()["id"]
    body = {
        "model": BASE, "training_file": train_file, "seed": 11, "training_type": {"type": "lora", "r": 4},
        "hyperparameters": {"max_steps": 8, "batch_size": 4, "learning_rate": 3e-4},
    }

    def stored_steps(job_id: str) -> list[int]:
        return [c["step_number"] for c in api.get(f"/v1/fine_tuning/jobs/{job_id}/checkpoints", headers=ALPHA).json()["data"]]

    paused = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body).json()
    worker = threading.Thread(target=run_worker_until_idle, args=(settings,))
    worker.start()
    try:
        deadline = time.monotonic() + 300
        while not any(e["type"] == "metrics" and e["data"]["step"] >= 2 for e in events_of(api, paused["id"])):
            assert time.monotonic() < deadline and worker.is_alive(), "training did not get that far"
            time.sleep(0.2)
        assert client.fine_tuning.jobs.pause(paused["id"]).status == "running"  # until its step ends
        worker.join(timeout=120)
        assert not worker.is_alive(), "the worker did not let the paused job go"
    finally:
        worker.join(timeout=60)
    waiting = client.fine_tuning.jobs.retrieve(paused["id"])
    assert waiting.status == "queued" and waiting.model_extra["paused"] is True, waiting.error
    assert len(stored_steps(paused["id"])) == 1 and (paused_at := stored_steps(paused["id"])[0]) >= 2
    messages = [e["message"] for e in events_of(api, paused["id"])]
    assert f"Stopped at step {paused_at} of 8 on request (SIGTERM); the checkpoint at step {paused_at} resumes it" in messages
    assert any(m.startswith("Job paused at step ") and "its worker is free" in m for m in messages), messages[:5]

    interrupted = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body).json()
    stop_worker_during_training(api, settings, interrupted["id"], after_step=2)  # the paused job stays paused
    waiting = api.get(f"/v1/fine_tuning/jobs/{interrupted['id']}", headers=ALPHA).json()
    assert waiting["status"] == "queued" and waiting["paused"] is False, waiting["error"]
    stored = stored_steps(interrupted["id"])
    assert len(stored) == 1 and stored[0] >= 2, stored
    stopped_at = stored[0]
    messages = [e["message"] for e in events_of(api, interrupted["id"])]
    assert f"Stopped at step {stopped_at} of 8 on request (SIGTERM); the checkpoint at step {stopped_at} resumes it" in messages
    assert any(m.startswith("The worker stopped; the job is queued again") for m in messages)
    assert client.fine_tuning.jobs.retrieve(paused["id"]).model_extra["paused"] is True

    assert client.fine_tuning.jobs.resume(paused["id"]).status == "queued"
    uninterrupted = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body).json()
    run_worker_until_idle(settings)  # resumes both jobs, then runs their twin from the start

    twin = api.get(f"/v1/fine_tuning/jobs/{uninterrupted['id']}", headers=ALPHA).json()
    twin_rows = file_content(api, twin["result_files"][0]).splitlines()
    assert twin["status"] == "succeeded" and len(twin_rows) == 1 + 8, twin["error"]
    column = twin_rows[0].split(",").index("train_loss")
    for job_id, step in ((interrupted["id"], stopped_at), (paused["id"], paused_at)):
        resumed = api.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALPHA).json()
        assert resumed["status"] == "succeeded" and resumed["paused"] is False, resumed["error"]
        messages = [e["message"] for e in events_of(api, job_id)]
        assert f"Resuming from the checkpoint stored at step {step}" in messages
        assert f"Resumed from the checkpoint at step {step}" in messages
        # The resumed run ends where the uninterrupted one does: same steps, same losses.
        resumed_rows = file_content(api, resumed["result_files"][0]).splitlines()
        assert len(resumed_rows) == len(twin_rows)
        for mine, theirs in zip(resumed_rows[1:], twin_rows[1:]):
            assert float(mine.split(",")[column]) == pytest.approx(float(theirs.split(",")[column]), rel=1e-4)


def training_processes(job_id: str, rank: int) -> list[int]:
    """The job's training processes of that rank (under torchrun: its workers; without: the child itself)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if job_id not in _cmdline(proc) or "jobs.train" not in _cmdline(proc) or "torch.distributed.run" in _cmdline(proc):
            continue
        with contextlib.suppress(OSError):
            environ = (proc / "environ").read_bytes().split(b"\0")
            if rank == 0 and not any(v.startswith(b"RANK=") for v in environ) or f"RANK={rank}".encode() in environ:
                found.append(int(proc.name))
    return found


@pytest.mark.parametrize("processes", [1, 2])
def test_a_training_process_killed_for_memory_goes_on_from_its_checkpoint_in_smaller_forwards(settings, processes):
    """The kernel's OOM killer takes the training process (SIGKILL; under torchrun, one rank), not the worker: the
    worker runs it again from its latest checkpoint with half the activation budget, and the job succeeds with
    every step trained once."""
    from litestar.testing import TestClient

    from service.app import create_app

    settings = settings.model_copy(update={"worker_max_procs_per_node": processes})
    with TestClient(create_app(settings)) as api:
        train_file = upload(api, jsonl(*classification_examples(16, seed=4))).json()["id"]
        body = {
            "model": BASE, "training_file": train_file, "seed": 11, "training_type": {"type": "lora", "r": 4},
            "hyperparameters": {"max_steps": 8, "batch_size": 4, "checkpoint_every": 2},
        }
        refused = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={**body, "compute": {"num_proc_per_node": processes + 1}})
        assert refused.status_code == 400 and f"at most {processes} training process" in refused.text
        job = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={**body, "compute": {"num_proc_per_node": processes}}).json()
        worker = threading.Thread(target=run_worker_until_idle, args=(settings,))
        worker.start()
        try:
            deadline = time.monotonic() + 300
            while not any(e["message"] == "Checkpoint saved at step 2" for e in events_of(api, job["id"])):
                assert time.monotonic() < deadline and worker.is_alive(), "no checkpoint was written"
                time.sleep(0.2)
            victims = training_processes(job["id"], rank=processes - 1)
            assert len(victims) == 1, victims
            os.kill(victims[0], signal.SIGKILL)
        finally:
            worker.join(timeout=600)

        done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
        assert done["status"] == "succeeded", done["error"]
        events = events_of(api, job["id"])[::-1]
        retry = [e for e in events if e["message"].startswith("The training process ran out of memory")]
        assert len(retry) == 1 and retry[0]["level"] == "warn" and "SIGKILL" in retry[0]["message"]
        budgets = [e["data"]["budget_bytes"] for e in events if e["message"].startswith("Memory: ")]
        assert budgets == [budgets[0], budgets[0] // 2]
        resumed = [e["data"]["step"] for e in events if e["message"].startswith("Resumed from the checkpoint at step")]
        assert len(resumed) == 1 and resumed[0] >= 2
        rows = file_content(api, done["result_files"][0]).splitlines()[1:]
        assert [int(row.split(",")[0]) for row in rows] == list(range(1, 9))
        training = [e["message"] for e in events if e["message"].startswith("Training lora")]
        assert training and all(("in 2 processes (DDP)" in m) == (processes == 2) for m in training), training


def test_a_job_running_past_the_timeout_fails_and_says_why(api, settings):
    job = create_job(api, 16, max_steps=200, batch_size=4)
    run_worker_until_idle(settings.model_copy(update={"job_timeout_seconds": 5}))
    done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
    assert done["status"] == "failed" and done["error"]["code"] == "timeout"
    assert "FTAAS_JOB_TIMEOUT_SECONDS (5 s)" in done["error"]["message"]
