"""Serving test parts: fine-tuned models of every kind (real peft artifacts, published as the worker
publishes them), greedy reference answers computed without any engine, and a live HTTP server.

Adapters get random weights with a fixed seed, large enough that each model's answer differs from the
base's and from the others'. The reference answer is the training-consistent computation: the whole
sequence through the model (peft adds virtual tokens as it does in training), one token at a time, no
KV cache, greedy.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pydantic
import torch
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from jobs import keys
from jobs.catalog import DEFAULT_MODEL_ID
from jobs.records import ModelManifest
from jobs.store import Store
from jobs.training.artifacts import INFO_FILE, ArtifactInfo
from tests.conftest import free_port

LABELS = ["negative", "positive"]
# How far each kind's trained weights move from their start, so that every answer differs from the base's.
NOISE = {"ia3": 0.5, "prompt_tuning": 20.0}
KINDS = ("lora", "dora", "rslora", "ia3", "prefix_tuning", "prompt_tuning", "full")


class City(pydantic.BaseModel):
    """A structured-output schema whose answers are short whatever the model (bounded strings and numbers)."""

    model_config = pydantic.ConfigDict(extra="forbid")  # additionalProperties: false, as strict schemas have

    name: str = pydantic.Field(max_length=20)
    country: Literal["France", "Germany", "Italy", "Spain"]
    population_millions: int = pydantic.Field(ge=0, le=50)


def _peft_config(kind: str) -> Any:
    from peft import IA3Config, LoraConfig, PrefixTuningConfig, PromptTuningConfig

    lora = dict(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    return {
        "lora": lambda: LoraConfig(**lora),
        "dora": lambda: LoraConfig(**lora, use_dora=True),
        "rslora": lambda: LoraConfig(**lora, use_rslora=True),
        "ia3": lambda: IA3Config(task_type="CAUSAL_LM"),
        "prefix_tuning": lambda: PrefixTuningConfig(num_virtual_tokens=8, task_type="CAUSAL_LM"),
        "prompt_tuning": lambda: PromptTuningConfig(num_virtual_tokens=8, task_type="CAUSAL_LM"),
    }[kind]()


def training_type(kind: str) -> dict[str, Any]:
    return {
        "dora": {"type": "lora", "use_dora": True},
        "rslora": {"type": "lora", "use_rslora": True},
    }.get(kind, {"type": kind})


def make_model(kind: str, base_model_dir: Path, folder: Path, seed: int = 0) -> Path:
    """A trained-looking artifact folder of `kind` (as jobs/training/artifacts.py saves it)."""
    from peft import get_peft_model

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if kind == "full":
            with torch.no_grad():
                for name, param in model.named_parameters():
                    if name.endswith("proj.weight"):
                        param.add_(torch.randn_like(param) * 0.1 * param.std())
            trained = model
        else:
            trained = get_peft_model(model, _peft_config(kind))
            with torch.no_grad():
                for param in trained.parameters():
                    if param.requires_grad:
                        param.add_(torch.randn_like(param) * NOISE.get(kind, 0.3))
    trained.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    info = ArtifactInfo(base_model=DEFAULT_MODEL_ID, training_type=training_type(kind), format="chat")
    (folder / INFO_FILE).write_text(info.model_dump_json())
    return folder


def make_classifier(base_model_dir: Path, folder: Path, seed: int = 0) -> Path:
    """A LoRA classifier (sequence classification head saved with the adapter) over LABELS."""
    from peft import LoraConfig, get_peft_model

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(base_model_dir, num_labels=len(LABELS), dtype=torch.float32)
    model.config.pad_token_id = tokenizer.eos_token_id
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        config = LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="SEQ_CLS")
        trained = get_peft_model(model, config)
        with torch.no_grad():
            for param in trained.parameters():
                if param.requires_grad:
                    param.add_(torch.randn_like(param) * 0.3)
    trained.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    info = ArtifactInfo(base_model=DEFAULT_MODEL_ID, training_type={"type": "lora"}, format="classification", labels=LABELS)
    (folder / INFO_FILE).write_text(info.model_dump_json())
    return folder


def publish(store: Store, tenant: str, model_id: str, folder: Path, *, kind: str = "lora",
            task_format: str = "chat", manifest: bool = True) -> None:
    """What the worker does: artifacts first, the manifest last."""
    prefix = keys.model_artifacts(tenant, model_id, 1)
    files = [key.removeprefix(prefix) for key in store.upload_folder(prefix, folder)]
    if manifest:
        tt = training_type(kind)
        record = ModelManifest(
            id=model_id, tenant=tenant, base_model=DEFAULT_MODEL_ID, job_id="ftjob-abcd1234", files=files,
            kind=tt["type"], task_format=task_format, attempt=1, extra={"training_type": tt},
        )
        store.put_json(keys.model_manifest(tenant, model_id), record.model_dump(mode="json"))


def reference_answer(folder: Path | None, base_model_dir: Path, messages: list[dict], max_tokens: int) -> str:
    """Greedy answer of the model in `folder` (None: the base), computed from scratch at every token."""
    from peft import PeftModel

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    if folder is not None and not (folder / "adapter_config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
        if folder is not None:
            model = PeftModel.from_pretrained(model, folder)
    model.eval()
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    sequence = list(ids)
    with torch.inference_mode():
        for _ in range(max_tokens):
            x = torch.tensor([sequence])
            token = int(model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False).logits[0, -1].argmax())
            if token == tokenizer.eos_token_id:
                break
            sequence.append(token)
    return tokenizer.decode(sequence[len(ids):], skip_special_tokens=True)


@contextmanager
def live_server(app: Any, ready_path: str = "/readyz", timeout_s: float = 120) -> Iterator[str]:
    """`app` served by uvicorn on a free port in a thread, until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                if httpx.get(url + ready_path).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}{ready_path} did not answer 200 within {timeout_s:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def catalog_setting(base_model_dir: Path) -> str:
    return json.dumps({DEFAULT_MODEL_ID: str(base_model_dir)})


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of the samples named `name` with these labels on `{url}/metrics`."""
    total = 0.0
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
