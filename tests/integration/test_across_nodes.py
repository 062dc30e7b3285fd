"""A job across two nodes, through the API, the worker and a TrainJob, against real Redis and moto's S3.

No Kubernetes API server can run here: tests/support/local_trainjobs.py stands in for one running Kubeflow
Trainer, starting the TrainJob's command on each "node" as a local process with the PET_* variables. Everything
else is ftaas's own: the worker resolves the job, stores its input and creates the TrainJob (validated against
the kubeflow-trainer-api models); each node runs jobs.training_node, which trains under torchrun across the
two nodes (gloo, FSDP2); node 0 reports events and progress and stores checkpoints (with node 1's shards,
stored by node 1) and the model; the worker publishes it. A worker that stops mid-run deletes the TrainJob and
waits for its nodes to checkpoint; the next attempt resumes from that checkpoint in a new TrainJob.
"""

import asyncio
import json

import pytest

from jobs import keys
from jobs.kubeflow import KubeflowTrainJobs, trainjob_name
from jobs.store import open_store
from jobs.worker import create_worker
from tests.conftest import ALPHA, TEST_REDIS_URL, make_settings
from tests.integration.test_api import jsonl, upload
from tests.integration.test_worker import BASE, events_of, file_content, stop_worker_during_training
from tests.support.local_trainjobs import LocalTrainJobs
from tests.support.tasks import classification_examples

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path, cache_dir, redis_url, s3_endpoint, s3_bucket):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return make_settings(
        f"s3://{s3_bucket}/ftaas", cache_dir, s3_endpoint_url=s3_endpoint, s3_region="us-east-1",
        kubeflow_enabled=True, kubeflow_image="registry.example.com/ftaas:test", kubeflow_config_map="ftaas",
        kubeflow_secret_refs=json.dumps({"FTAAS_REDIS_URL": "ftaas/redis-url", "AWS_ACCESS_KEY_ID": "ftaas/key-id",
                                         "AWS_SECRET_ACCESS_KEY": "ftaas/secret-key"}),
        kubeflow_resources_per_node=json.dumps({"requests": {"cpu": "1"}}), kubeflow_poll_seconds=0.5,
    )


@pytest.fixture
def cluster(tmp_path, settings):
    config_map = {  # the chart's ConfigMap, as far as these pods read it
        "FTAAS_STORE_URL": settings.store_url, "FTAAS_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "FTAAS_S3_REGION": settings.s3_region, "FTAAS_CACHE_DIR": str(settings.cache_dir),
        "FTAAS_TRAIN_THREADS": "1", "FTAAS_TRAINING_EVIDENCE": "validation",
    }
    secrets = {("ftaas", "redis-url"): TEST_REDIS_URL, ("ftaas", "key-id"): "testing", ("ftaas", "secret-key"): "testing"}
    local = LocalTrainJobs(tmp_path, config_map, secrets)
    yield local
    local.close()


def trainjobs(settings, cluster: LocalTrainJobs) -> KubeflowTrainJobs:
    return KubeflowTrainJobs(settings.kubeflow_namespace, api=cluster)


def run_worker_until_idle(settings, cluster) -> None:
    async def burst() -> None:
        worker = create_worker(settings, burst=True, trainjobs=trainjobs(settings, cluster))
        try:
            await worker.main()
        finally:
            await worker.close()

    asyncio.run(burst())


def test_a_job_across_two_nodes_trains_as_a_trainjob_resumes_after_a_worker_stops_and_is_published(settings, cluster,
                                                                                                    tmp_path):
    from litestar.testing import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as api:
        file_id = upload(api, jsonl(*classification_examples(16, seed=1, split="train"))).json()["id"]
        created = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
            "model": BASE, "training_file": file_id, "suffix": "nodes",
            "hyperparameters": {"max_steps": 4, "batch_size": 4, "checkpoint_every": 2},
            "compute": {"num_nodes": 2, "num_proc_per_node": 1, "strategy": "fsdp"},
        })
        assert created.status_code == 200, created.text
        job = created.json()
        first, second = trainjob_name(job["id"], 1), trainjob_name(job["id"], 2)

        # The worker stops (a drain): it deletes the TrainJob and waits for its nodes, which checkpoint on their
        # SIGTERM; node 0 stores the checkpoint with node 1's shards, and the job is queued again.
        stop_worker_during_training(api, settings, job["id"], after_step=1, trainjobs=trainjobs(settings, cluster))
        logs = lambda: {p.name: p.read_text()[-2000:] for p in tmp_path.glob("*.log")}  # noqa: E731
        waiting = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
        assert waiting["status"] == "queued", (waiting["error"], logs())
        assert cluster.deleted == [first] and not cluster.running(first)
        [stopped] = api.get(f"/v1/fine_tuning/jobs/{job['id']}/checkpoints", headers=ALPHA).json()["data"]
        stopped_at = stopped["step_number"]
        messages = [e["message"] for e in events_of(api, job["id"])]
        assert f"Stopped at step {stopped_at} of 4 on request (SIGTERM); the checkpoint at step {stopped_at} resumes it" \
            in messages, logs()

        # The next worker's attempt resumes from it in a TrainJob of its own, and the job is published.
        run_worker_until_idle(settings, cluster)
        done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
        assert done["status"] == "succeeded", (done["error"], logs())
        assert done["trained_tokens"] > 0 and done["compute"]["num_nodes"] == 2
        assert [t["metadata"]["name"] for t in cluster.created] == [first, second] and cluster.deleted == [first, second]
        trainer = cluster.created[1]["spec"]["trainer"]
        assert (trainer["numNodes"], trainer["numProcPerNode"]) == (2, 1)
        assert trainer["args"] == ["--tenant", "alpha", "--job", job["id"], "--attempt", "2"]

        events = events_of(api, job["id"])
        messages = [e["message"] for e in events]
        assert any(m.startswith(f"Submitted TrainJob {second} to Kubeflow Trainer: 2 nodes × 1 training process")
                   for m in messages)
        assert f"TrainJob {second} is running" in messages
        assert any(m.startswith(f"TrainJob {second} completed") for m in messages)
        assert f"2 training nodes resume from the checkpoint stored at step {stopped_at}" in messages
        assert f"Resumed from the checkpoint at step {stopped_at}" in messages
        training = [m for m in messages if m.startswith("Training lora")]
        assert training and all("in 2 processes (FSDP2" in m for m in training), training
        rows = file_content(api, done["result_files"][0]).splitlines()[1:]
        assert [int(row.split(",")[0]) for row in rows] == list(range(1, 5))  # node 0's, each step once
        assert done["progress"]["step"] == done["progress"]["total_steps"] == 4  # written by node 0

        # Every stored checkpoint holds both nodes' shards (each written on its own node, stored by that node); an
        # interim one the stop left was replaced by the next.
        store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
        listed = api.get(f"/v1/fine_tuning/jobs/{job['id']}/checkpoints", headers=ALPHA).json()["data"]
        assert sorted(c["step_number"] for c in listed) == [2, 4]
        for step in (2, 4):
            state = {k.rsplit("/", 1)[1] for k in store.list_keys(keys.job_checkpoint("alpha", job["id"], step) + "state/")}
            assert {".metadata", "__0_0.distcp", "__1_0.distcp"} <= state, state
        if stopped_at not in (2, 4):
            assert not list(store.list_keys(keys.job_checkpoint("alpha", job["id"], stopped_at)))

        manifest = store.get_json(keys.model_manifest("alpha", done["fine_tuned_model"]))
        assert manifest["attempt"] == 2 and "adapter_model.safetensors" in manifest["files"]
        assert done["fine_tuned_model"] in [m["id"] for m in api.get("/v1/models", headers=ALPHA).json()["data"]]


def test_a_trainjob_the_cluster_refuses_fails_the_job_saying_why(settings, tmp_path):
    from litestar.testing import TestClient

    from service.app import create_app
    from tests.support.local_trainjobs import ApiException

    refusing = LocalTrainJobs(tmp_path, {}, {}, refuse=ApiException(403, 'trainjobs.trainer.kubeflow.org is forbidden: '
                                                                         'User "system:serviceaccount:ftaas:ftaas" cannot create'))
    with TestClient(create_app(settings)) as api:
        file_id = upload(api, jsonl(*classification_examples(8, seed=1, split="train"))).json()["id"]
        job = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
            "model": BASE, "training_file": file_id, "compute": {"num_nodes": 2}}).json()
        run_worker_until_idle(settings, refusing)
        done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
    assert done["status"] == "failed" and done["error"]["code"] == "training_failed"
    message = done["error"]["message"]
    assert message.startswith(f"Kubeflow Trainer did not take TrainJob {trainjob_name(job['id'], 1)}: (403)")
    assert "cannot create" in message and "docs/deploy.md" in message
