"""The serving app end to end: real SmolLM2, real LoRA adapters in a real store (local folder and S3 via moto)."""

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from litestar.testing import TestClient
from peft import LoraConfig, get_peft_model
from prometheus_client.parser import text_string_to_metric_families
from transformers import AutoModelForCausalLM, AutoTokenizer

from jobs import keys
from jobs.catalog import DEFAULT_MODEL_ID
from jobs.ids import checkpoint_model_name, new_checkpoint_id
from jobs.records import CheckpointRecord, ModelManifest
from jobs.repository import CheckpointRepository
from jobs.serving.app import create_serving_app
from jobs.store import LocalStore, S3Store, Store
from service.settings import Settings

ALPHA = {"Authorization": "Bearer k1"}
BETA = {"Authorization": "Bearer k2"}
FT_MODEL = f"ft:{DEFAULT_MODEL_ID}:pirate:abcd1234"
FT_OTHER = f"ft:{DEFAULT_MODEL_ID}:other:efgh5678"
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


# -- helpers ------------------------------------------------------------------------------------


def make_settings(store: Store, cache_dir: Path, base_model_dir: Path, max_adapters: int = 2) -> Settings:
    if isinstance(store, S3Store):
        url, endpoint = f"s3://{store.bucket}/{store.prefix}", store.client.meta.endpoint_url
    else:
        assert isinstance(store, LocalStore)
        url, endpoint = f"file://{store.root}", None
    return Settings(
        api_keys="k1:alpha,k2:beta",
        store_url=url,
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        # The catalog points at the already-converted folder, so a per-test cache_dir costs nothing.
        models=json.dumps({DEFAULT_MODEL_ID: str(base_model_dir)}),
        cache_dir=cache_dir,
        serving_max_adapters=max_adapters,
    )


@contextmanager
def serving(store: Store, tmp_path: Path, base_model_dir: Path, max_adapters: int = 2) -> Iterator[TestClient]:
    app = create_serving_app(make_settings(store, tmp_path / "cache", base_model_dir, max_adapters))
    with TestClient(app=app) as client:
        yield client


def publish(store: Store, tenant: str, model_id: str, folder: Path, *, manifest: bool = True) -> None:
    """What the worker does: artifacts first, the manifest last."""
    prefix = keys.model_artifacts(tenant, model_id)
    files = [key.removeprefix(prefix) for key in store.upload_folder(prefix, folder)]
    if manifest:
        record = ModelManifest(
            id=model_id, tenant=tenant, base_model=DEFAULT_MODEL_ID, job_id="ftjob-abcd1234", files=files
        )
        store.put_json(keys.model_manifest(tenant, model_id), record.model_dump(mode="json"))


def publish_checkpoint(store: Store, tenant: str, model_id: str, step: int, folder: Path, kind: str = "lora") -> str:
    """What the worker does with a checkpoint: its files, then its record and the pointers to it. Returns its name."""
    store.upload_folder(keys.checkpoint_artifacts(tenant, "ftjob-abcd1234", step, "adapter"), folder)
    record = CheckpointRecord(
        id=new_checkpoint_id(), tenant=tenant, job_id="ftjob-abcd1234", step=step,
        fine_tuned_model_checkpoint=checkpoint_model_name(model_id, step), artifact="adapter",
        base_model=DEFAULT_MODEL_ID, training_type={"type": kind}, task_format="chat",
    )
    asyncio.run(CheckpointRepository(store).save(record))
    return record.fine_tuned_model_checkpoint


def metric(client: TestClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def complete(client: TestClient, model: str, headers: dict[str, str] = ALPHA, **params: object) -> dict:
    body = {"model": model, "prompt": "The capital of France is", "temperature": 0, "max_tokens": 6, **params}
    response = client.post("/v1/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_openai_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    return error


@pytest.fixture(scope="session")
def adapters(base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two real LoRA adapters (PEFT folders + tokenizer); lora_B is perturbed so outputs differ from the base."""
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    folders = {}
    for name, seed in (("pirate", 0), ("other", 1)):
        model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
        config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
        with torch.random.fork_rng():  # lora_A's init and our lora_B both come from the seed, not from test order
            torch.manual_seed(seed)
            peft_model = get_peft_model(model, config)
            with torch.no_grad():
                for param_name, param in peft_model.named_parameters():
                    if "lora_B" in param_name:
                        param.normal_(0, 0.2)
        folder = tmp_path_factory.mktemp(f"adapter-{name}")
        peft_model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[name] = folder
    return folders


# -- fast: no generation ----------------------------------------------------------------------------


def test_probes_need_no_key_and_inference_needs_a_valid_one(local_store, tmp_path, base_model_dir):
    with serving(local_store, tmp_path, base_model_dir) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        assert "ftaas_serving_generated_tokens_total" in client.get("/metrics").text

        body = {"model": DEFAULT_MODEL_ID, "messages": FRANCE}
        assert_openai_error(client.post("/v1/chat/completions", json=body), 401, "invalid_api_key")
        wrong = {"Authorization": "Bearer nope"}
        assert_openai_error(client.post("/v1/chat/completions", json=body, headers=wrong), 401, "invalid_api_key")
        assert_openai_error(client.post("/v1/completions", json=body, headers=wrong), 401, "invalid_api_key")


@pytest.mark.parametrize("model", ["gpt-4o", "../../etc", f"ft:{DEFAULT_MODEL_ID}:nothing:deadbeef"])
def test_unknown_model_is_404(local_store, tmp_path, base_model_dir, model):
    with serving(local_store, tmp_path, base_model_dir) as client:
        response = client.post("/v1/chat/completions", json={"model": model, "messages": FRANCE}, headers=ALPHA)
        error = assert_openai_error(response, 404, "model_not_found")
        assert model in error["message"] and "GET /v1/models" in error["message"]
        assert error["param"] == "model"
        response = client.post("/v1/completions", json={"model": model, "prompt": "Hi"}, headers=ALPHA)
        assert_openai_error(response, 404, "model_not_found")
        assert metric(client, "ftaas_serving_requests_total", status="404") == 2


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"stream": True}, "streaming is not supported yet"),
        ({"n": 2, "logprobs": True}, "n: only n=1 is supported; logprobs: logprobs are not supported"),
        ({"max_tokens": 100_000}, "max_tokens"),
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "at most 4 stop sequences"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tool and function calling"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, "text"),
        ({"messages": []}, "messages"),
    ],
)
def test_unsupported_or_invalid_chat_requests_are_400(local_store, tmp_path, base_model_dir, extra, needle):
    with serving(local_store, tmp_path, base_model_dir) as client:
        body = {"model": DEFAULT_MODEL_ID, "messages": FRANCE, **extra}
        error = assert_openai_error(
            client.post("/v1/chat/completions", json=body, headers=ALPHA), 400, "invalid_request"
        )
        assert needle in error["message"]


def test_completions_accept_sdk_defaults_and_reject_streaming(local_store, tmp_path, base_model_dir):
    with serving(local_store, tmp_path, base_model_dir) as client:
        body = {"model": DEFAULT_MODEL_ID, "prompt": "Hi", "stream": True}
        error = assert_openai_error(client.post("/v1/completions", json=body, headers=ALPHA), 400, "invalid_request")
        assert "streaming is not supported yet" in error["message"]
        body = {"model": DEFAULT_MODEL_ID, "prompt": ["a", "b"]}
        error = assert_openai_error(client.post("/v1/completions", json=body, headers=ALPHA), 400, "invalid_request")
        assert "one string" in error["message"]


def test_fine_tuned_models_are_per_tenant_and_need_a_manifest(store, tmp_path, base_model_dir, adapters):
    publish(store, "alpha", FT_MODEL, adapters["pirate"])
    publish(store, "alpha", FT_OTHER, adapters["other"], manifest=False)  # a crashed upload
    with serving(store, tmp_path, base_model_dir) as client:
        for headers, model in ((BETA, FT_MODEL), (ALPHA, FT_OTHER)):
            response = client.post("/v1/completions", json={"model": model, "prompt": "Hi"}, headers=headers)
            assert_openai_error(response, 404, "model_not_found")
            body = {"model": model, "messages": FRANCE}
            assert_openai_error(client.post("/v1/chat/completions", json=body, headers=headers), 404, "model_not_found")


def test_prompt_longer_than_the_context_is_400(local_store, tmp_path, base_model_dir):
    with serving(local_store, tmp_path, base_model_dir) as client:
        body = {"model": DEFAULT_MODEL_ID, "prompt": "hello " * 8200, "max_tokens": 10}
        error = assert_openai_error(client.post("/v1/completions", json=body, headers=ALPHA), 400, "invalid_value")
        assert "maximum context length is 8192 tokens" in error["message"]
        assert error["param"] == "max_tokens"


def test_wire_schemas_do_not_import_torch():
    code = "import sys, service.inference.schemas, jobs.serving.errors, jobs.serving.metrics; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert result.stdout.strip() == "False"


# -- slow: real generation ----------------------------------------------------------------------------


@pytest.mark.slow
def test_base_model_chat_and_completions(local_store, tmp_path, base_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    with serving(local_store, tmp_path, base_model_dir) as client:
        body = {
            "model": DEFAULT_MODEL_ID,
            "messages": FRANCE,
            "temperature": 0,
            "max_tokens": 16,
            "user": "u1",
            "frequency_penalty": 0,
            "n": 1,
            "logprobs": False,
        }
        response = client.post("/v1/chat/completions", json=body, headers=ALPHA)
        assert response.status_code == 200, response.text
        chat = response.json()
        assert chat["id"].startswith("chatcmpl-") and chat["object"] == "chat.completion"
        assert chat["model"] == DEFAULT_MODEL_ID and isinstance(chat["created"], int)
        [choice] = chat["choices"]
        assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
        assert "Paris" in choice["message"]["content"]
        assert choice["finish_reason"] == "stop"  # <|im_end|> ended it
        usage = chat["usage"]
        prompt = tokenizer.apply_chat_template(FRANCE, add_generation_prompt=True, tokenize=False)
        assert usage["prompt_tokens"] == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert 0 < usage["completion_tokens"] < 16
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

        # A stop string ends the text before it, and says so.
        response = client.post("/v1/chat/completions", json={**body, "stop": "Paris"}, headers=ALPHA)
        stopped = response.json()["choices"][0]
        assert stopped["finish_reason"] == "stop"
        assert "Paris" not in stopped["message"]["content"]
        assert choice["message"]["content"].startswith(stopped["message"]["content"])

        # max_tokens reached: "length", and exactly that many completion tokens.
        text = complete(client, DEFAULT_MODEL_ID, max_tokens=3)
        assert text["id"].startswith("cmpl-") and text["object"] == "text_completion"
        assert text["choices"][0]["finish_reason"] == "length"
        assert text["usage"]["completion_tokens"] == 3
        assert text["usage"]["prompt_tokens"] == len(tokenizer("The capital of France is")["input_ids"])

        # Sampling with a seed is reproducible.
        sampled = [
            complete(client, DEFAULT_MODEL_ID, temperature=1.0, top_p=0.9, seed=7)["choices"][0]["text"]
            for _ in range(2)
        ]
        assert sampled[0] == sampled[1]

        assert metric(client, "ftaas_serving_requests_total", model_kind="base", status="200") == 5
        assert metric(client, "ftaas_serving_generated_tokens_total") >= 3 + 6 + 6
        assert metric(client, "ftaas_serving_generation_seconds_count") == 5


@pytest.mark.slow
def test_fine_tuned_model_is_served_from_the_store(store, tmp_path, base_model_dir, adapters):
    publish(store, "alpha", FT_MODEL, adapters["pirate"])
    with serving(store, tmp_path, base_model_dir) as client:
        base = complete(client, DEFAULT_MODEL_ID)["choices"][0]["text"]
        tuned = complete(client, FT_MODEL)
        assert tuned["model"] == FT_MODEL
        assert tuned["choices"][0]["text"] != base
        assert tuned["usage"]["total_tokens"] == tuned["usage"]["prompt_tokens"] + tuned["usage"]["completion_tokens"]
        # The base model is unaffected by the adapter now living inside it.
        assert complete(client, DEFAULT_MODEL_ID)["choices"][0]["text"] == base

        response = client.post("/v1/completions", json={"model": FT_MODEL, "prompt": "Hi"}, headers=BETA)
        assert_openai_error(response, 404, "model_not_found")

        assert metric(client, "ftaas_serving_adapters_loaded") == 1
        assert metric(client, "ftaas_serving_requests_total", model_kind="fine_tuned", status="200") == 1
    assert any((tmp_path / "cache" / "adapters" / "alpha").iterdir())


def test_a_checkpoint_answers_by_its_model_name(store, tmp_path, base_model_dir, adapters):
    publish(store, "alpha", FT_MODEL, adapters["pirate"])
    checkpoint = publish_checkpoint(store, "alpha", FT_MODEL, 2, adapters["other"])
    ia3_checkpoint = publish_checkpoint(store, "alpha", FT_MODEL, 1, adapters["other"], kind="ia3")
    publish(store, "alpha", FT_OTHER, adapters["other"])  # the checkpoint's weights, published as a model
    with serving(store, tmp_path, base_model_dir) as client:
        reply = complete(client, checkpoint)
        assert reply["model"] == checkpoint == f"{FT_MODEL}:ckpt-step-2"
        # It answers with its own weights: not the finished model's, the same as those weights published as a model.
        assert reply["choices"][0]["text"] != complete(client, FT_MODEL)["choices"][0]["text"]
        assert reply["choices"][0]["text"] == complete(client, FT_OTHER)["choices"][0]["text"]

        other_tenant = client.post("/v1/completions", json={"model": checkpoint, "prompt": "Hi"}, headers=BETA)
        assert_openai_error(other_tenant, 404, "model_not_found")
        missing = client.post("/v1/completions", json={"model": f"{FT_MODEL}:ckpt-step-9", "prompt": "Hi"}, headers=ALPHA)
        assert f"{FT_MODEL}:ckpt-step-9" in assert_openai_error(missing, 404, "model_not_found")["message"]
        ia3 = client.post("/v1/completions", json={"model": ia3_checkpoint, "prompt": "Hi"}, headers=ALPHA)
        error = assert_openai_error(ia3, 400, "invalid_value")
        assert "a ia3 model" in error["message"] and "jobs/ftjob-abcd1234/checkpoints/step-1/adapter/" in error["message"]


@pytest.mark.slow
def test_least_recently_used_adapter_is_evicted_and_reloaded(local_store, tmp_path, base_model_dir, adapters):
    publish(local_store, "alpha", FT_MODEL, adapters["pirate"])
    publish(local_store, "alpha", FT_OTHER, adapters["other"])
    with serving(local_store, tmp_path, base_model_dir, max_adapters=1) as client:
        first = complete(client, FT_MODEL, max_tokens=4)["choices"][0]["text"]
        other = complete(client, FT_OTHER, max_tokens=4)["choices"][0]["text"]
        assert metric(client, "ftaas_serving_adapters_loaded") == 1
        assert complete(client, FT_MODEL, max_tokens=4)["choices"][0]["text"] == first
        assert other != first


@pytest.mark.slow
def test_openai_sdk_round_trip(local_store, tmp_path, base_model_dir):
    openai = pytest.importorskip("openai")
    with serving(local_store, tmp_path, base_model_dir) as client:
        sdk = openai.OpenAI(base_url="http://testserver.local/v1", api_key="k1", http_client=client)
        reply = sdk.chat.completions.create(
            model=DEFAULT_MODEL_ID, messages=FRANCE, temperature=0, max_completion_tokens=12, seed=1, user="u"
        )
        assert "Paris" in reply.choices[0].message.content
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
        with pytest.raises(openai.NotFoundError):
            sdk.completions.create(model=FT_MODEL, prompt="Hi")
        with pytest.raises(openai.BadRequestError, match="streaming is not supported yet"):
            sdk.chat.completions.create(model=DEFAULT_MODEL_ID, messages=FRANCE, stream=True)
