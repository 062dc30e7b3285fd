"""Jobs' `integrations`: OpenAI's W&B integration and ftaas's MLflow extension (jobs/training/tracking.py).

The MLflow tests start a real tracking server (full `mlflow`, from its own venv: `make mlflow-env`) on a free port
with its backend and artifacts in a temporary folder, run a small real job through the API and the worker, and
read the run back through MLflow's client. W&B runs in offline mode (no server can be reached here): what the run
wrote is read back from its transaction log with wandb's own protobuf records. Without `.venv-mlflow` the tests
that need the server are skipped.
"""

import asyncio
import contextlib
import json
import os
import signal
import struct
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from jobs.catalog import DEFAULT_MODEL_ID
from tests.conftest import ALPHA, free_port, make_settings
from tests.integration.test_api import jsonl, upload
from tests.support.tasks import classification_examples

REPO = Path(__file__).resolve().parents[2]
MLFLOW = REPO / ".venv-mlflow" / "bin" / "mlflow"
needs_mlflow = pytest.mark.skipif(
    not MLFLOW.is_file(), reason=f"the MLflow server's environment is absent ({MLFLOW}); `make mlflow-env` installs it"
)
WANDB_KEY = "local-offline-" + "0" * 26  # 40 characters, as W&B keys are; never sent anywhere (offline mode)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(
        [str(MLFLOW), "server", "--backend-store-uri", f"sqlite:///{folder}/mlflow.db", "--serve-artifacts",
         "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            assert server.poll() is None, (folder / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the MLflow server did not start within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # its data is thrown away with the folder
        server.wait(30)
        log.close()


def deployment(tmp_path: Path, cache_dir: Path, redis_url: str, **integrations):
    """Settings of a deployment with these integration settings, on a local-folder store."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return make_settings(f"file://{tmp_path}/store", cache_dir, **integrations)


@contextlib.contextmanager
def api_of(settings):
    from litestar.testing import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client


def create_body(api, integrations: list[dict]) -> dict:
    train = upload(api, jsonl(*classification_examples(8, seed=1, split="train"))).json()["id"]
    valid = upload(api, jsonl(*classification_examples(4, seed=1, split="test")), name="valid.jsonl").json()["id"]
    return {"model": DEFAULT_MODEL_ID, "training_file": train, "validation_file": valid, "seed": 7,
            "hyperparameters": {"n_epochs": 1, "batch_size": 4, "max_seq_length": 64}, "integrations": integrations}


def run_worker_until_idle(settings) -> None:
    from jobs.worker import create_worker

    async def burst() -> None:
        worker = create_worker(settings, burst=True)
        try:
            await worker.main()
        finally:
            await worker.close()

    asyncio.run(burst())


def events_of(api, job_id: str) -> list[dict]:
    """Oldest first."""
    return api.get(f"/v1/fine_tuning/jobs/{job_id}/events", params={"limit": 100}, headers=ALPHA).json()["data"][::-1]


def step_numbers(event: dict) -> dict[str, float]:
    from jobs.training.tracking import step_metrics

    return step_metrics(event["data"])


def wandb_records(path: Path):
    """The records of a W&B run's transaction log (`run-<id>.wandb`), as wandb's own protobuf messages. The file is
    a LevelDB-style log: a 7-byte header (":W&B", magic, version), then 32 KiB blocks of chunks, each with a 7-byte
    header (CRC, length, type: 1 whole, 2 first, 3 middle, 4 last)."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, pending = path.read_bytes(), 32768, 7, b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        left = block - pos % block
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if kind == 0:  # the padding at a block's end
            pos += left
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def test_integrations_are_validated_refused_when_not_configured_and_echoed(tmp_path, cache_dir, redis_url):
    settings = deployment(tmp_path, cache_dir, redis_url, mlflow_tracking_uri="http://127.0.0.1:1")
    with api_of(settings) as api:
        body = create_body(api, [{"type": "wandb", "wandb": {"project": "p"}}])
        refused = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body)
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert "wandb integration is not configured" in error["message"] and "FTAAS_WANDB_API_KEY" in error["message"]
        assert "integrations" in error["param"]

        bad = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={**body, "integrations": [
            {"type": "comet", "comet": {}}, {"type": "mlflow", "mlflow": {"experiment": ""}},
            {"type": "wandb", "wandb": {"project": "a/b", "unknown": 1}}]})
        assert bad.status_code == 400
        message = bad.json()["error"]["message"]
        for expected in ("unknown integration type 'comet'", "experiment", "must not contain", "unknown"):
            assert expected in message, message

        wandb = {"project": "p", "name": "run", "entity": "team", "tags": ["a", "b"]}
        mlflow = {"experiment": "e", "run_name": "r", "tags": {"k": "v"}}
        accepted = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
            **body, "integrations": [{"type": "mlflow", "mlflow": mlflow}]})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["integrations"] == [{"type": "mlflow", "mlflow": mlflow}]

    # With W&B configured too, OpenAI's shape goes through the official SDK both ways.
    settings = deployment(tmp_path, cache_dir, redis_url, mlflow_tracking_uri="http://127.0.0.1:1", wandb_api_key=WANDB_KEY)
    with api_of(settings) as api:
        body = create_body(api, [])
        client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0)
        job = client.fine_tuning.jobs.create(model=body["model"], training_file=body["training_file"],
                                             integrations=[{"type": "wandb", "wandb": wandb}])
        (integration,) = job.integrations
        assert integration.type == "wandb" and integration.wandb.model_dump() == wandb
        assert client.fine_tuning.jobs.retrieve(job.id).integrations[0].wandb.project == "p"
        listed = {j["id"]: j for j in api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"]}
        assert listed[job.id]["integrations"] == [{"type": "wandb", "wandb": wandb}]


@pytest.mark.slow
@needs_mlflow
def test_a_job_is_tracked_in_mlflow_and_wandb(tmp_path, cache_dir, redis_url, mlflow_server, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("WANDB_MODE", "offline")  # the worker's environment reaches its training process
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    settings = deployment(tmp_path, cache_dir, redis_url, mlflow_tracking_uri=mlflow_server, wandb_api_key=WANDB_KEY)
    with api_of(settings) as api:
        body = create_body(api, [
            {"type": "mlflow", "mlflow": {"experiment": "ftaas-test", "tags": {"team": "nlp"}}},
            {"type": "wandb", "wandb": {"project": "ftaas-test", "tags": ["mine"]}},
        ])
        created = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
        run_worker_until_idle(settings)
        job = api.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALPHA).json()
        events = events_of(api, job_id)
    assert job["status"] == "succeeded", job["error"]
    assert not [e for e in events if e["level"] != "info"], [e["message"] for e in events if e["level"] != "info"]
    assert any(e["message"] == "Tracking the run in MLflow and W&B" for e in events)
    steps = {e["data"]["step"]: step_numbers(e) for e in events if e["type"] == "metrics"}
    assert sorted(steps) == [1, 2] and "valid_loss" in steps[2] and "train_loss" in steps[1]

    # MLflow: one run in the experiment, tagged with the job, its params, every step's numbers, the files.
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("ftaas-test")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == job_id
    assert run.data.tags["ftaas.job_id"] == job_id and run.data.tags["team"] == "nlp"
    params = run.data.params
    assert params["job_id"] == job_id and params["base_model"] == DEFAULT_MODEL_ID and params["seed"] == "7"
    assert params["method"] == "supervised" and params["training_type"] == "lora" and params["training_type.r"] == "16"
    assert params["hyperparameters.batch_size"] == "4" and params["hyperparameters.n_epochs"] == "1"
    assert float(params["hyperparameters.learning_rate"]) == 1e-3
    logged = {name: {m.step: m.value for m in client.get_metric_history(run.info.run_id, name)} for name in run.data.metrics}
    expected: dict[str, dict[int, float]] = {}
    for step, numbers in steps.items():
        for name, value in numbers.items():
            expected.setdefault(name, {})[step] = value
    assert logged == expected

    def files(path=None):
        for entry in client.list_artifacts(run.info.run_id, path):
            yield from files(entry.path) if entry.is_dir else [entry.path]

    stored = set(files())
    assert {"results/metrics.csv", "results/loss.png", "results/report.json", "results/summary.json",
            "adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/ftaas.json"} <= stored
    csv = Path(client.download_artifacts(run.info.run_id, "results/metrics.csv", str(tmp_path))).read_text()
    assert len(csv.splitlines()) == 1 + 2

    # A resumed job continues its run: found by the job id, with the steps it logged (tracking.MlflowRun).
    from jobs.training.tracking import MlflowRun, TrackingConfig
    from jobs.training_input import TrainingInput
    from jobs.spec import JobSpec, MlflowSettings

    spec = JobSpec.model_validate({**body, "seed": 7})
    training = TrainingInput(spec=spec, plan=spec.resolve(8), format="chat", n_examples=8, training_path=tmp_path,
                             base_model=DEFAULT_MODEL_ID, job_id=job_id)
    again = MlflowRun(MlflowSettings(experiment="ftaas-test"), TrackingConfig(mlflow_tracking_uri=mlflow_server),
                      training, tmp_path)
    again.start({})
    assert (again.run_id, again.last_step) == (run.info.run_id, 2)
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    again.end("FINISHED")

    # W&B (offline): the run's id is the job's; its config, history and artifacts are what the job reported.
    (log,) = (tmp_path / "wandb").glob(f"wandb/offline-run-*-{job_id}/run-{job_id}.wandb")
    records = list(wandb_records(log))
    (start,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert (start.run_id, start.project, start.display_name) == (job_id, "ftaas-test", job_id)
    assert {"ftaas/finetune", f"ftaas/{job_id}", "mine"} <= set(start.tags)
    config = {item.key: json.loads(item.value_json) for item in start.config.update}
    assert config["job_id"] == job_id and config["hyperparameters.batch_size"] == 4 and config["seed"] == 7
    history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert {row["step"]: {k: v for k, v in row.items() if not k.startswith("_") and k != "step"} for row in history} == steps
    artifacts = {r.artifact.type: {m.path for m in r.artifact.manifest.contents}
                 for r in records if r.WhichOneof("record_type") == "artifact"}
    assert {"metrics.csv", "summary.json"} <= artifacts["results"] and "adapter_model.safetensors" in artifacts["model"]


@pytest.mark.slow
def test_an_unreachable_tracker_costs_a_warning_and_the_job_succeeds(tmp_path, cache_dir, redis_url, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # the client's backoff, shortened for the test
    settings = deployment(tmp_path, cache_dir, redis_url, mlflow_tracking_uri=f"http://user:s3cret@127.0.0.1:{free_port()}")
    with api_of(settings) as api:
        body = create_body(api, [{"type": "mlflow", "mlflow": {"experiment": "nowhere"}}])
        created = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body)
        assert created.status_code == 200, created.text
        run_worker_until_idle(settings)
        job = api.get(f"/v1/fine_tuning/jobs/{created.json()['id']}", headers=ALPHA).json()
        events = events_of(api, job["id"])
    assert job["status"] == "succeeded", job["error"]
    (warning,) = [e for e in events if e["level"] != "info"]
    assert warning["level"] == "warn" and warning["message"].startswith("MLflow tracking failed: ")
    assert warning["message"].endswith("training goes on without it") and "s3cret" not in warning["message"]
    assert sorted(e["data"]["step"] for e in events if e["type"] == "metrics") == [1, 2]
