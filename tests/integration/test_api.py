"""The API against real Redis and both store back-ends: uploads, job records, errors, isolation."""

import json

import pytest

from jobs import keys
from jobs.store import open_store
from tests.conftest import ALPHA, BETA

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def jsonl(*rows) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def upload(api, body: bytes, headers=ALPHA, purpose="fine-tune", name="train.jsonl"):
    return api.post("/v1/files", files={"file": (name, body, "application/jsonl")}, data={"purpose": purpose}, headers=headers)


def store_of(api):
    s = api.app.state.settings
    return open_store(s.store_url, s.s3_endpoint_url, s.s3_region)


def test_upload_is_stored_and_readable(api):
    body = jsonl(CHAT, CHAT, CHAT)
    r = upload(api, body)
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["id"].startswith("file-") and f["object"] == "file" and f["bytes"] == len(body)
    assert f["status"] == "processed" and f["purpose"] == "fine-tune" and f["filename"] == "train.jsonl"
    assert api.get(f"/v1/files/{f['id']}", headers=ALPHA).json() == f
    assert api.get(f"/v1/files/{f['id']}/content", headers=ALPHA).content == body
    assert store_of(api).get_bytes(keys.file_content("alpha", f["id"])) == body
    assert [x["id"] for x in api.get("/v1/files", headers=ALPHA).json()["data"]] == [f["id"]]


def test_malformed_jsonl_is_rejected_with_line_numbers_and_nothing_written(api):
    body = CHAT_LINE = json.dumps(CHAT).encode() + b"\n"
    body = CHAT_LINE + b"{not json\n" + json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode() + b"\n"
    r = upload(api, body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "file" and err["code"] == "invalid_file"
    assert "line 2: not valid JSON" in err["message"] and "line 3: no assistant message" in err["message"]
    assert list(store_of(api).list_keys("alpha/")) == []
    assert api.get("/v1/files", headers=ALPHA).json()["data"] == []


@pytest.mark.parametrize("body", [b"", b"\n\n"])
def test_empty_file_is_rejected(api, body):
    r = upload(api, body)
    assert r.status_code == 400 and "no examples" in r.json()["error"]["message"]


def test_wrong_purpose_and_missing_part(api):
    r = upload(api, jsonl(CHAT), purpose="assistants")
    assert r.status_code == 400 and r.json()["error"]["param"] == "purpose"
    r = api.post("/v1/files", data={"purpose": "fine-tune"}, headers=ALPHA)
    assert r.status_code == 400 and "error" in r.json()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic sk-alpha"}])
def test_wrong_or_missing_key_is_401(api, headers):
    r = api.get("/v1/models", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_create_job_reports_every_problem_at_once(api):
    r = api.post(
        "/v1/fine_tuning/jobs",
        json={"model": "gpt-17", "training_file": "file-missing", "hyperparameters": {"n_epochs": 0, "batch_size": "x"},
              "training_type": {"type": "lora", "r": 0}},
        headers=ALPHA,
    )
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    for expected in ("unknown model 'gpt-17'", "HuggingFaceTB/SmolLM2-135M-Instruct", "no file 'file-missing'",
                     "hyperparameters.n_epochs", "hyperparameters.batch_size", "training_type.r"):
        assert expected in message, message
    assert r.json()["error"]["param"] == "model"
    assert api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"] == []


def test_create_job_refuses_compute_this_deployment_cannot_run_with_every_problem_listed(api):
    file_id = upload(api, jsonl(CHAT, CHAT)).json()["id"]
    r = api.post(
        "/v1/fine_tuning/jobs",
        json={"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": file_id, "training_type": {"type": "qlora"},
              "hyperparameters": {"n_epochs": 0}, "compute": {"num_nodes": 2, "num_proc_per_node": 2, "strategy": "fsdp"}},
        headers=ALPHA,
    )
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    for expected in ("4 problems", "hyperparameters.n_epochs", "compute.strategy: strategy 'fsdp' cannot train qlora",
                     "compute.num_nodes: training across 2 nodes needs Kubeflow Trainer",
                     "compute.num_proc_per_node: this deployment's workers run at most 1 training process per node"):
        assert expected in message, message
    assert api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"] == []


def test_the_job_keeps_and_shows_its_compute_block(api):
    job = create_job(api, compute={"num_proc_per_node": 1, "strategy": "ddp"})
    assert job["compute"] == {"num_nodes": 1, "num_proc_per_node": 1, "strategy": "ddp"}
    assert api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json()["compute"] == job["compute"]
    assert create_job(api)["compute"] == {"num_nodes": 1, "num_proc_per_node": "auto", "strategy": "auto"}


def test_with_kubeflow_configured_multi_node_jobs_are_refused_until_the_worker_submits_them(tmp_path, cache_dir, redis_url):
    from litestar.testing import TestClient

    from service.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        f"file://{tmp_path}/store", cache_dir, kubeflow_enabled=True, kubeflow_image="ftaas:test",
        kubeflow_config_map="ftaas", kubeflow_secret_refs=json.dumps({"FTAAS_REDIS_URL": "ftaas/redis-url"}),
        kubeflow_resources_per_node=json.dumps({"limits": {"nvidia.com/gpu": 4}}),
    )
    with TestClient(create_app(settings)) as client:
        file_id = upload(client, jsonl(CHAT, CHAT)).json()["id"]
        r = client.post("/v1/fine_tuning/jobs", json={"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": file_id,
                                                      "compute": {"num_nodes": 2, "num_proc_per_node": 8}}, headers=ALPHA)
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert "Kubeflow training node of this deployment runs at most 4" in message
        assert "num_nodes" not in message  # Kubeflow is configured: two nodes are fine, eight processes each are not


def test_files_that_do_not_suit_the_method_are_rejected_at_create_time(api):
    text = upload(api, jsonl({"text": "Plain prose for continued pre-training."})).json()
    labelled = upload(api, jsonl({"text": "great", "label": "pos"}, {"text": "awful", "label": "neg"})).json()
    assert (text["format"], labelled["format"]) == ("text", "classification")
    r = api.post(
        "/v1/fine_tuning/jobs",
        json={"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": text["id"], "validation_file": labelled["id"],
              "method": {"type": "dpo", "dpo": {"hyperparameters": {"class_weights": "balanced"}}},
              "training_type": {"type": "prompt_tuning"}},
        headers=ALPHA,
    )
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    for expected in ("training_file: method 'dpo' trains on preference examples", "this is a text file",
                     "class_weights applies to classification files", "validation_file: the validation file is a classification file"):
        assert expected in message, message
    assert api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"] == []


def test_create_job_bad_json_body(api):
    r = api.post("/v1/fine_tuning/jobs", content=b"{nope", headers={**ALPHA, "content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = api.post("/v1/fine_tuning/jobs", json=[1, 2], headers=ALPHA)
    assert r.status_code == 400 and "JSON object" in r.json()["error"]["message"]


def create_job(api, headers=ALPHA, **extra):
    file_id = upload(api, jsonl(CHAT, CHAT), headers=headers).json()["id"]
    r = api.post(
        "/v1/fine_tuning/jobs",
        json={"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": file_id, **extra},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_job_is_created_queued_and_listed_with_cursor(api):
    jobs = [create_job(api, suffix=f"s{i}", metadata={"i": str(i)}) for i in range(3)]
    job = jobs[0]
    assert job["id"].startswith("ftjob-") and job["object"] == "fine_tuning.job"
    assert job["status"] == "queued" and job["fine_tuned_model"] is None  # its files were checked at upload
    assert job["hyperparameters"] == {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
    assert isinstance(job["seed"], int) and job["user_provided_suffix"] == "s0" and job["metadata"] == {"i": "0"}
    assert api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=ALPHA).json() == job
    assert [j["queue_position"] for j in jobs] == [1, 2, 3]  # no worker has taken any

    page = api.get("/v1/fine_tuning/jobs", params={"limit": 2}, headers=ALPHA).json()
    assert page["has_more"] is True and len(page["data"]) == 2
    rest = api.get("/v1/fine_tuning/jobs", params={"limit": 2, "after": page["data"][-1]["id"]}, headers=ALPHA).json()
    assert rest["has_more"] is False
    assert {j["id"] for j in page["data"] + rest["data"]} == {j["id"] for j in jobs}

    events = api.get(f"/v1/fine_tuning/jobs/{job['id']}/events", headers=ALPHA).json()
    assert events["data"][0]["message"] == f"Created fine-tuning job: {job['id']}"
    assert events["data"][0]["id"].startswith("ftevent-")


def test_cancel_queued_job_then_cancel_again_conflicts(api):
    job = create_job(api)
    r = api.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel", headers=ALPHA)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["finished_at"]
    r = api.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel", headers=ALPHA)
    assert r.status_code == 409 and "already cancelled" in r.json()["error"]["message"]


def test_the_openai_sdk_does_not_retry_an_answer_that_a_retry_cannot_change(api):
    """OpenAI's SDKs retry a 409 (and 408, 429, 5xx) unless the answer says `x-should-retry: false`."""
    import openai

    job = create_job(api)
    assert api.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel", headers=ALPHA).status_code == 200
    sent = []
    api.event_hooks["request"].append(sent.append)
    client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api)  # 2 retries by default
    with pytest.raises(openai.ConflictError, match="already cancelled") as conflict:
        client.fine_tuning.jobs.cancel(job["id"])
    assert len(sent) == 1 and conflict.value.response.headers["x-should-retry"] == "false"
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-doesnotexist")
    assert len(sent) == 2
    assert conflict.value.request_id == conflict.value.response.headers["x-request-id"] != ""


def test_files_list_pages_orders_and_filters_as_the_openai_sdk_asks(api):
    import openai

    uploaded = {upload(api, jsonl(CHAT), name=f"train-{i}.jsonl").json()["id"] for i in range(3)}
    client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0)
    newest_first = [f.id for f in client.files.list().data]  # by creation time (seconds), then id
    assert set(newest_first) == uploaded
    first = client.files.list(limit=1)
    assert [f.id for f in first.data] == newest_first[:1] and first.has_more is True
    assert [f.id for f in client.files.list(limit=1)] == newest_first  # the SDK follows `after` page by page
    oldest_first = newest_first[::-1]
    assert [f.id for f in client.files.list(order="asc", limit=2).data] == oldest_first[:2]
    assert [f.id for f in client.files.list(order="asc", after=oldest_first[0]).data] == oldest_first[1:]
    assert client.files.list(purpose="fine-tune-results").data == []
    assert [f.id for f in client.files.list(purpose="fine-tune").data] == newest_first
    page = api.get("/v1/files", params={"limit": 2}, headers=ALPHA).json()
    assert (page["first_id"], page["last_id"], page["has_more"]) == (*newest_first[:2], True)
    with pytest.raises(openai.BadRequestError, match="'after' names no file"):
        client.files.list(after="file-nope")
    with pytest.raises(openai.BadRequestError):
        client.files.list(limit=0)


def test_jobs_list_filters_by_metadata_as_the_openai_sdk_sends_it(api):
    import openai

    red = [create_job(api, metadata={"team": "red", "run": str(i)})["id"] for i in range(3)]
    blue = create_job(api, metadata={"team": "blue", "run": "0"})["id"]
    create_job(api)
    client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0)
    assert {j.id for j in client.fine_tuning.jobs.list(metadata={"team": "red"})} == set(red)  # all pages
    page = client.fine_tuning.jobs.list(metadata={"team": "red"}, limit=2)
    assert len(page.data) == 2 and page.has_more is True and set(j.id for j in page.data) < set(red)
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "blue", "run": "0"}).data] == [blue]
    assert client.fine_tuning.jobs.list(metadata={"team": "green"}).data == []
    r = api.get("/v1/fine_tuning/jobs", params={"metadata[]": "x"}, headers=ALPHA)
    assert r.status_code == 400 and "metadata[KEY]=VALUE" in r.json()["error"]["message"]


def test_tenants_never_see_each_other(api):
    job = create_job(api)
    file_id = job["training_file"]
    assert api.get(f"/v1/fine_tuning/jobs/{job['id']}", headers=BETA).status_code == 404
    assert api.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel", headers=BETA).status_code == 404
    assert api.get(f"/v1/fine_tuning/jobs/{job['id']}/events", headers=BETA).status_code == 404
    assert api.get(f"/v1/files/{file_id}", headers=BETA).status_code == 404
    assert api.get(f"/v1/files/{file_id}/content", headers=BETA).status_code == 404
    assert api.get("/v1/fine_tuning/jobs", headers=BETA).json()["data"] == []
    # beta cannot train on alpha's file either
    r = api.post("/v1/fine_tuning/jobs", json={"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": file_id},
                 headers=BETA)
    assert r.status_code == 400 and f"no file '{file_id}'" in r.json()["error"]["message"]


def test_job_index_is_rebuilt_from_the_store_when_redis_loses_it(api):
    import redis

    job = create_job(api)
    client = redis.Redis.from_url(api.app.state.settings.redis_url)
    client.delete("ftaas:tenant:alpha:jobs", "ftaas:tenant:alpha:jobs:built")
    assert [j["id"] for j in api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"]] == [job["id"]]


def test_models_lists_the_catalog_and_unknown_model_is_404(api):
    data = api.get("/v1/models", headers=ALPHA).json()["data"]
    assert [m["id"] for m in data] == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    assert api.get("/v1/models/HuggingFaceTB/SmolLM2-135M-Instruct", headers=ALPHA).json()["owned_by"] == "ftaas"
    r = api.get("/v1/models/ft:nope:x:12345678", headers=ALPHA)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_health_ready_and_metrics(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"redis": "ok", "store": "ok"}
    api.get("/v1/models", headers=ALPHA)
    text = api.get("/metrics").text
    assert 'ftaas_api_requests_total{method="GET",route="/v1/models",status="200"}' in text


def test_inference_without_a_serving_process_is_503(api):
    body = {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "hi"}]}
    r = api.post("/v1/chat/completions", json=body, headers=ALPHA)
    assert r.status_code == 503 and "ftaas serve" in r.json()["error"]["message"]


def test_inference_for_an_unknown_or_foreign_model_is_404_before_any_engine(api):
    for model in ("x", "ft:HuggingFaceTB/SmolLM2-135M-Instruct:theirs:abcd1234"):
        r = api.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, headers=ALPHA)
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found", r.text


def test_inference_bodies_are_validated_before_forwarding(api):
    r = api.post("/v1/chat/completions", json={"model": "x", "messages": "hi", "stream": True}, headers=ALPHA)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_a_conversation_opening_with_the_assistant_is_rejected_at_upload(api):
    opening = {"messages": [{"role": "assistant", "content": "hello"}, {"role": "user", "content": "hi"}]}
    r = upload(api, jsonl(CHAT, opening))
    assert r.status_code == 400 and "line 2: the first message is from the assistant" in r.json()["error"]["message"]


def test_a_waiting_job_pauses_at_once_and_resumes_into_the_queue_through_the_openai_sdk(api, redis_url):
    """No worker holds it: pause writes `paused` at once (shown as OpenAI's `queued` with `paused: true`), resume
    queues it again; answers a retry cannot change are 409s. A job a worker holds only gets the request
    (tests/integration/test_worker.py pauses a running one)."""
    import openai
    import redis

    from jobs.keys import RedisKeys

    client = openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0,
                           _strict_response_validation=True)  # every answer must parse under the SDK's types
    job = create_job(api)
    behind = create_job(api)
    assert behind["queue_position"] == 2
    paused = client.fine_tuning.jobs.pause(job["id"])
    assert paused.status == "queued" and paused.model_extra["paused"] is True and paused.model_extra["paused_at"]
    assert paused.model_extra["queue_position"] is None  # a paused job leaves the queue
    assert client.fine_tuning.jobs.retrieve(behind["id"]).model_extra["queue_position"] == 1
    assert client.fine_tuning.jobs.pause(job["id"]).model_extra["paused"] is True  # pausing again changes nothing
    assert client.fine_tuning.jobs.retrieve(job["id"]).model_extra["paused"] is True
    assert any(j.id == job["id"] and j.model_extra["paused"] for j in client.fine_tuning.jobs.list())

    queue = redis.Redis.from_url(redis_url)
    resumed = client.fine_tuning.jobs.resume(job["id"])
    assert resumed.status == "queued" and resumed.model_extra["paused"] is False
    assert resumed.model_extra["queue_position"] == 2  # at the end of the queue
    assert queue.zscore(api.app.state.settings.queue_name, job["id"]) is not None  # waiting for a worker
    assert not queue.exists(RedisKeys.job_pause(job["id"]))
    with pytest.raises(openai.ConflictError, match="only paused jobs can be resumed"):
        client.fine_tuning.jobs.resume(job["id"])
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job["id"])]
    assert messages[:2] == ["Job resumed by request: queued", "Job paused by request before a worker took it; resume "
                            "it to queue it again"]

    held = create_job(api)
    queue.set(RedisKeys.job_lease(held["id"]), 1, ex=60)  # as the worker that holds a job keeps it
    requested = client.fine_tuning.jobs.pause(held["id"])
    assert requested.status == "queued" and requested.model_extra["paused"] is False
    assert queue.exists(RedisKeys.job_pause(held["id"]))  # the worker pauses it, after a checkpoint
    with pytest.raises(openai.ConflictError, match="pausing"):
        client.fine_tuning.jobs.resume(held["id"])

    client.fine_tuning.jobs.cancel(held["id"])
    with pytest.raises(openai.ConflictError, match="already cancelled; only unfinished jobs can be paused"):
        client.fine_tuning.jobs.pause(held["id"])
    assert api.post("/v1/fine_tuning/jobs/ftjob-nope/pause", headers=ALPHA).status_code == 404
    assert api.post(f"/v1/fine_tuning/jobs/{job['id']}/pause", headers=BETA).status_code == 404


def test_a_job_index_entry_whose_record_is_gone_is_passed_over(api, redis_url):
    """A creation that failed between the index and the record leaves an id that names nothing: lists skip it."""
    import time

    import redis

    from jobs.keys import RedisKeys

    job = create_job(api)
    redis.Redis.from_url(redis_url).zadd(RedisKeys.job_index("alpha"), {"ftjob-gone": time.time() + 10})
    assert [j["id"] for j in api.get("/v1/fine_tuning/jobs", headers=ALPHA).json()["data"]] == [job["id"]]
    page = api.get("/v1/fine_tuning/jobs", params={"limit": 1}, headers=ALPHA).json()
    assert [j["id"] for j in page["data"]] == [job["id"]] and page["has_more"] is False
