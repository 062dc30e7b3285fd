"""Job create → arq worker → child-process training → adapter in the store, against real Redis and moto's S3."""

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from jobs import keys
from jobs.store import open_store
from jobs.worker import create_worker
from tests.conftest import ALPHA
from tests.integration.test_api import jsonl, upload
from tests.support.tasks import classification_examples

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


def run_worker_until_idle(settings) -> None:
    async def burst() -> None:
        worker = create_worker(settings, burst=True)  # created inside the loop it will run on
        try:
            await worker.main()
        finally:
            await worker.close()

    asyncio.run(burst())


def create_job(api, n_examples: int, **hyperparameters) -> dict:
    file_id = upload(api, jsonl(*classification_examples(n_examples, seed=1, split="train"))).json()["id"]
    r = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
        "model": BASE, "training_file": file_id, "suffix": "itest", "hyperparameters": hyperparameters,
    })
    assert r.status_code == 200, r.text
    return r.json()


def events_of(api, job_id: str) -> list[dict]:
    return api.get(f"/v1/fine_tuning/jobs/{job_id}/events", params={"limit": 100}, headers=ALPHA).json()["data"]


def test_job_runs_to_succeeded_and_publishes_the_adapter(api, settings):
    job = create_job(api, 16, n_epochs=1, batch_size=4)
    run_worker_until_idle(settings)

    done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
    assert done["status"] == "succeeded", done["error"]
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

    events = events_of(api, job["id"])
    steps = [e["data"]["step"] for e in events if e["type"] == "metrics"]
    assert sorted(steps) == [1, 2, 3, 4]
    assert all({"train_loss", "learning_rate", "tokens_per_second", "eta_seconds"} <= e["data"].keys()
               for e in events if e["type"] == "metrics")
    assert "successfully completed" in events[0]["message"]

    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    manifest = store.get_json(keys.model_manifest("alpha", done["fine_tuned_model"]))
    assert manifest["base_model"] == BASE and "adapter_model.safetensors" in manifest["files"]
    assert store.exists(keys.model_artifacts("alpha", done["fine_tuned_model"]) + "adapter_config.json")
    # events outlive Redis: they were copied to the store when the job ended
    stored = [json.loads(line) for line in store.get_bytes(keys.job_events("alpha", job["id"])).splitlines()]
    assert [e["id"] for e in stored][::-1] == [e["id"] for e in events]
    assert done["fine_tuned_model"] in [m["id"] for m in api.get("/v1/models", headers=ALPHA).json()["data"]]


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
