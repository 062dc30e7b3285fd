"""`Idempotency-Key` on the POSTs that create something, against real Redis and a real store: a retry gets the
first answer, a different request with the same key a 409, and concurrent retries on two API replicas (two
app instances sharing only Redis and the store, as two pods do) make one object per key."""

import asyncio
import random

import httpx
import openai
import pytest

from tests.conftest import ALPHA, BETA
from tests.integration.test_api import CHAT, jsonl, upload
from tests.support.serving import live_server

BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_a_retried_create_returns_the_first_answer_and_a_different_one_is_refused(api):
    file_id = upload(api, jsonl(CHAT, CHAT)).json()["id"]
    body = {"model": BASE, "training_file": file_id, "suffix": "once"}
    first = api.post("/v1/fine_tuning/jobs", json=body, headers={**ALPHA, "Idempotency-Key": "k-1"})
    again = api.post("/v1/fine_tuning/jobs", json=body, headers={**ALPHA, "Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert [j["id"] for j in api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"]] == [first.json()["id"]]

    other = api.post("/v1/fine_tuning/jobs", json={**body, "suffix": "twice"}, headers={**ALPHA, "Idempotency-Key": "k-1"})
    assert other.status_code == 409 and other.headers["x-should-retry"] == "false"
    assert "Idempotency-Key 'k-1' was already used with a different request" in other.json()["error"]["message"]
    assert other.json()["error"]["code"] == "idempotency_key_reused"

    # Keys are the tenant's own: another tenant's k-1 is another request.
    beta_file = upload(api, jsonl(CHAT, CHAT), headers=BETA).json()["id"]
    theirs = api.post("/v1/fine_tuning/jobs", json={**body, "training_file": beta_file}, headers={**BETA, "Idempotency-Key": "k-1"})
    assert theirs.status_code == 200 and theirs.json()["id"] != first.json()["id"]

    # An answer that is an error is not kept: the corrected request may use the key.
    bad = api.post("/v1/fine_tuning/jobs", json={**body, "model": "nope"}, headers={**ALPHA, "Idempotency-Key": "k-2"})
    assert bad.status_code == 400
    fixed = api.post("/v1/fine_tuning/jobs", json=body, headers={**ALPHA, "Idempotency-Key": "k-2"})
    assert fixed.status_code == 200 and fixed.json()["id"] != first.json()["id"]

    bad_key = api.post("/v1/fine_tuning/jobs", json=body, headers={**ALPHA, "Idempotency-Key": "x" * 256})
    assert bad_key.status_code == 400 and bad_key.json()["error"]["param"] == "Idempotency-Key"


def test_a_retried_upload_makes_one_file_though_each_try_encodes_the_form_anew(api):
    client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0)
    content = jsonl(CHAT, CHAT)
    sent = [client.files.create(file=("train.jsonl", content), purpose="fine-tune",
                                extra_headers={"Idempotency-Key": "upload-1"}) for _ in range(2)]
    assert sent[0].id == sent[1].id and [f.id for f in client.files.list()] == [sent[0].id]
    with pytest.raises(openai.ConflictError, match="upload-1"):
        client.files.create(file=("train.jsonl", content + content), purpose="fine-tune",
                            extra_headers={"Idempotency-Key": "upload-1"})
    assert [f.id for f in client.files.list()] == [sent[0].id]


@pytest.mark.parametrize("settings", ["local"], indirect=True)
def test_a_thousand_concurrent_creates_with_fifty_keys_on_two_replicas_make_fifty_jobs(settings):
    from service.app import create_app

    with live_server(create_app(settings)) as one, live_server(create_app(settings)) as two:
        file_id = httpx.post(f"{one}/v1/files", headers=ALPHA, data={"purpose": "fine-tune"},
                             files={"file": ("train.jsonl", jsonl(CHAT, CHAT), "application/jsonl")}).json()["id"]
        requests = [(random.Random(i).choice([one, two]), f"key-{i % 50}") for i in range(1000)]

        async def create_all() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)  # no reuse racing keep-alive expiry
            async with httpx.AsyncClient(timeout=120, limits=limits) as client:
                return await asyncio.gather(*(
                    client.post(f"{url}/v1/fine_tuning/jobs", headers={**ALPHA, "Idempotency-Key": key},
                                json={"model": BASE, "training_file": file_id, "metadata": {"key": key}})
                    for url, key in requests
                ))

        answers = asyncio.run(create_all())
        refused = [(a.status_code, a.text[:300]) for a in answers if a.status_code != 200]
        assert not refused, (len(refused), refused[:3])
        by_key: dict[str, set[str]] = {}
        for (_, key), answer in zip(requests, answers):
            by_key.setdefault(key, set()).add(answer.json()["id"])
        assert len(by_key) == 50 and all(len(ids) == 1 for ids in by_key.values())
        listed = httpx.get(f"{two}/v1/fine_tuning/jobs", headers=ALPHA, params={"limit": 100}).json()["data"]
        assert sorted(j["id"] for j in listed) == sorted(next(iter(ids)) for ids in by_key.values())
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 950
