"""POST /v1/fine_tuning/jobs/estimate: the live API asks a worker's estimate server (the code every worker runs in
the background) over real Redis, which reads the files from moto's S3 and tokenizes with the real model; the job
created from the same body then records exactly what the estimate said."""

import asyncio
import json
import threading

import pytest
import redis
import redis.asyncio
from litestar.testing import TestClient

from jobs.keys import RedisKeys
from jobs.quotas import add_trained_tokens, trained_tokens_this_month
from jobs.store import open_store
from jobs.worker import estimate_server, worker_context
from service.app import create_app
from tests.conftest import ALPHA
from tests.integration.test_api import jsonl, upload
from tests.integration.test_worker import BASE, run_worker_until_idle
from tests.support.tasks import classification_examples

pytestmark = pytest.mark.slow
PRICE = 2.5
MONTHLY_TOKENS = 1_000_000


@pytest.fixture
def settings(tmp_path, cache_dir, redis_url, s3_endpoint, s3_bucket):
    from tests.conftest import make_settings

    redis.Redis.from_url(redis_url).flushdb()
    return make_settings(f"s3://{s3_bucket}/ftaas", cache_dir, s3_endpoint_url=s3_endpoint, s3_region="us-east-1",
                         estimate_timeout_seconds=60, price_per_million_tokens=PRICE,
                         quotas=json.dumps({"tenants": {"alpha": {"max_trained_tokens_per_month": MONTHLY_TOKENS}}}))


@pytest.fixture
def api(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def served_estimate(api, settings, body: dict):
    """The estimate request, answered by a worker's estimate server meanwhile."""
    answer = {}
    request = threading.Thread(target=lambda: answer.update(
        response=api.post("/v1/fine_tuning/jobs/estimate", headers=ALPHA, json=body)))
    request.start()

    async def serve() -> None:
        connection = redis.asyncio.Redis.from_url(settings.redis_url)
        store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
        assert await estimate_server(worker_context(settings, store, connection)).serve_one(wait_s=30)
        await connection.aclose()

    asyncio.run(serve())
    request.join(timeout=60)
    return answer["response"]


def test_the_estimate_is_what_the_job_then_records(api, settings):
    file_id = upload(api, jsonl(*classification_examples(16, seed=1, split="train"))).json()["id"]
    # Three steps of three examples: less than an epoch, so the tokens depend on the seed's data order.
    body = {"model": BASE, "training_file": file_id, "suffix": "est", "seed": 7,
            "hyperparameters": {"max_steps": 3, "batch_size": 3}}

    # A body the create refuses gets the same 400, naming every problem.
    bad = {**body, "model": "no-such-model", "hyperparameters": {"n_epochs": 0}}
    refused = api.post("/v1/fine_tuning/jobs/estimate", headers=ALPHA, json=bad)
    assert refused.status_code == 400 and refused.json() == api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=bad).json()
    assert "2 problems" in refused.json()["error"]["message"]

    # No worker answers: 503 in OpenAI's shape, and the request is taken back.
    with TestClient(create_app(settings.model_copy(update={"estimate_timeout_seconds": 1}))) as impatient:
        unanswered = impatient.post("/v1/fine_tuning/jobs/estimate", headers=ALPHA, json=body)
    assert unanswered.status_code == 503 and unanswered.headers["retry-after"]
    assert unanswered.json()["error"]["code"] == "no_worker_available"
    assert "computed by the workers" in unanswered.json()["error"]["message"]
    assert redis.Redis.from_url(settings.redis_url).llen(RedisKeys.ESTIMATE_REQUESTS) == 0

    first = served_estimate(api, settings, body)
    assert first.status_code == 200, first.text
    estimate = first.json()
    assert estimate["object"] == "fine_tuning.job.estimate" and estimate["task_format"] == "chat"
    assert (estimate["n_examples"], estimate["steps"], estimate["n_epochs"], estimate["seed"]) == (16, 3, 1, 7)
    assert 0 < estimate["total_tokens"] < estimate["tokens_per_epoch"]
    assert estimate["hyperparameters"]["batch_size"] == 3 and estimate["hyperparameters"]["learning_rate"] == 1e-3
    assert estimate["expected_duration_seconds"] is None and "has succeeded" in estimate["duration_unavailable"]
    assert estimate["cost"] == round(estimate["total_tokens"] / 1e6 * PRICE, 6)
    memory = estimate["memory"]
    assert memory["device"] == "cpu" and memory["fits"] is True and memory["sharded"] is False  # one process
    assert 0 < memory["trainable_parameters"] < memory["total_parameters"]
    assert memory["peak_bytes"] == memory["weights_bytes"] + memory["trainable_state_bytes"] + memory["activation_bytes"]
    assert api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"] == []  # an estimate creates nothing
    assert estimate["quota_problems"] == []

    created = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body)
    assert created.status_code == 200, created.text
    run_worker_until_idle(settings)
    done = api.get(f"/v1/fine_tuning/jobs/{created.json()['id']}", headers=ALPHA).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["trained_tokens"] == estimate["total_tokens"]
    assert done["progress"]["total_steps"] == estimate["steps"]
    assert done["hyperparameters"]["n_epochs"] == estimate["n_epochs"]

    # The succeeded job measured this deployment's throughput: estimates now state a duration. And other jobs of
    # the month leave one token of alpha's quota: the estimate says this job would take the month past it.
    async def leave_one_token() -> None:
        connection = redis.asyncio.Redis.from_url(settings.redis_url)
        used = await trained_tokens_this_month(connection, "alpha")
        assert used == done["trained_tokens"]  # the worker counted the job
        await add_trained_tokens(connection, "alpha", MONTHLY_TOKENS - used - 1)
        await connection.aclose()

    asyncio.run(leave_one_token())
    again = served_estimate(api, settings, body).json()
    assert again["quota_problems"] == [
        f"max_trained_tokens_per_month: this job's {estimate['total_tokens']:,} tokens are more than the 1 this month "
        "has left; it would be accepted, and later jobs refused once it succeeds"]
    assert again["total_tokens"] == estimate["total_tokens"]
    assert again["throughput"]["jobs"] == 1 and again["throughput"]["tokens_per_second"] > 0
    assert again["expected_duration_seconds"] > 0 and again["duration_unavailable"] is None
