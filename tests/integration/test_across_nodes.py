"""A job across two nodes, through the API, the worker and a TrainJob, against real Redis and moto's S3.

No Kubernetes API server can run here: tests/support/local_trainjobs.py stands in for one running Kubeflow
Trainer, starting the TrainJob's command on each "node" as a local process with the PET_* variables. Everything
else is ftaas's own: the worker resolves the job, stores its input and creates the TrainJob (validated against
the kubeflow-trainer-api models); each node runs jobs.training_node, which trains under torchrun across the
two nodes (gloo, FSDP2); node 0 reports events and progress and stores checkpoints (with node 1's shards,
stored by node 1) and the model; the worker publishes it.
"""

import asyncio
import json

import pytest

from jobs import keys
from jobs.kubeflow import trainjob_name
from jobs.store import open_store
from jobs.worker import create_worker
from tests.conftest import ALPHA, TEST_REDIS_URL, make_settings
from tests.integration.test_api import jsonl, upload
from tests.integration.test_worker import BASE, events_of
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


def run_worker_until_idle(settings, cluster) -> None:
    from jobs.kubeflow import KubeflowTrainJobs

    async def burst() -> None:
        worker = create_worker(settings, burst=True, trainjobs=KubeflowTrainJobs(settings.kubeflow_namespace, api=cluster))
        try:
            await worker.main()
        finally:
            await worker.close()

    asyncio.run(burst())


def test_a_job_across_two_nodes_trains_as_a_trainjob_and_is_published(settings, cluster, tmp_path):
    from litestar.testing import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as api:
        file_id = upload(api, jsonl(*classification_examples(16, seed=1, split="train"))).json()["id"]
        created = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={
            "model": BASE, "training_file": file_id, "suffix": "nodes",
            "hyperparameters": {"n_epochs": 1, "batch_size": 4, "checkpoint_every": 2},
            "compute": {"num_nodes": 2, "num_proc_per_node": 1, "strategy": "fsdp"},
        })
        assert created.status_code == 200, created.text
        job = created.json()
        run_worker_until_idle(settings, cluster)

        done = api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()
        logs = {p.name: p.read_text()[-2000:] for p in tmp_path.glob("*.log")}
        assert done["status"] == "succeeded", (done["error"], logs)
        assert done["trained_tokens"] > 0 and done["compute"]["num_nodes"] == 2

        # The TrainJob: two nodes of one process running jobs.training_node for this attempt; deleted once done.
        name = trainjob_name(job["id"], 1)
        [trainjob] = cluster.created
        trainer = trainjob["spec"]["trainer"]
        assert trainjob["metadata"]["name"] == name and (trainer["numNodes"], trainer["numProcPerNode"]) == (2, 1)
        assert trainer["args"] == ["--tenant", "alpha", "--job", job["id"], "--attempt", "1"]
        assert cluster.deleted == [name]

        events = events_of(api, job["id"])
        messages = [e["message"] for e in events]
        assert any(m.startswith(f"Submitted TrainJob {name} to Kubeflow Trainer: 2 nodes × 1 training process")
                   for m in messages)
        assert f"TrainJob {name} is running" in messages and any(m.startswith(f"TrainJob {name} completed") for m in messages)
        # Node 0's events, once each: the loop's steps, training in 2 processes under FSDP2.
        assert sorted(e["data"]["step"] for e in events if e["type"] == "metrics") == [1, 2, 3, 4]
        training = [m for m in messages if m.startswith("Training lora")]
        assert len(training) == 1 and "in 2 processes (FSDP2" in training[0], training
        assert done["progress"]["step"] == done["progress"]["total_steps"] == 4  # extension: written by node 0

        # The checkpoints hold both nodes' shards (each written on its own node's disk, stored by that node).
        store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
        listed = api.get(f"/v1/fine_tuning/jobs/{job['id']}/checkpoints", headers=ALPHA).json()["data"]
        assert sorted(c["step_number"] for c in listed) == [2, 4]
        for step in (2, 4):
            state = {k.rsplit("/", 1)[1] for k in store.list_keys(keys.job_checkpoint("alpha", job["id"], step) + "state/")}
            assert {".metadata", "__0_0.distcp", "__1_0.distcp"} <= state, state

        manifest = store.get_json(keys.model_manifest("alpha", done["fine_tuned_model"]))
        assert manifest["attempt"] == 1 and "adapter_model.safetensors" in manifest["files"]
        assert done["fine_tuned_model"] in [m["id"] for m in api.get("/v1/models", headers=ALPHA).json()["data"]]
