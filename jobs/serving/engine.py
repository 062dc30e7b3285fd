"""The inference engine: base models loaded once, tenants' LoRA adapters loaded on demand (LRU).

Each base model is wrapped in one PeftModel as soon as its first adapter is loaded; every adapter of
that base lives in the same model under its own name and is switched on with `set_adapter`. Requests
for the base model itself run with the adapters disabled. One generation at a time per base model:
switching adapters mutates the model, so the lock covers selection and generation together.

All public methods block; the app calls them in a worker thread.
"""

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from jobs import keys
from jobs.catalog import Catalog
from jobs.ids import is_checkpoint_ref, is_fine_tuned_model_id
from jobs.records import ModelManifest
from jobs.repository import CheckpointRepository, RecordNotFound
from jobs.serving.errors import InvalidGenerationRequest, ModelNotFound, ModelUnavailable
from jobs.serving.metrics import ServingMetrics
from jobs.store import ObjectNotFound, Store
from service.inference.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionChoice,
    CompletionRequest,
    FinishReason,
    SamplingParams,
    Usage,
)

log = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
# Adapters that share one PeftModel per base (same tuner type). Full models, IA3 and prompt-learning
# adapters need their own model instance each; serving them is not built yet.
SERVED_KINDS = ("lora", "qlora")


@dataclass(frozen=True)
class FineTuned:
    """A fine-tuned model or one of its checkpoints, as the engine serves it."""

    id: str  # the model name requests use
    created_at: int
    base_model: str
    kind: str  # the training_type that made it
    task_format: str
    prefix: str  # its adapter folder in the store
    files: tuple[str, ...] = ()  # the files the folder must hold (a model's manifest lists them)


@dataclass
class _Adapter:
    name: str
    tokenizer: PreTrainedTokenizerBase


@dataclass
class _LoadedBase:
    base_id: str
    model: PreTrainedModel  # the transformers model; LoRA layers are injected into it in place
    tokenizer: PreTrainedTokenizerBase
    context_length: int | None
    peft: PeftModel | None = None  # created with the first adapter
    adapters: "OrderedDict[str, _Adapter]" = field(default_factory=OrderedDict)  # LRU order, oldest first
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Output:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


class InferenceEngine:
    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        cache_dir: Path,
        max_adapters: int,
        metrics: ServingMetrics | None = None,
    ) -> None:
        if max_adapters < 1:
            raise ValueError("max_adapters must be at least 1")
        self.catalog = catalog
        self.store = store
        self.cache_dir = cache_dir
        self.max_adapters = max_adapters
        self.metrics = metrics or ServingMetrics()
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self._bases: dict[str, _LoadedBase] = {}
        # Loading is rare and slow; one lock for all loads keeps a base from being loaded twice.
        self._load_lock = threading.Lock()

    # -- public API ---------------------------------------------------------------------------

    def resolve(self, tenant: str, model: str) -> tuple[str, FineTuned | None]:
        """(base model id, the fine-tuned model or None for a base model). Never falls back to the base."""
        if model in self.catalog:
            return model, None
        if not is_fine_tuned_model_id(model):
            raise ModelNotFound(model)
        fine_tuned = self._find_checkpoint(tenant, model) if is_checkpoint_ref(model) else self._find_model(tenant, model)
        if fine_tuned.base_model not in self.catalog:
            raise ModelNotFound(model, f"its base model {fine_tuned.base_model!r} is not served by this deployment")
        if fine_tuned.kind not in SERVED_KINDS or fine_tuned.task_format == "classification":
            what = "a classifier" if fine_tuned.task_format == "classification" else f"a {fine_tuned.kind} model"
            raise InvalidGenerationRequest(
                f"model {model!r} is {what}; this server generates text with LoRA and QLoRA adapters only. "
                f"Its weights are in the store under {fine_tuned.prefix.removeprefix(tenant + '/')}.", param="model",
            )
        return fine_tuned.base_model, fine_tuned

    def _find_model(self, tenant: str, model: str) -> FineTuned:
        try:
            manifest = ModelManifest.model_validate(self.store.get_json(keys.model_manifest(tenant, model)))
        except ObjectNotFound:
            raise ModelNotFound(model) from None
        if manifest.id != model or manifest.tenant != tenant:
            raise ModelNotFound(model)
        return FineTuned(
            id=model, created_at=manifest.created_at, base_model=manifest.base_model, kind=manifest.kind,
            task_format=manifest.task_format, prefix=manifest.artifacts, files=tuple(manifest.files),
        )

    def _find_checkpoint(self, tenant: str, name: str) -> FineTuned:
        """A checkpoint's model name (`ft:…:ckpt-step-N`) answers like a fine-tuned model, as in OpenAI's API."""
        try:
            checkpoint = CheckpointRepository(self.store).read(tenant, name)
        except RecordNotFound:
            raise ModelNotFound(name) from None
        return FineTuned(
            id=name, created_at=checkpoint.created_at, base_model=checkpoint.base_model,
            kind=checkpoint.training_type["type"], task_format=checkpoint.task_format,
            prefix=checkpoint.artifacts,
        )

    def chat(self, tenant: str, request: ChatCompletionRequest) -> ChatCompletion:
        messages = [m.template_dict() for m in request.messages]

        def prompt(tokenizer: PreTrainedTokenizerBase) -> list[int]:
            if not tokenizer.chat_template:
                raise InvalidGenerationRequest(
                    f"model {request.model!r} has no chat template; use POST /v1/completions", param="model"
                )
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return tokenizer(text, add_special_tokens=False)["input_ids"]

        out = self._generate(tenant, request, request.max_new_tokens, prompt)
        return ChatCompletion(
            model=request.model,
            choices=[ChatChoice(message=AssistantMessage(content=out.text), finish_reason=out.finish_reason)],
            usage=Usage.of(out.prompt_tokens, out.completion_tokens),
        )

    def complete(self, tenant: str, request: CompletionRequest) -> Completion:
        def prompt(tokenizer: PreTrainedTokenizerBase) -> list[int]:
            return tokenizer(request.prompt)["input_ids"]

        out = self._generate(tenant, request, request.max_new_tokens, prompt)
        return Completion(
            model=request.model,
            choices=[CompletionChoice(text=out.text, finish_reason=out.finish_reason)],
            usage=Usage.of(out.prompt_tokens, out.completion_tokens),
        )

    def check(self) -> None:
        """Readiness: raise if the store cannot be reached."""
        self.store.check()

    # -- generation ---------------------------------------------------------------------------

    def _generate(
        self,
        tenant: str,
        params: SamplingParams,
        max_new_tokens: int,
        build_prompt: Callable[[PreTrainedTokenizerBase], list[int]],
    ) -> _Output:
        base_id, fine_tuned = self.resolve(tenant, params.model)
        loaded = self._base(base_id)
        # Download outside the lock, so a slow store does not hold up generations of other models.
        adapter_path = self._download_adapter(tenant, fine_tuned) if fine_tuned else None
        with loaded.lock:
            if fine_tuned is None:
                tokenizer = loaded.tokenizer
                # LoRA layers live inside the base model once any adapter is loaded: switch them off.
                adapters_off: AbstractContextManager[Any] = (
                    loaded.peft.disable_adapter() if loaded.peft else nullcontext()
                )
            else:
                assert adapter_path is not None
                adapter = self._activate_adapter(loaded, tenant, fine_tuned, adapter_path)
                tokenizer = adapter.tokenizer
                adapters_off = nullcontext()

            prompt_ids = build_prompt(tokenizer)
            if loaded.context_length and len(prompt_ids) + max_new_tokens > loaded.context_length:
                raise InvalidGenerationRequest(
                    f"this model's maximum context length is {loaded.context_length} tokens; the prompt has "
                    f"{len(prompt_ids)} tokens and max_tokens asks for {max_new_tokens}: shorten the prompt or "
                    "lower max_tokens",
                    param="max_tokens",
                )
            with adapters_off:
                return self._run(loaded.model, tokenizer, prompt_ids, max_new_tokens, params)

    def _run(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        prompt_ids: list[int],
        max_new_tokens: int,
        params: SamplingParams,
    ) -> _Output:
        eos_ids = _eos_ids(model, tokenizer)
        stops = params.stop_sequences
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "eos_token_id": sorted(eos_ids),
            "pad_token_id": tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else min(eos_ids, default=None),
        }
        if params.greedy:
            kwargs["do_sample"] = False
        else:
            # OpenAI semantics: temperature and nucleus sampling only, no top-k cut-off.
            kwargs.update(do_sample=True, temperature=params.temperature or 1.0, top_p=params.top_p or 1.0, top_k=0)
        if stops:
            kwargs.update(stop_strings=stops, tokenizer=tokenizer)
        if params.seed is not None:
            # torch's RNG is process-global: reproducible while no other base model samples at the same moment.
            torch.manual_seed(params.seed)

        input_ids = torch.tensor([prompt_ids], device=model.device)
        started = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
        self.metrics.generation_seconds.observe(time.perf_counter() - started)

        new_ids = output[0, len(prompt_ids) :].tolist()
        finish: FinishReason = "length"
        for i, token in enumerate(new_ids):
            if token in eos_ids:
                new_ids, finish = new_ids[: i + 1], "stop"
                break
        self.metrics.generated_tokens.inc(len(new_ids))

        text = tokenizer.decode(new_ids, skip_special_tokens=True)
        hits = [i for i in (text.find(s) for s in stops) if i >= 0]
        if hits:
            text, finish = text[: min(hits)], "stop"
        return _Output(text, finish, len(prompt_ids), len(new_ids))

    # -- models and adapters ------------------------------------------------------------------

    def _base(self, base_id: str) -> _LoadedBase:
        with self._load_lock:
            if base_id not in self._bases:
                self._bases[base_id] = self._load_base(base_id)
            return self._bases[base_id]

    def _load_base(self, base_id: str) -> _LoadedBase:
        started = time.perf_counter()
        folder = self.catalog.local_folder(base_id)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.dtype).to(self.device).eval()
        log.info("loaded base model %s on %s in %.1fs", base_id, self.device, time.perf_counter() - started)
        return _LoadedBase(
            base_id, model, tokenizer, context_length=getattr(model.config, "max_position_embeddings", None)
        )

    def _activate_adapter(self, loaded: _LoadedBase, tenant: str, fine_tuned: FineTuned, path: Path) -> _Adapter:
        """Load the adapter if needed (evicting the least recently used), make it the active one."""
        # Names are module keys inside the model: no '.' or ':' allowed, so use a digest.
        # created_at is part of it so a model re-created under the same id is not served stale.
        name = "ft_" + hashlib.sha256(f"{tenant}\0{fine_tuned.id}\0{fine_tuned.created_at}".encode()).hexdigest()[:16]
        adapter = loaded.adapters.get(name)
        if adapter is None:
            adapter = self._load_adapter(loaded, name, path)
            loaded.adapters[name] = adapter
        loaded.adapters.move_to_end(name)
        assert loaded.peft is not None
        loaded.peft.set_adapter(name, inference_mode=True)
        # Evict only after switching, so the adapter being deleted is never the active one.
        while len(loaded.adapters) > self.max_adapters:
            evicted, _ = loaded.adapters.popitem(last=False)
            loaded.peft.delete_adapter(evicted)
            log.info("evicted adapter %s from %s", evicted, loaded.base_id)
        self._update_adapter_gauge()
        return adapter

    def _load_adapter(self, loaded: _LoadedBase, name: str, path: Path) -> _Adapter:
        try:
            if loaded.peft is None:
                loaded.peft = PeftModel.from_pretrained(loaded.model, path, adapter_name=name)
            else:
                loaded.peft.load_adapter(path, adapter_name=name)
        except (ValueError, OSError, RuntimeError, KeyError) as exc:
            raise ModelUnavailable(f"the adapter at {path.name} could not be loaded: {exc}") from exc
        has_tokenizer = (path / "tokenizer_config.json").is_file()
        # The adapter's own tokenizer carries the chat template it was trained with.
        tokenizer = AutoTokenizer.from_pretrained(path) if has_tokenizer else loaded.tokenizer
        return _Adapter(name, tokenizer)

    def _download_adapter(self, tenant: str, fine_tuned: FineTuned) -> Path:
        """The adapter folder in the local cache; downloaded on first use, appearing atomically (rename)."""
        target = self.cache_dir / "adapters" / tenant / f"{quote(fine_tuned.id, safe='')}-{fine_tuned.created_at}"
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            self.store.download_folder(fine_tuned.prefix, staging)
            missing = [f for f in fine_tuned.files if not (staging / f).is_file()]
            if missing or not (staging / ADAPTER_CONFIG).is_file():
                raise ModelUnavailable(
                    f"model {fine_tuned.id!r} is incomplete in the store (missing {missing or [ADAPTER_CONFIG]})"
                )
            try:
                os.rename(staging, target)
            except OSError:  # another process finished first; its copy is identical
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _update_adapter_gauge(self) -> None:
        self.metrics.adapters_loaded.set(sum(len(b.adapters) for b in self._bases.values()))


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids
