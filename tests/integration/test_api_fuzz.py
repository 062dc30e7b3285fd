"""Schemathesis against the API's ASGI app (real Redis, local-folder store): no generated request gets a 5xx.

Every operation of the document except inference (it needs the serving process) gets schema-valid and
schema-invalid requests (schemathesis' examples, coverage and fuzzing phases) as the tenant `alpha`.
Every answer must be a status the document declares, with the declared content type and shape. Some
generated ids and bodies are swapped for a real file and job, so the happy paths are checked too.
"""

import json
from collections import Counter

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jobs.catalog import DEFAULT_MODEL_ID
from service.app import create_app
from service.openapi_export import openapi_document
from tests.conftest import ALPHA, make_settings

MIN_REQUESTS = 1000
EXAMPLES_PER_OPERATION = 100
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}

# The document the app serves (test_contract checks it is openapi/openapi.json), built without connecting to anything.
schema = schemathesis.openapi.from_dict(openapi_document()).exclude(tag="inference")
# Ids of real objects, created by the `app` fixture before any request is generated.
REAL: dict[str, str] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict | None) -> st.SearchStrategy:
    real = {k: REAL[k] for k in path_parameters or () if k in REAL}
    return st.sampled_from([path_parameters, {**path_parameters, **real}]) if real else st.just(path_parameters)


@schema.hook
def flatmap_body(context, body):
    if context.operation.label != "POST /v1/fine_tuning/jobs" or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, {**body, "model": DEFAULT_MODEL_ID, "training_file": REAL["file_id"]}])


@pytest.fixture(scope="module")
def app(tmp_path_factory, cache_dir, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    store = tmp_path_factory.mktemp("fuzz") / "store"
    app = create_app(make_settings(f"file://{store}", cache_dir))
    with TestClient(app) as client:  # its own lifespan; schemathesis starts another one for the run
        body = (json.dumps(CHAT) + "\n").encode()
        file = client.post("/v1/files", files={"file": ("t.jsonl", body)}, data={"purpose": "fine-tune"}, headers=ALPHA)
        job = client.post("/v1/fine_tuning/jobs", json={"model": DEFAULT_MODEL_ID, "training_file": file.json()["id"]},
                          headers=ALPHA)
        REAL.update(file_id=file.json()["id"], fine_tuning_job_id=job.json()["id"], model_id=DEFAULT_MODEL_ID)
    return app


@pytest.fixture(scope="module")
def requests_sent():
    """Requests per operation; after the run, at least MIN_REQUESTS in all."""
    sent: Counter[str] = Counter()
    yield sent
    assert sum(sent.values()) >= MIN_REQUESTS, f"only {sum(sent.values())} requests were generated: {dict(sent)}"


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, app, requests_sent):
    requests_sent[case.operation.label] += 1
    case.call_and_validate(app=app, headers=ALPHA, checks=CHECKS)
