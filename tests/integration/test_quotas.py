"""Per-tenant quotas (FTAAS_QUOTAS) against real Redis, a real store and, for running jobs, real workers: a 429 in
OpenAI's shape naming the limit, `Retry-After` where waiting helps, and no limit passed by concurrent requests on
two API replicas (two app instances sharing only Redis and the store, as two pods do)."""

import asyncio
import json
import threading
import time

import httpx
import openai
import pytest
import redis
import redis.asyncio

from jobs.quotas import add_trained_tokens, seconds_to_next_month, trained_tokens_this_month
from tests.conftest import ALPHA, BETA, make_settings
from tests.integration.test_api import CHAT, jsonl, upload
from tests.support.serving import live_server
from tests.support.tasks import classification_examples

BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
FILE = jsonl(CHAT, CHAT)  # 2 examples: every upload below is this many bytes


@pytest.fixture
def settings(request, tmp_path, cache_dir, redis_url):
    """Alpha's quotas are the test's (`@pytest.mark.parametrize("settings", [{...}], indirect=True)`); beta has none."""
    redis.Redis.from_url(redis_url).flushdb()
    quotas = {"tenants": {"alpha": request.param}}
    return make_settings(f"file://{tmp_path}/store", cache_dir, quotas=json.dumps(quotas))


def refused(answer: httpx.Response, quota: str) -> dict:
    assert answer.status_code == 429, answer.text
    error = answer.json()["error"]
    assert error["type"] == "insufficient_quota" and error["code"] == quota and quota in error["message"]
    assert answer.headers["x-should-retry"] == "false"  # the same request gets the same answer until something ends
    return error


def sdk(url: str, key: str = "sk-alpha", **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, _strict_response_validation=True, **options)


@pytest.mark.parametrize("settings", [{"max_requests_per_minute": 6}], indirect=True)
def test_requests_per_minute_are_counted_across_replicas(settings):
    from service.app import create_app

    with live_server(create_app(settings)) as one, live_server(create_app(settings)) as two:
        if (wait := 60 - time.time() % 60) < 10:  # the window is the clock minute: start the count in a fresh one
            time.sleep(wait)
        answers = [httpx.get(f"{url}/v1/files", headers=ALPHA) for url in (one, two, one, two, one, two)]
        assert [a.status_code for a in answers] == [200] * 6
        assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["5", "4", "3", "2", "1", "0"]
        assert all(a.headers["x-ratelimit-limit-requests"] == "6" for a in answers)

        over = httpx.get(f"{two}/v1/files", headers=ALPHA)
        assert over.status_code == 429
        error = over.json()["error"]
        assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"
        assert "at most 6 requests per minute (quota max_requests_per_minute)" in error["message"]
        assert 1 <= int(over.headers["retry-after"]) <= 60 and "x-should-retry" not in over.headers
        with pytest.raises(openai.RateLimitError, match="max_requests_per_minute"):
            sdk(one, max_retries=0).files.list()
        # another tenant, and the probes, are not counted against alpha
        assert httpx.get(f"{one}/v1/files", headers=BETA).status_code == 200
        assert "x-ratelimit-limit-requests" not in httpx.get(f"{one}/v1/files", headers=BETA).headers
        assert httpx.get(f"{one}/healthz").status_code == 200


@pytest.mark.parametrize("settings", [{"max_stored_bytes": 3 * len(FILE)}], indirect=True)
def test_stored_bytes_are_limited_under_concurrent_uploads_and_freed_by_deleting(settings):
    from service.app import create_app

    with live_server(create_app(settings)) as one, live_server(create_app(settings)) as two:
        async def upload_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as client:
                return await asyncio.gather(*(
                    client.post(f"{url}/v1/files", headers=ALPHA, data={"purpose": "fine-tune"},
                                files={"file": ("train.jsonl", FILE, "application/jsonl")})
                    for url in [one, two] * 4
                ))

        answers = asyncio.run(upload_all())
        kept = [a.json()["id"] for a in answers if a.status_code == 200]
        assert len(kept) == 3, [a.text for a in answers]
        error = refused(next(a for a in answers if a.status_code != 200), "max_stored_bytes")
        assert "delete files you no longer need" in error["message"]
        assert "retry-after" not in next(a for a in answers if a.status_code != 200).headers
        listed = httpx.get(f"{one}/v1/files", headers=ALPHA).json()["data"]
        assert sorted(f["id"] for f in listed) == sorted(kept)  # nothing half-stored for the refused ones

        client = sdk(two)
        with pytest.raises(openai.RateLimitError, match="max_stored_bytes"):
            client.files.create(file=("train.jsonl", FILE), purpose="fine-tune")
        client.files.delete(kept[0])
        assert client.files.create(file=("train.jsonl", FILE), purpose="fine-tune").bytes == len(FILE)
        assert httpx.post(f"{one}/v1/files", headers=BETA, data={"purpose": "fine-tune"},
                          files={"file": ("train.jsonl", FILE * 10, "application/jsonl")}).status_code == 200


@pytest.mark.parametrize("settings", [{"max_queued_jobs": 3}], indirect=True)
def test_queued_jobs_are_limited_under_concurrent_creates_on_two_replicas(settings):
    from service.app import create_app

    with live_server(create_app(settings)) as one, live_server(create_app(settings)) as two:
        file_id = httpx.post(f"{one}/v1/files", headers=ALPHA, data={"purpose": "fine-tune"},
                             files={"file": ("train.jsonl", FILE, "application/jsonl")}).json()["id"]
        body = {"model": BASE, "training_file": file_id}

        async def create_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as client:
                return await asyncio.gather(*(client.post(f"{url}/v1/fine_tuning/jobs", headers=ALPHA, json=body)
                                              for url in [one, two] * 6))

        answers = asyncio.run(create_all())
        created = [a.json()["id"] for a in answers if a.status_code == 200]
        assert len(created) == 3, [a.text for a in answers]
        over = next(a for a in answers if a.status_code != 200)
        error = refused(over, "max_queued_jobs")
        assert "you have 3 jobs waiting (queued or paused), the limit of max_queued_jobs (3)" in error["message"]
        assert over.headers["retry-after"] == "60"  # waiting helps: a job that starts leaves the queue
        listed = httpx.get(f"{two}/v1/fine_tuning/jobs", headers=ALPHA).json()["data"]
        assert sorted(j["id"] for j in listed) == sorted(created)

        client = sdk(one)
        with pytest.raises(openai.RateLimitError, match="max_queued_jobs"):
            client.fine_tuning.jobs.create(model=BASE, training_file=file_id)
        client.fine_tuning.jobs.cancel(created[0])  # an ended job frees its place
        assert client.fine_tuning.jobs.create(model=BASE, training_file=file_id).status == "queued"
        beta_file = upload_via(one, BETA)
        assert httpx.post(f"{one}/v1/fine_tuning/jobs", headers=BETA,
                          json={"model": BASE, "training_file": beta_file}).status_code == 200


def upload_via(url: str, headers: dict) -> str:
    return httpx.post(f"{url}/v1/files", headers=headers, data={"purpose": "fine-tune"},
                      files={"file": ("train.jsonl", FILE, "application/jsonl")}).json()["id"]


@pytest.mark.parametrize("settings", [{"max_trained_tokens_per_month": 5000}], indirect=True)
def test_a_month_of_trained_tokens_refuses_new_jobs_until_the_next_month(api, settings):
    file_id = upload(api, FILE).json()["id"]
    body = {"model": BASE, "training_file": file_id}
    r = redis.Redis.from_url(settings.redis_url)
    assert api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body).status_code == 200

    # what the workers add as alpha's jobs succeed (test_running_jobs_... checks that they do)
    asyncio.run(add_trained_tokens(redis.asyncio.Redis.from_url(settings.redis_url), "alpha", 5000))
    over = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body)
    error = refused(over, "max_trained_tokens_per_month")
    assert "have trained 5,000 tokens this month" in error["message"]
    assert abs(int(over.headers["retry-after"]) - seconds_to_next_month()) <= 5
    last_month = time.time() - 40 * 24 * 3600  # tokens of another month do not count
    r.flushdb()
    asyncio.run(add_trained_tokens(redis.asyncio.Redis.from_url(settings.redis_url), "alpha", 5000, at=last_month))
    assert api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body).status_code == 200


def run_workers_until_idle(settings, count: int) -> None:
    from jobs.worker import create_worker

    async def burst() -> None:
        workers = [create_worker(settings, burst=True) for _ in range(count)]  # inside the loop they run on
        try:
            await asyncio.gather(*(worker.main() for worker in workers))
        finally:
            for worker in workers:
                await worker.close()

    asyncio.run(burst())


@pytest.mark.slow
@pytest.mark.parametrize("settings", [{"max_running_jobs": 1}], indirect=True)
def test_a_job_beyond_max_running_jobs_waits_queued_until_the_running_one_ends(api, settings):
    file_id = upload(api, jsonl(*classification_examples(8, seed=1))).json()["id"]
    body = {"model": BASE, "training_file": file_id, "hyperparameters": {"n_epochs": 1, "batch_size": 4}}
    first, second = (api.post("/v1/fine_tuning/jobs", headers=ALPHA, json=body).json()["id"] for _ in range(2))

    workers = threading.Thread(target=run_workers_until_idle, args=(settings, 2))  # two free workers, one may run
    workers.start()
    waited = None  # (the job that waited, the other's status meanwhile)
    while workers.is_alive() and waited is None:
        for job_id, other in ((first, second), (second, first)):
            job = api.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALPHA).json()
            if job["status"] == "queued" and job.get("queue_position") == 1 and any(
                e["message"].startswith("Waiting: 1 of your jobs are running") for e in
                api.get(f"/v1/fine_tuning/jobs/{job_id}/events", headers=ALPHA).json()["data"]
            ):
                waited = job_id, api.get(f"/v1/fine_tuning/jobs/{other}", headers=ALPHA).json()["status"]
        time.sleep(0.5)
    workers.join()

    assert waited is not None and waited[1] in ("validating_files", "running")  # one waited while the other ran
    done = {job_id: api.get(f"/v1/fine_tuning/jobs/{job_id}", headers=ALPHA).json() for job_id in (first, second)}
    assert [j["status"] for j in done.values()] == ["succeeded", "succeeded"], [j["error"] for j in done.values()]
    ran_first = first if waited[0] == second else second
    events = api.get(f"/v1/fine_tuning/jobs/{waited[0]}/events", headers=ALPHA).json()["data"]
    started = next(e["created_at"] for e in events if e["message"] == "Fine-tuning job started")
    assert started >= done[ran_first]["finished_at"]
    used = asyncio.run(trained_tokens_this_month(redis.asyncio.Redis.from_url(settings.redis_url), "alpha"))
    assert used == sum(j["trained_tokens"] for j in done.values())  # each success counted once
