"""Errors as a client sees them: outages of the store and of Redis are 503s with Retry-After (then 200s again),
every response carries a request id, 5xx are logged with it, and Litestar's own errors keep OpenAI's shape."""

import json
import logging
import time
import uuid

import boto3
import pytest
import redis
from litestar.testing import TestClient

from jobs.catalog import DEFAULT_MODEL_ID
from service.app import create_app
from service.inference.protocol import ChatCompletionRequest
from service.logs import JsonFormatter
from tests.conftest import ALPHA, TEST_REDIS_URL, make_settings
from tests.support.faults import redis_proxy, s3_proxy  # noqa: F401 - fixtures

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
TRAINING_FILE = (json.dumps(CHAT) + "\n").encode() * 2


def upload(client: TestClient) -> dict:
    r = client.post("/v1/files", files={"file": ("t.jsonl", TRAINING_FILE, "application/jsonl")},
                    data={"purpose": "fine-tune"}, headers=ALPHA)
    assert r.status_code == 200, r.text
    return r.json()


def create_job(client: TestClient, file_id: str):
    return client.post("/v1/fine_tuning/jobs", json={"model": DEFAULT_MODEL_ID, "training_file": file_id}, headers=ALPHA)


def assert_unavailable(response, code: str) -> dict:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-request-id"]
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == code
    return error


@pytest.fixture
def s3_api(s3_proxy, s3_endpoint, cache_dir, redis_url):
    """The API on an S3 store reached through a cuttable proxy."""
    redis.Redis.from_url(redis_url).flushdb()
    bucket = f"ftaas-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings = make_settings(f"s3://{bucket}/ftaas", cache_dir, s3_endpoint_url=s3_proxy.url, s3_region="us-east-1")
    with TestClient(create_app(settings)) as client:
        yield client


def test_store_outage_is_503_with_retry_after_then_recovers(s3_api, s3_proxy, caplog):
    file = upload(s3_api)
    job = create_job(s3_api, file["id"]).json()
    calls = {
        "list files": lambda: s3_api.get("/v1/files", headers=ALPHA),
        "get file": lambda: s3_api.get(f"/v1/files/{file['id']}", headers=ALPHA),
        "get job": lambda: s3_api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA),
        "create job": lambda: create_job(s3_api, file["id"]),
    }

    s3_proxy.cut()
    with caplog.at_level(logging.WARNING, logger="service.errors"):
        for name, call in calls.items():
            response = call()
            error = assert_unavailable(response, "store_unavailable")
            assert "object store" in error["message"] and "retry" in error["message"], name
            logged = [r for r in caplog.records if getattr(r, "request_id", None) == response.headers["x-request-id"]]
            assert len(logged) == 1 and logged[0].status == 503, name
    degraded = s3_api.get("/readyz")  # the pod stays in the Service, answering 503s with a body (service/health.py)
    assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    assert degraded.json()["checks"]["store"].startswith("unreachable")

    s3_proxy.restore()
    for name, call in calls.items():
        assert call().status_code == 200, name
    assert s3_api.get("/readyz").json()["status"] == "ready"


def test_serving_answers_a_store_outage_with_503_json(s3_proxy, s3_endpoint, cache_dir):
    from service.inference.app import create_serving_app  # imports torch

    bucket = f"ftaas-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings = make_settings(f"s3://{bucket}/ftaas", cache_dir, s3_endpoint_url=s3_proxy.url, s3_region="us-east-1")
    body = {"model": f"ft:{DEFAULT_MODEL_ID}:pirate:abcd1234", "messages": [{"role": "user", "content": "hi"}]}
    with TestClient(create_serving_app(settings)) as serving:
        deadline = time.monotonic() + 120
        while serving.get("/readyz").status_code != 200:  # the base model loads in the background
            assert time.monotonic() < deadline, serving.get("/readyz").text
            time.sleep(0.2)
        s3_proxy.cut()
        assert_unavailable(serving.post("/v1/chat/completions", json=body, headers=ALPHA), "store_unavailable")
        assert_unavailable(serving.get("/readyz"), "store_unavailable")
        s3_proxy.restore()
        error = serving.post("/v1/chat/completions", json=body, headers=ALPHA).json()["error"]
        assert error["code"] == "model_not_found"


@pytest.fixture
def redis_api(redis_proxy, tmp_path, cache_dir, redis_url):
    """The API with Redis reached through a cuttable proxy (a local-folder store)."""
    redis.Redis.from_url(redis_url).flushdb()
    db = TEST_REDIS_URL.rsplit("/", 1)[1]
    settings = make_settings(f"file://{tmp_path}/store", cache_dir, redis_url=f"redis://127.0.0.1:{redis_proxy.port}/{db}")
    with TestClient(create_app(settings)) as client:
        yield client


def test_redis_outage_is_503_with_retry_after_then_recovers(redis_api, redis_proxy):
    file = upload(redis_api)
    job = create_job(redis_api, file["id"]).json()

    redis_proxy.cut()
    assert_unavailable(redis_api.get(f"/v1/fine_tuning/jobs/{job['id']}/events", headers=ALPHA), "queue_unavailable")
    assert_unavailable(create_job(redis_api, file["id"]), "queue_unavailable")

    redis_proxy.restore()
    assert redis_api.get(f"/v1/fine_tuning/jobs/{job['id']}/events", headers=ALPHA).status_code == 200
    assert create_job(redis_api, file["id"]).status_code == 200


@pytest.fixture
def api(tmp_path, cache_dir, redis_url):
    """The API on a local-folder store (these tests are about the HTTP layer, not the store back-end)."""
    redis.Redis.from_url(redis_url).flushdb()
    with TestClient(create_app(make_settings(f"file://{tmp_path}/store", cache_dir))) as client:
        yield client


def test_unexpected_errors_are_logged_once_with_the_request_id_and_no_secret(api, monkeypatch, caplog):
    from service.models import service as models_service

    async def broken(*_):
        raise RuntimeError("boom (redis://user:hunter2@redis:6379/0, Bearer sk-alpha)")

    monkeypatch.setattr(models_service, "list_models", broken)
    with caplog.at_level(logging.ERROR, logger="service.errors"):
        r = api.get("/v1/models", headers={**ALPHA, "x-request-id": "client-chosen.id-1"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "client-chosen.id-1"
    error = r.json()["error"]
    assert error["code"] == "internal_error" and "client-chosen.id-1" in error["message"] and "boom" not in error["message"]

    (record,) = caplog.records
    line = JsonFormatter().format(record)
    assert "\n" not in line and "hunter2" not in line and "sk-alpha" not in line
    entry = json.loads(line)
    assert (entry["request_id"], entry["method"], entry["path"], entry["status"]) == ("client-chosen.id-1", "GET", "/v1/models", 500)
    assert "RuntimeError" in entry["error"] and "Traceback" in entry["exc"]


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "bad id\twith spaces", "ünïcode"])
def test_a_missing_or_malformed_request_id_is_replaced(api, sent):
    headers = {**ALPHA, "x-request-id": sent} if sent is not None else ALPHA
    r = api.get("/v1/models", headers={k: v.encode() if k == "x-request-id" else v for k, v in headers.items()})
    assert r.status_code == 200
    assert r.headers["x-request-id"] != sent and len(r.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nowhere", 404, "not_found"),
        ("DELETE", "/v1/models", 405, "method_not_allowed"),
        ("GET", "/v1/fine_tuning/jobs?limit=0", 400, "invalid_request"),
        ("GET", "/v1/fine_tuning/jobs?limit=" + "9" * 5000, 400, "invalid_request"),
        ("GET", "/v1/models", 401, "invalid_api_key"),
    ],
)
def test_litestar_errors_keep_the_openai_shape_and_the_request_id(api, method, path, status, code):
    headers = {} if status == 401 else ALPHA
    r = api.request(method, path, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["x-request-id"]
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and set(error) == {"message", "type", "param", "code"}


def test_an_empty_after_means_the_first_page(api):
    job = create_job(api, upload(api)["id"]).json()
    for path in ("/v1/fine_tuning/jobs", f"/v1/fine_tuning/jobs/{job['id']}/events", f"/v1/fine_tuning/jobs/{job['id']}/checkpoints"):
        first_page = api.get(path, headers=ALPHA)
        assert first_page.status_code == 200, first_page.text
        assert api.get(path + "?after=", headers=ALPHA).json() == first_page.json()


def test_top_p_zero_is_accepted_and_means_greedy(api):
    body = {"model": DEFAULT_MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "top_p": 0}
    assert ChatCompletionRequest.model_validate(body).greedy
    # Valid, so it is forwarded; no serving process runs here.
    assert_unavailable(api.post("/v1/chat/completions", json=body, headers=ALPHA), "inference_unavailable")
