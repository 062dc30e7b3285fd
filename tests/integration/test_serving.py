"""The embedded engine behind real HTTP, driven by the official `openai` package: real SmolLM2, real peft
artifacts of every kind training produces, a real store; through the API's proxy as well."""

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import torch
from litestar.testing import TestClient
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from jobs import keys
from jobs.catalog import DEFAULT_MODEL_ID
from jobs.ids import checkpoint_model_name, new_checkpoint_id
from jobs.records import CheckpointRecord
from jobs.repository import CheckpointRepository
from jobs.settings import Settings
from jobs.store import LocalStore, S3Store, Store
from service.inference.app import create_serving_app
from tests.conftest import make_settings as api_settings
from tests.support.serving import (
    City,
    metric,
    KINDS,
    LABELS,
    catalog_setting,
    live_server,
    make_classifier,
    make_model,
    publish,
    reference_answer,
)

ALPHA = {"Authorization": "Bearer k1"}
BETA = {"Authorization": "Bearer k2"}
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
HAIKU = [{"role": "user", "content": "Write a haiku about the sea."}]
MAX_TOKENS = 12


def model_id(name: str) -> str:
    return f"ft:{DEFAULT_MODEL_ID}:{name.replace('_', '-')}:abcd1234"


CLASSIFIER = model_id("classifier")


def serving_settings(store: Store, cache_dir: Path, base_model_dir: Path, **overrides: object) -> Settings:
    if isinstance(store, S3Store):
        url, endpoint = f"s3://{store.bucket}/{store.prefix}", store.client.meta.endpoint_url
    else:
        assert isinstance(store, LocalStore)
        url, endpoint = f"file://{store.root}", None
    values: dict = dict(
        api_keys="k1:alpha,k2:beta", store_url=url, s3_endpoint_url=endpoint, s3_region="us-east-1",
        models=catalog_setting(base_model_dir), cache_dir=cache_dir, serving_max_adapters=2,
    )
    return Settings(**{**values, **overrides})


def sdk(url: str, key: str = "k1") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=300)


def chat(client: openai.OpenAI, model: str, messages: list[dict] = FRANCE, **params: object) -> str:
    reply = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=MAX_TOKENS, **params)
    return reply.choices[0].message.content or ""


# -- the models, once per module -------------------------------------------------------------------


@pytest.fixture(scope="module")
def folders(base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made = {kind: make_model(kind, base_model_dir, tmp_path_factory.mktemp(kind)) for kind in KINDS}
    made["lora2"] = make_model("lora", base_model_dir, tmp_path_factory.mktemp("lora2"), seed=1)
    made["lora3"] = make_model("lora", base_model_dir, tmp_path_factory.mktemp("lora3"), seed=2)
    made["classifier"] = make_classifier(base_model_dir, tmp_path_factory.mktemp("classifier"))
    return made


@pytest.fixture(scope="module")
def model_store(tmp_path_factory: pytest.TempPathFactory, folders: dict[str, Path]) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    for name, folder in folders.items():
        if name == "classifier":
            publish(store, "alpha", CLASSIFIER, folder, task_format="classification")
        else:
            publish(store, "alpha", model_id(name), folder, kind="lora" if name.startswith("lora") else name)
    return store


@pytest.fixture(scope="module")
def references(folders: dict[str, Path], base_model_dir: Path) -> dict[str, str]:
    answers = {name: reference_answer(folders[name], base_model_dir, FRANCE, MAX_TOKENS) for name in folders if name != "classifier"}
    answers["base"] = reference_answer(None, base_model_dir, FRANCE, MAX_TOKENS)
    return answers


@pytest.fixture(scope="module")
def server(model_store: LocalStore, tmp_path_factory: pytest.TempPathFactory, base_model_dir: Path) -> Iterator[str]:
    settings = serving_settings(model_store, tmp_path_factory.mktemp("cache"), base_model_dir)
    with live_server(create_serving_app(settings)) as url:
        yield url


# -- fast: no generation ----------------------------------------------------------------------------


def test_probes_and_keys(model_store, tmp_path, base_model_dir):
    settings = serving_settings(model_store, tmp_path, base_model_dir)
    with TestClient(create_serving_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:  # base models load in the background
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "ftaas_serving_time_to_first_token_seconds" in client.get("/metrics").text
        body = {"model": DEFAULT_MODEL_ID, "messages": FRANCE}
        assert client.post("/v1/chat/completions", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/v1/completions", json={**body, "prompt": "x"}, headers=wrong).json()["error"]["code"] == "invalid_api_key"


def test_not_ready_until_base_models_are_loaded(model_store, tmp_path, base_model_dir):
    from jobs.catalog import Catalog
    from jobs.serving.engine import EmbeddedEngine
    from jobs.serving.types import EngineNotReady

    engine = EmbeddedEngine(Catalog.from_setting(catalog_setting(base_model_dir), tmp_path), model_store, tmp_path)
    with pytest.raises(EngineNotReady):
        engine.check()
    engine.load_bases()
    engine.check()
    engine.close()


BAD_REQUESTS = [
    ({"model": "gpt-4o"}, 404, "model_not_found", "model"),
    ({"model": "../../etc"}, 404, "model_not_found", "model"),
    ({"model": model_id("nothing")}, 404, "model_not_found", "model"),
    ({"n": 9}, 400, "invalid_request", "n"),
    ({"top_logprobs": 3}, 400, "invalid_request", "top_logprobs needs logprobs"),
    ({"logprobs": True, "top_logprobs": 21}, 400, "invalid_request", "top_logprobs"),
    ({"response_format": {"type": "yaml"}}, 400, "invalid_request", "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}, 400, "invalid_request", "name is missing"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "objectx"}}}}, 400,
     "invalid_value", "JSON schema cannot be used"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "invalid_request", "tool and function calling"),
    ({"frequency_penalty": 0.5}, 400, "invalid_request", "penalties"),
    ({"max_tokens": 100_000}, 400, "invalid_request", "max_tokens"),
    ({"messages": [{"role": "user", "content": "hello " * 8200}], "max_tokens": 10}, 400, "invalid_value",
     "maximum context length is 8192 tokens"),
]


@pytest.mark.parametrize(("extra", "status", "code", "needle"), BAD_REQUESTS)
def test_bad_requests_name_the_problem(server, extra, status, code, needle):
    body = {"model": DEFAULT_MODEL_ID, "messages": FRANCE, **extra}
    response = httpx.post(f"{server}/v1/chat/completions", json=body, headers=ALPHA)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and needle in error["message"], error


def test_a_model_is_only_its_tenants(server):
    for kind in ("lora", "full", "prompt_tuning"):
        with pytest.raises(openai.NotFoundError, match="does not exist or you do not have access"):
            sdk(server, "k2").chat.completions.create(model=model_id(kind), messages=FRANCE, max_tokens=2)
        with pytest.raises(openai.NotFoundError):
            sdk(server, "k2").completions.create(model=model_id(kind), prompt="Hi", max_tokens=2, stream=True)


def test_a_model_without_its_manifest_does_not_exist(model_store, server, folders):
    publish(model_store, "alpha", model_id("unfinished"), folders["lora"], manifest=False)  # a crashed upload
    with pytest.raises(openai.NotFoundError):
        sdk(server).chat.completions.create(model=model_id("unfinished"), messages=FRANCE, max_tokens=2)


# -- slow: real generation ----------------------------------------------------------------------------


@pytest.mark.slow
def test_every_kind_answers_with_its_own_weights(server, references):
    client = sdk(server)
    answers = {"base": chat(client, DEFAULT_MODEL_ID)}
    for kind in (*KINDS, "lora2"):
        answers[kind] = chat(client, model_id(kind))
    assert answers == {name: references[name] for name in answers}
    assert len(set(answers.values())) == len(answers), answers  # every model its own answer
    assert "Paris" in answers["base"]
    for kind in KINDS:
        assert metric(server, "ftaas_serving_adapter_loads_total", model_kind=kind.replace("dora", "lora").replace("rslora", "lora")) >= 1


@pytest.mark.slow
def test_concurrent_requests_batch_together_and_each_gets_its_own_answer(server, references):
    client = sdk(server)
    names = ["base", "lora", "lora2", "rslora", "dora", "ia3", "prefix_tuning", "prompt_tuning", "full", "base", "lora", "lora2"]
    steps_before = metric(server, "ftaas_serving_batch_size_count")
    rows_before = metric(server, "ftaas_serving_batch_size_sum")
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda n: chat(client, DEFAULT_MODEL_ID if n == "base" else model_id(n)), names))
    assert answers == [references[n] for n in names]
    steps = metric(server, "ftaas_serving_batch_size_count") - steps_before
    rows = metric(server, "ftaas_serving_batch_size_sum") - rows_before
    assert rows / steps > 1.5, "requests were decoded one at a time"


@pytest.mark.slow
def test_a_streamed_answer_is_the_whole_answer(server):
    client = sdk(server)
    for model in (DEFAULT_MODEL_ID, model_id("lora"), model_id("prompt_tuning")):
        whole = client.chat.completions.create(model=model, messages=HAIKU, temperature=0, max_tokens=24)
        chunks = list(client.chat.completions.create(
            model=model, messages=HAIKU, temperature=0, max_tokens=24, stream=True, stream_options={"include_usage": True},
        ))
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == whole.choices[0].message.content
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == whole.choices[0].finish_reason
        assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
        assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3  # really streamed, token by token

    whole_text = client.completions.create(model=DEFAULT_MODEL_ID, prompt="The sea is", temperature=0, max_tokens=10)
    streamed = list(client.completions.create(model=DEFAULT_MODEL_ID, prompt="The sea is", temperature=0, max_tokens=10, stream=True))
    assert "".join(c.choices[0].text for c in streamed if c.choices) == whole_text.choices[0].text
    assert streamed[-1].choices[0].finish_reason == "length"


@pytest.mark.slow
def test_n_logprobs_stop_and_seeds(server):
    client = sdk(server)
    reply = client.chat.completions.create(
        model=model_id("lora"), messages=HAIKU, n=3, temperature=1.0, seed=11, max_tokens=16, logprobs=True, top_logprobs=2,
    )
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert len({c.message.content for c in reply.choices}) > 1  # three samples, not one copied
    assert reply.usage.completion_tokens == sum(len(c.logprobs.content) for c in reply.choices)
    for choice in reply.choices:
        assert "".join(t.token for t in choice.logprobs.content).startswith(choice.message.content[:5])
        assert all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in choice.logprobs.content)

    # A seed gives the same samples alone and in a busy batch.
    def seeded() -> list[str]:
        again = client.chat.completions.create(model=model_id("lora"), messages=HAIKU, n=3, temperature=1.0, seed=11, max_tokens=16)
        return [c.message.content for c in again.choices]

    with ThreadPoolExecutor(4) as pool:
        noise = [pool.submit(chat, client, model_id(m), HAIKU) for m in ("lora2", "rslora", "lora")]
        busy = seeded()
        [f.result() for f in noise]
    assert busy == [c.message.content for c in reply.choices]

    greedy = client.chat.completions.create(model=DEFAULT_MODEL_ID, messages=FRANCE, temperature=0, max_tokens=12, logprobs=True, top_logprobs=3)
    for token in greedy.choices[0].logprobs.content:
        assert token.top_logprobs[0].token == token.token  # greedy takes the most likely token
    full = greedy.choices[0].message.content
    cut = client.chat.completions.create(model=DEFAULT_MODEL_ID, messages=FRANCE, temperature=0, max_tokens=12, stop=["Paris"])
    assert cut.choices[0].message.content == full[: full.index("Paris")] and cut.choices[0].finish_reason == "stop"

    text = client.completions.create(model=DEFAULT_MODEL_ID, prompt="The capital of France is", temperature=0, max_tokens=4, logprobs=2)
    logprobs = text.choices[0].logprobs
    assert "".join(logprobs.tokens) == text.choices[0].text and len(logprobs.top_logprobs[0]) == 2
    assert text.choices[0].finish_reason == "length" and text.usage.completion_tokens == 4


@pytest.mark.slow
def test_structured_outputs_follow_json_mode_and_json_schemas(server):
    client = sdk(server)
    ask = [{"role": "user", "content": "Describe a cat as JSON with the keys name, age and color."}]
    reply = client.chat.completions.create(
        model=DEFAULT_MODEL_ID, messages=ask, response_format={"type": "json_object"}, max_tokens=120, temperature=0,
    )
    assert reply.choices[0].finish_reason == "stop"
    assert set(json.loads(reply.choices[0].message.content)) >= {"name"}, reply.choices[0].message.content
    # The SDK's parse(): a pydantic model's strict JSON schema in, an instance of it out.
    parsed = client.chat.completions.parse(
        model=DEFAULT_MODEL_ID, messages=[{"role": "user", "content": "Describe Paris."}], response_format=City,
        max_tokens=60, temperature=0,
    )
    city = parsed.choices[0].message.parsed
    assert isinstance(city, City) and city.country == "France", parsed.choices[0].message.content
    # Adapters with random weights ramble, but within the schema: every kind that generates text keeps to it.
    for model in (model_id("lora"), model_id("prompt_tuning"), model_id("full")):
        choice = client.chat.completions.parse(
            model=model, messages=ask, response_format=City, max_tokens=80, temperature=0,
        ).choices[0]
        assert isinstance(choice.message.parsed, City), (model, choice.message.content)
    city_schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": City.model_json_schema()}}
    sampled = client.chat.completions.create(
        model=DEFAULT_MODEL_ID, messages=ask, response_format=city_schema, max_tokens=120, n=2, seed=3, stream=True,
    )
    texts = ["", ""]
    for chunk in sampled:
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
    assert all(City.model_validate_json(t) for t in texts), texts
    with pytest.raises(openai.BadRequestError, match="classifier"):
        client.chat.completions.create(model=CLASSIFIER, messages=ask, response_format={"type": "json_object"})


@pytest.mark.slow
def test_a_classifier_answers_with_its_label(server, folders, base_model_dir):
    from peft import PeftModel

    text = "I loved every minute of it."
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(base_model_dir, num_labels=2, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.eos_token_id
    model = PeftModel.from_pretrained(model, folders["classifier"]).eval()
    with torch.inference_mode():
        probs = torch.softmax(model(**tokenizer(text, return_tensors="pt")).logits[0], -1)
    reply = sdk(server).chat.completions.create(
        model=CLASSIFIER, messages=[{"role": "user", "content": text}], logprobs=True, top_logprobs=2,
    )
    choice = reply.choices[0]
    assert choice.message.content == LABELS[int(probs.argmax())]
    assert choice.logprobs.content[0].logprob == pytest.approx(float(probs.max().log()), abs=1e-4)
    assert {t.token for t in choice.logprobs.content[0].top_logprobs} == set(LABELS)


@pytest.mark.slow
def test_least_recently_used_adapters_are_evicted_and_come_back(server, references):
    client = sdk(server)  # the server keeps 2 LoRA adapters per base
    evictions = metric(server, "ftaas_serving_adapter_evictions_total")
    for name in ("lora", "lora2", "lora3", "lora"):
        assert chat(client, model_id(name)) == references[name]
    assert metric(server, "ftaas_serving_adapter_evictions_total") > evictions


@pytest.mark.slow
def store_checkpoint(store: Store, folder: Path, model: str, step: int) -> CheckpointRecord:
    """What the worker does for a LoRA checkpoint of alpha's job: its adapter, then its record."""
    import asyncio

    store.upload_folder(keys.checkpoint_artifacts("alpha", "ftjob-abcd1234", step, "adapter"), folder)
    record = CheckpointRecord(
        id=new_checkpoint_id(), tenant="alpha", job_id="ftjob-abcd1234", step=step,
        fine_tuned_model_checkpoint=checkpoint_model_name(model, step), artifact="adapter",
        base_model=DEFAULT_MODEL_ID, training_type={"type": "lora"}, task_format="chat",
    )
    asyncio.run(CheckpointRepository(store).save(record))
    return record


def test_a_checkpoint_answers_by_its_model_name(model_store, server, folders, references):
    model = model_id("lora")
    record = store_checkpoint(model_store, folders["lora2"], model, step=2)
    client = sdk(server)
    assert chat(client, record.fine_tuned_model_checkpoint) == references["lora2"]  # its own weights
    with pytest.raises(openai.NotFoundError):
        sdk(server, "k2").chat.completions.create(model=record.fine_tuned_model_checkpoint, messages=FRANCE)
    with pytest.raises(openai.NotFoundError, match="ckpt-step-9"):
        client.chat.completions.create(model=f"{model}:ckpt-step-9", messages=FRANCE)


def test_a_shared_checkpoint_trains_and_answers_for_its_grantee_until_revoked(model_store, server, folders, references, tmp_path):
    """OpenAI's checkpoint permissions through the official SDK (every answer parsed strictly by its types): alpha
    shares a checkpoint with beta, who can then call it and train from it by its name; revoking ends both at once."""
    from service.app import create_app
    from tests.integration.test_api import jsonl

    record = store_checkpoint(model_store, folders["lora2"], model_id("lora"), step=3)
    name = record.fine_tuned_model_checkpoint
    settings = api_settings(f"file://{model_store.root}", tmp_path, api_keys="k1:alpha,k2:beta,k3:gamma",
                            serving_url=server, models=json.dumps({DEFAULT_MODEL_ID: "unused"}))
    with live_server(create_app(settings)) as api:
        owner = openai.OpenAI(base_url=f"{api}/v1", api_key="k1", max_retries=0, _strict_response_validation=True)
        beta = openai.OpenAI(base_url=f"{api}/v1", api_key="k2", max_retries=0, _strict_response_validation=True)
        training_file = beta.files.create(file=("train.jsonl", jsonl(*[{"messages": FRANCE + [
            {"role": "assistant", "content": "Paris."}]}] * 2)), purpose="fine-tune").id

        with pytest.raises(openai.NotFoundError):
            beta.chat.completions.create(model=name, messages=FRANCE)  # not shared yet
        with pytest.raises(openai.BadRequestError, match="2 problems: no project 'nobody'.*your own project"):
            owner.fine_tuning.checkpoints.permissions.create(name, project_ids=["nobody", "alpha"])
        granted = owner.fine_tuning.checkpoints.permissions.create(name, project_ids=["beta", "gamma"]).data
        assert [p.project_id for p in granted] == ["beta", "gamma"] and all(p.id.startswith("cp_") for p in granted)
        again = owner.fine_tuning.checkpoints.permissions.create(record.id, project_ids=["beta"]).data  # by its id
        assert [p.id for p in again] == [granted[0].id]  # sharing again keeps the permission
        listed = owner.fine_tuning.checkpoints.permissions.list(name, order="ascending")
        assert [p.id for p in listed] == [p.id for p in granted]
        only_beta = owner.fine_tuning.checkpoints.permissions.list(name, project_id="beta").data
        assert [p.project_id for p in only_beta] == ["beta"]
        with pytest.warns(DeprecationWarning):
            retrieved = owner.fine_tuning.checkpoints.permissions.retrieve(name, limit=1)
        assert len(retrieved.data) == 1 and retrieved.has_more is True and retrieved.first_id == retrieved.data[0].id
        with pytest.raises(openai.NotFoundError, match="of yours"):  # only the owner manages who may use it
            beta.fine_tuning.checkpoints.permissions.list(name)

        assert chat(beta, name) == references["lora2"]  # the owner's weights, by the owner's name
        assert beta.models.retrieve(name).owned_by == "alpha"
        job = beta.fine_tuning.jobs.create(model=name, training_file=training_file)
        assert job.model == name

        deleted = owner.fine_tuning.checkpoints.permissions.delete(granted[0].id, fine_tuned_model_checkpoint=name)
        assert (deleted.id, deleted.deleted) == (granted[0].id, True)
        with pytest.raises(openai.NotFoundError):
            beta.chat.completions.create(model=name, messages=FRANCE)
        with pytest.raises(openai.BadRequestError, match="model"):
            beta.fine_tuning.jobs.create(model=name, training_file=training_file)
        with pytest.raises(openai.NotFoundError, match="no permission"):
            owner.fine_tuning.checkpoints.permissions.delete(granted[0].id, fine_tuned_model_checkpoint=name)
        assert [p.project_id for p in owner.fine_tuning.checkpoints.permissions.list(name)] == ["gamma"]


@pytest.mark.slow
def test_a_full_queue_answers_429_and_a_caller_that_leaves_frees_its_place(model_store, tmp_path, base_model_dir):
    settings = serving_settings(model_store, tmp_path, base_model_dir, serving_max_batch=1, serving_max_queue=1)
    with live_server(create_serving_app(settings)) as url:
        body = {"model": DEFAULT_MODEL_ID, "messages": HAIKU, "max_tokens": 400, "temperature": 0, "stream": True}
        with httpx.Client(timeout=60) as http:
            with http.stream("POST", f"{url}/v1/chat/completions", json=body, headers=ALPHA) as first:
                lines = first.iter_lines()
                assert next(line for line in lines if line.startswith("data:"))  # generating: holds the one place
                waiting = threading.Thread(
                    target=lambda: http.post(f"{url}/v1/chat/completions", json={**body, "stream": False, "max_tokens": 2}, headers=ALPHA)
                )
                waiting.start()
                deadline = time.monotonic() + 30
                while metric(url, "ftaas_serving_queue_depth") < 1:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                full = http.post(f"{url}/v1/chat/completions", json=body, headers=ALPHA)
                assert full.status_code == 429 and int(full.headers["retry-after"]) >= 1
                assert full.json()["error"]["code"] == "queue_full"
            # The first caller hung up: its generation stops, the waiting request gets its turn.
            waiting.join(timeout=60)
            assert not waiting.is_alive()
            generated = metric(url, "ftaas_serving_generated_tokens_total")
            time.sleep(1.0)
            assert metric(url, "ftaas_serving_generated_tokens_total") == generated
            assert generated < 400


# -- through the API -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_api_relays_answers_and_streams_unbuffered(server, model_store, redis_url, tmp_path, references):
    from service.app import create_app

    settings = api_settings(f"file://{model_store.root}", tmp_path, api_keys="k1:alpha,k2:beta", serving_url=server,
                            models=json.dumps({DEFAULT_MODEL_ID: "unused"}))
    with live_server(create_app(settings)) as api:
        client = sdk(api)
        assert chat(client, model_id("lora")) == references["lora"]
        started = time.monotonic()
        arrivals = []
        stream = client.chat.completions.create(model=DEFAULT_MODEL_ID, messages=HAIKU, temperature=0, max_tokens=48, stream=True)
        for chunk in stream:
            arrivals.append(time.monotonic() - started)
        assert len(arrivals) > 10 and arrivals[-1] - arrivals[1] > 0.3  # chunks arrived over time, not all at the end
        with pytest.raises(openai.NotFoundError):
            sdk(api, "k2").chat.completions.create(model=model_id("lora"), messages=FRANCE)
        # The API's inference metrics: by the engine that answered and the model's kind, streams timed to their end.
        assert metric(api, "ftaas_api_inference_requests_total", engine="embedded", model_kind="lora", status="200") == 1
        assert metric(api, "ftaas_api_inference_requests_total", engine="embedded", model_kind="base", status="200") == 1
        first = metric(api, "ftaas_api_inference_time_to_first_byte_seconds_sum", engine="embedded", model_kind="base")
        whole = metric(api, "ftaas_api_inference_duration_seconds_sum", engine="embedded", model_kind="base")
        assert 0 < first < arrivals[1] + 0.5 and whole >= arrivals[-1] - 0.5 and whole - first > 0.3
