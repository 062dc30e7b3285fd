"""The embedded engine: continuous batching on transformers + peft, every kind training produces.

What lives in memory:
- each catalog base model, loaded before the engine says ready, wrapped in one PeftModel once its first
  LoRA adapter arrives; every LoRA / QLoRA / rsLoRA adapter of that base is a named adapter inside it
  (LRU, `max_adapters` per base), and one batch mixes them and the base itself (peft's `adapter_names`);
- every other kind (full fine-tunes, IA3, DoRA, prefix and prompt tuning) in a model instance of its
  own, batched with the requests for that same model; these are kept under a memory budget (LRU);
- classifiers, which answer with their predicted label in one forward pass.

Each batch has a thread (a BatchGroup) that loops: admit waiting requests (prefill each alone, then
add its rows to the batch), run one decode step for every row, hand each row its next token. So new
requests join between decode steps and a finished or abandoned one leaves at once. Callers talk to the
engine from asyncio: `submit` resolves, loads and queues (raising before anything is streamed), and the
returned Generation yields the events.
"""

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DynamicCache,
    PreTrainedTokenizerBase,
)

from jobs.catalog import Catalog
from jobs.resolver import ModelResolver, ResolvedModel
from jobs.serving.downloads import fetch_model_folder
from jobs.serving.decoding import TextStream, generator_for, next_token, token_logprob
from jobs.serving.metrics import ServingMetrics
from jobs.serving.structured import Grammars, JsonConstraint
from jobs.serving.types import (
    Delta,
    Done,
    EngineBusy,
    EngineNotReady,
    Finished,
    GenerationFailed,
    GenerationRequest,
    InvalidGenerationRequest,
    Sampling,
    Started,
    TokenLogprob,
)
from jobs.store import Store
from jobs.training.artifacts import read_info

log = logging.getLogger(__name__)

BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed batch
KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values [batch, heads, positions, head_dim]


# -- a generation, as its caller sees it ------------------------------------------------------------


class Generation:
    """One request inside the engine. Iterate it for events; `cancel()` (or leaving the loop) frees its place."""

    def __init__(self, n: int, prompt_tokens: int, on_end: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue = asyncio.Queue()
        self.cancelled = threading.Event()
        self.n = n
        self.prompt_tokens = prompt_tokens
        self.open_choices = n
        self.completion_tokens = 0
        self.submitted_at = time.perf_counter()
        self._on_end = on_end  # releases the model's reference once, when the last choice ends

    def push(self, event: object) -> None:
        self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    def fail(self, exc: BaseException) -> None:
        self.push(exc)
        self._end()

    def choice_ended(self) -> None:
        self.open_choices -= 1
        if self.open_choices == 0:
            self.push(Done(self.prompt_tokens, self.completion_tokens))
            self._end()

    def _end(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end:
            on_end()

    def cancel(self) -> None:
        self.cancelled.set()

    async def __aiter__(self) -> AsyncIterator[object]:
        yield Started(self.prompt_tokens)
        try:
            while True:
                event = await self._events.get()
                if isinstance(event, BaseException):
                    raise event
                yield event
                if isinstance(event, Done):
                    return
        finally:
            self.cancel()


# -- how a batch calls its model --------------------------------------------------------------------


def _kv_of(cache: DynamicCache) -> KV:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _cache_of(kv: KV) -> DynamicCache:
    """A DynamicCache holding `kv` itself (building one from data would copy every tensor once more per step)."""
    cache = DynamicCache(ddp_cache_data=[(k[:, :, :0], v[:, :, :0]) for k, v in kv])
    for layer, (k, v) in zip(cache.layers, kv):
        layer.keys, layer.values = k, v
    return cache


class Runner:
    """A model as a batch group calls it: `prefill` one prompt alone, `decode` one token for every row.

    Prompt-learning methods prefill through peft (which adds the virtual tokens) and decode with the
    model under it, whose cache then already holds them."""

    def __init__(self, prefill_model: Any, decode_model: Any) -> None:
        self._prefill_model = prefill_model
        self._decode_model = decode_model

    def models(self) -> tuple[Any, Any]:
        return self._prefill_model, self._decode_model

    @property
    def device(self) -> torch.device:
        return self.models()[1].device

    def prefill(self, ids: list[int], adapter: str) -> tuple[torch.Tensor, KV]:
        model = self.models()[0]
        input_ids = torch.tensor([ids], device=model.device)
        out = self._forward(model, [adapter], input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=True)
        return out.logits[0, -1].float().cpu(), _kv_of(out.past_key_values)

    def decode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
               kv: KV, adapters: list[str]) -> tuple[torch.Tensor, KV]:
        model = self.models()[1]
        out = self._forward(model, adapters, input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            past_key_values=_cache_of(kv), use_cache=True)
        return out.logits[:, -1].float().cpu(), _kv_of(out.past_key_values)

    def _forward(self, model: Any, adapters: list[str], **inputs: Any) -> Any:
        return model(**inputs)


class SharedBaseRunner(Runner):
    """A base model and its LoRA adapters: one forward serves rows of different adapters (and the base)."""

    def __init__(self, base: "SharedBase") -> None:
        super().__init__(None, None)
        self.base = base

    def models(self) -> tuple[Any, Any]:
        # The PeftModel once an adapter is loaded: its layers then live inside the base model.
        model = self.base.peft or self.base.model
        return model, model

    def _forward(self, model: Any, adapters: list[str], **inputs: Any) -> Any:
        peft = self.base.peft
        if peft is None:
            return model(**inputs)
        kinds = set(adapters)
        if len(kinds) > 1 or kinds == {BASE_ADAPTER}:
            # Mixed: peft splits each LoRA layer's input by row. (Base rows alone take this way too: switching
            # the adapters off and on again with `disable_adapter()` costs more than a step.)
            return peft(**inputs, adapter_names=adapters)
        # One adapter for every row: the plain LoRA forward, without the per-row split's overhead.
        (only,) = kinds
        if peft.active_adapter != only:
            peft.set_adapter(only, inference_mode=True)
        return peft(**inputs)


# -- a batch and its thread ------------------------------------------------------------------------


@dataclass
class Choice:
    generation: Generation
    index: int
    adapter: str
    sampling: Sampling
    text: TextStream
    generator: torch.Generator | None
    json: JsonConstraint | None = None  # structured output: the answer so far against its schema
    last_token: int = -1
    n_tokens: int = 0
    last_at: float = 0.0


@dataclass
class Pending:
    generation: Generation
    prompt_ids: list[int]
    adapter: str
    sampling: Sampling
    tokenizer: PreTrainedTokenizerBase
    json: list[JsonConstraint] | None = None  # one per choice, for a request with a JSON schema


class BatchGroup:
    """The requests of one model object decoding together, driven by one thread."""

    def __init__(self, name: str, runner: Runner, eos_ids: set[int], kind_of: Any, max_batch: int,
                 max_queue: int, metrics: ServingMetrics) -> None:
        self.name = name
        self.runner = runner
        self.eos_ids = eos_ids
        self.kind_of = kind_of  # adapter name → model kind label for metrics
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.metrics = metrics
        self.model_lock = threading.Lock()  # held for each forward; adapter loads take it between steps
        self._cond = threading.Condition()
        self._waiting: deque[Pending] = deque()
        self._rows: list[Choice] = []
        self._kv: KV | None = None
        self._mask: torch.Tensor | None = None  # [rows, positions]: 1 for a real position, 0 for left padding
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"batch-{name}", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._waiting or self._rows)

    def submit(self, pending: Pending) -> None:
        with self._cond:
            if len(self._waiting) >= self.max_queue:
                raise EngineBusy(
                    f"the queue for this model is full ({self.max_queue} requests waiting); retry shortly", retry_after_s=1
                )
            self._waiting.append(pending)
            self.metrics.queue_depth.inc()
            self._cond.notify()

    def stop(self, wait: bool = False) -> None:
        """Finish what is queued and running, then end the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if wait:
            self._thread.join(timeout=60)

    def cancel_all(self) -> None:
        with self._cond:
            for generation in {p.generation for p in self._waiting} | {c.generation for c in list(self._rows)}:
                generation.cancel()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._rows and not self._stopped:
                    self._cond.wait()
                if self._stopped and not self._waiting and not self._rows:
                    return
                admitted = []
                free = self.max_batch - len(self._rows)
                while self._waiting and (free >= self._waiting[0].sampling.n or not self._rows and not admitted):
                    pending = self._waiting.popleft()
                    free -= pending.sampling.n
                    admitted.append(pending)
                self.metrics.queue_depth.dec(len(admitted))
            try:
                for pending in admitted:
                    self._prefill(pending)
                if self._rows:
                    self._step()
            except Exception as exc:  # a broken step fails its requests, never the thread
                log.exception("batch %s: generation failed", self.name)
                failed = {c.generation for c in self._rows} | {p.generation for p in admitted}
                self._rows, self._kv, self._mask = [], None, None
                for generation in failed:
                    generation.fail(GenerationFailed(f"generation failed: {type(exc).__name__}: {exc}"))

    def _prefill(self, pending: Pending) -> None:
        generation = pending.generation
        if generation.cancelled.is_set():
            generation.fail(asyncio.CancelledError())
            return
        with torch.inference_mode(), self.model_lock:
            logits, kv = self.runner.prefill(pending.prompt_ids, pending.adapter)
        kind = self.kind_of(pending.adapter)
        self.metrics.prompt_tokens.labels(kind).inc(len(pending.prompt_ids))
        self.metrics.time_to_first_token.labels(kind).observe(time.perf_counter() - generation.submitted_at)
        decode = _decoder(pending.tokenizer)
        choices = [
            Choice(generation, i, pending.adapter, pending.sampling, TextStream(decode, pending.sampling.stop),
                   generator_for(pending.sampling, i), pending.json[i] if pending.json else None)
            for i in range(pending.sampling.n)
        ]
        logits_rows = logits.unsqueeze(0).expand(len(choices), -1)
        kept = self._advance(choices, logits_rows)
        if kept:
            self._add_rows(kept, kv)

    def _step(self) -> None:
        rows = self._rows
        assert self._kv is not None and self._mask is not None
        self.metrics.batch_size.observe(len(rows))
        input_ids = torch.tensor([[c.last_token] for c in rows])
        position_ids = self._mask.sum(dim=1, keepdim=True)
        mask = torch.cat([self._mask, torch.ones(len(rows), 1, dtype=self._mask.dtype)], dim=1)
        device = self.runner.device
        with torch.inference_mode(), self.model_lock:
            logits, kv = self.runner.decode(
                input_ids.to(device), mask.to(device), position_ids.to(device), self._kv, [c.adapter for c in rows]
            )
        self._kv, self._mask = kv, mask
        kept = set(map(id, self._advance(rows, logits)))
        if len(kept) < len(rows):
            self._keep([i for i, c in enumerate(rows) if id(c) in kept])

    def _advance(self, choices: list[Choice], logits: torch.Tensor) -> list[Choice]:
        """Give each choice its next token; returns those that go on."""
        going_on = []
        now = time.perf_counter()
        for choice, row in zip(choices, logits):
            generation = choice.generation
            if generation.cancelled.is_set():
                self._end(choice, None)
                continue
            if choice.json is None:
                token = next_token(row, choice.sampling, choice.generator)
            else:
                token = next_token(choice.json.allowed(row), choice.sampling, choice.generator)
                choice.json.consume(token)
            if choice.n_tokens:
                self.metrics.inter_token_latency.labels(self.kind_of(choice.adapter)).observe(now - choice.last_at)
            choice.last_at = now
            choice.n_tokens += 1
            generation.completion_tokens += 1
            self.metrics.generated_tokens.labels(self.kind_of(choice.adapter)).inc()
            logprobs: tuple[TokenLogprob, ...] = ()
            if choice.sampling.logprobs:
                logprobs = (token_logprob(row, token, choice.sampling.top_logprobs, choice.text.decode),)
            if token in self.eos_ids:
                generation.push(Delta(choice.index, choice.text.flush(), logprobs))
                self._end(choice, "stop")
                continue
            text, stopped = choice.text.add(token)
            if choice.json is not None and choice.json.done:  # the JSON is complete: nothing may follow
                generation.push(Delta(choice.index, text + choice.text.flush(), logprobs))
                self._end(choice, "stop")
                continue
            if stopped:
                generation.push(Delta(choice.index, text, logprobs))
                self._end(choice, "stop")
                continue
            if choice.n_tokens >= choice.sampling.max_new_tokens:
                generation.push(Delta(choice.index, text + choice.text.flush(), logprobs))
                self._end(choice, "length")
                continue
            if text or logprobs:
                generation.push(Delta(choice.index, text, logprobs))
            choice.last_token = token
            going_on.append(choice)
        return going_on

    def _end(self, choice: Choice, reason: str | None) -> None:
        if reason is not None:
            choice.generation.push(Finished(choice.index, reason))  # type: ignore[arg-type]
        choice.generation.choice_ended()

    # -- the batch's KV cache: left-padded rows ------------------------------------------------------

    def _add_rows(self, choices: list[Choice], kv: KV) -> None:
        n, length = len(choices), kv[0][0].shape[-2]
        new_kv = [(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in kv]
        new_mask = torch.ones(n, length, dtype=torch.long)
        if self._kv is None or self._mask is None:
            self._kv, self._mask = [(k.contiguous(), v.contiguous()) for k, v in new_kv], new_mask
        else:
            width = max(self._mask.shape[1], length)
            old_kv, old_mask = _pad_left(self._kv, self._mask, width)
            new_kv, new_mask = _pad_left(new_kv, new_mask, width)
            self._kv = [(torch.cat([ok, nk]), torch.cat([ov, nv])) for (ok, ov), (nk, nv) in zip(old_kv, new_kv)]
            self._mask = torch.cat([old_mask, new_mask])
        self._rows.extend(choices)

    def _keep(self, rows: list[int]) -> None:
        if not rows:
            self._rows, self._kv, self._mask = [], None, None
            return
        assert self._kv is not None and self._mask is not None
        index = torch.tensor(rows)
        device_index = index.to(self._kv[0][0].device)
        mask = self._mask[index]
        # Columns that are padding in every remaining row go too.
        first = int(torch.nonzero(mask.any(dim=0))[0])
        self._mask = mask[:, first:]
        self._kv = [(k[device_index, :, first:], v[device_index, :, first:]) for k, v in self._kv]
        self._rows = [self._rows[i] for i in rows]


def _pad_left(kv: KV, mask: torch.Tensor, width: int) -> tuple[KV, torch.Tensor]:
    extra = width - mask.shape[1]
    if extra == 0:
        return kv, mask
    return [(F.pad(k, (0, 0, extra, 0)), F.pad(v, (0, 0, extra, 0))) for k, v in kv], F.pad(mask, (extra, 0))


def _decoder(tokenizer: PreTrainedTokenizerBase) -> Any:
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=True)


# -- what is loaded --------------------------------------------------------------------------------


@dataclass
class Adapter:
    name: str  # its module name inside the PeftModel
    tokenizer: PreTrainedTokenizerBase
    kind: str
    refs: int = 0


@dataclass
class SharedBase:
    base_id: str
    model: Any
    tokenizer: PreTrainedTokenizerBase
    context_length: int | None
    peft: Any = None  # the PeftModel, created with the first adapter
    adapters: "OrderedDict[str, Adapter]" = field(default_factory=OrderedDict)  # LRU order, oldest first
    group: BatchGroup | None = None


@dataclass
class OwnModel:
    key: str
    kind: str
    tokenizer: PreTrainedTokenizerBase
    context_length: int | None
    bytes: int
    virtual_tokens: int = 0  # prompt-learning methods put this many positions before the prompt
    group: BatchGroup | None = None
    classifier: Any = None  # a sequence-classification model (answers with a label, no batch group)
    labels: list[str] | None = None
    refs: int = 0


@dataclass
class Target:
    """Where a request runs: its batch group (or classifier), tokenizer and limits."""

    resolved: ResolvedModel
    adapter: str
    tokenizer: PreTrainedTokenizerBase
    context_length: int | None
    virtual_tokens: int
    group: BatchGroup | None
    own: OwnModel | None = None
    shared: Adapter | None = None


class EmbeddedEngine:
    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        cache_dir: Path,
        *,
        max_adapters: int = 8,
        max_batch: int = 32,
        max_queue: int = 256,
        memory_budget_bytes: int = 8 * 2**30,
        metrics: ServingMetrics | None = None,
    ) -> None:
        if max_adapters < 1 or max_batch < 1 or max_queue < 1:
            raise ValueError("max_adapters, max_batch and max_queue must each be at least 1")
        self.catalog = catalog
        self.store = store
        self.resolver = ModelResolver(catalog, store)
        self.grammars = Grammars()
        self.cache_dir = cache_dir
        self.max_adapters = max_adapters
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.memory_budget_bytes = memory_budget_bytes
        self.metrics = metrics or ServingMetrics()
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self._bases: dict[str, SharedBase] = {}
        self._own: OrderedDict[str, OwnModel] = OrderedDict()  # LRU order, oldest first
        self._lock = threading.Lock()  # guards the tables above and the reference counts
        self._loading: dict[str, threading.Lock] = {}  # one load per model at a time
        self.ready = False

    # -- lifecycle -------------------------------------------------------------------------------

    def load_bases(self) -> None:
        """Load every catalog model (converting packaged ones first); the engine is ready afterwards."""
        for base_id in self.catalog.ids():
            self._base(base_id)
        self.ready = True

    def check(self) -> None:
        """Readiness: raise if base models are still loading or the store cannot be reached."""
        if not self.ready:
            raise EngineNotReady("base models are still loading")
        self.store.check()

    def close(self) -> None:
        groups = [m.group for m in [*self._bases.values(), *self._own.values()] if m.group]
        for group in groups:
            group.cancel_all()
            group.stop()
        for group in groups:
            group.stop(wait=True)

    # -- requests --------------------------------------------------------------------------------

    async def submit(self, request: GenerationRequest) -> Generation:
        """Resolve, load and queue `request`. Raises (ModelNotFound, InvalidGenerationRequest, EngineBusy, …)
        before anything is generated; the Generation then yields Started, Delta/Finished per choice, Done."""
        if not self.ready:
            raise EngineNotReady("the inference server is still loading its base models; retry shortly")
        resolved = await asyncio.to_thread(self.resolver.resolve, request.tenant, request.model)
        target = await asyncio.to_thread(self._target, request.tenant, resolved)
        try:
            prompt_ids = self._prompt_ids(target, request)
            self._check_length(target, request, len(prompt_ids))
            generation = Generation(request.sampling.n, len(prompt_ids), lambda: self._release(target))
            if target.own is not None and target.own.classifier is not None:
                if request.sampling.json_schema is not None:
                    raise InvalidGenerationRequest(
                        f"model {request.model!r} is a classifier: it answers with a label, never JSON; "
                        "omit response_format", param="response_format",
                    )
                await asyncio.to_thread(self._classify, target, prompt_ids, generation)
                return generation
            assert target.group is not None
            json = await asyncio.to_thread(self._json_constraints, request.sampling, target.tokenizer)
            target.group.submit(Pending(generation, prompt_ids, target.adapter, request.sampling, target.tokenizer, json))
        except BaseException:
            self._release(target)
            raise
        return generation

    def _prompt_ids(self, target: Target, request: GenerationRequest) -> list[int]:
        tokenizer = target.tokenizer
        if target.own is not None and target.own.classifier is not None:
            text = request.prompt if request.prompt is not None else _last_user_text(request.messages or ())
            return tokenizer(text, truncation=True, max_length=target.context_length or None)["input_ids"]
        if request.messages is None:
            return tokenizer(request.prompt or "")["input_ids"]
        if not tokenizer.chat_template:
            raise InvalidGenerationRequest(
                f"model {request.model!r} has no chat template; use POST /v1/completions", param="model"
            )
        text = tokenizer.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    def _json_constraints(self, sampling: Sampling, tokenizer: PreTrainedTokenizerBase) -> list[JsonConstraint] | None:
        if sampling.json_schema is None:
            return None
        self.grammars.check(sampling.json_schema, tokenizer)
        return [self.grammars.constraint(sampling.json_schema, tokenizer) for _ in range(sampling.n)]

    @staticmethod
    def _check_length(target: Target, request: GenerationRequest, prompt_tokens: int) -> None:
        limit = target.context_length
        if target.own is not None and target.own.classifier is not None:
            return
        wanted = target.virtual_tokens + prompt_tokens + request.sampling.max_new_tokens
        if limit and wanted > limit:
            virtual = f" plus {target.virtual_tokens} virtual tokens" if target.virtual_tokens else ""
            raise InvalidGenerationRequest(
                f"this model's maximum context length is {limit} tokens; the prompt has {prompt_tokens} tokens{virtual} "
                f"and max_tokens asks for {request.sampling.max_new_tokens}: shorten the prompt or lower max_tokens",
                param="messages" if request.messages is not None else "prompt",
            )

    def _classify(self, target: Target, prompt_ids: list[int], generation: Generation) -> None:
        own = target.own
        assert own is not None and own.labels is not None
        with self._loading_lock(f"classify:{own.key}"):
            input_ids = torch.tensor([prompt_ids], device=self.device)
            with torch.inference_mode():
                logits = own.classifier(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).logits[0]
        logprobs = torch.log_softmax(logits.float().cpu(), dim=-1)
        best = int(torch.argmax(logprobs))
        ranked = torch.argsort(logprobs, descending=True).tolist()
        top = tuple((own.labels[i], float(logprobs[i])) for i in ranked[:20])
        self.metrics.prompt_tokens.labels("classifier").inc(len(prompt_ids))
        generation.completion_tokens = 1
        generation.push(Delta(0, own.labels[best], (TokenLogprob(own.labels[best], float(logprobs[best]), top),)))
        generation.push(Finished(0, "stop"))
        for extra in range(1, generation.n):  # n > 1: a classifier's answer is the same every time
            generation.push(Delta(extra, own.labels[best], (TokenLogprob(own.labels[best], float(logprobs[best]), top),)))
            generation.push(Finished(extra, "stop"))
        generation.open_choices = 1
        generation.choice_ended()

    # -- loading ---------------------------------------------------------------------------------

    def _loading_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(key, threading.Lock())

    def _target(self, tenant: str, resolved: ResolvedModel) -> Target:
        if resolved.role == "base":
            base = self._base(resolved.name)
            return Target(resolved, BASE_ADAPTER, base.tokenizer, base.context_length, 0, base.group)
        if resolved.is_lora_family and not resolved.uses_dora:
            return self._shared_adapter(tenant, resolved)
        return self._own_model(tenant, resolved)

    def _base(self, base_id: str) -> SharedBase:
        with self._loading_lock(f"base:{base_id}"):
            if base_id in self._bases:
                return self._bases[base_id]
            started = time.perf_counter()
            folder = self.catalog.local_folder(base_id)
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.dtype).to(self.device).eval()
            base = SharedBase(base_id, model, tokenizer, _context_length(model))
            kinds = {BASE_ADAPTER: "base"}
            base.group = BatchGroup(
                base_id, SharedBaseRunner(base), _eos_ids(model, tokenizer),
                lambda name: kinds.get(name) or (base.adapters[name].kind if name in base.adapters else "lora"),
                self.max_batch, self.max_queue, self.metrics,
            )
            self._bases[base_id] = base
            log.info("loaded base model %s on %s in %.1fs", base_id, self.device, time.perf_counter() - started)
            return base

    def _shared_adapter(self, tenant: str, resolved: ResolvedModel) -> Target:
        base = self._base(resolved.base_model)
        # created_at is in the name, so a model re-created under the same id is not served stale.
        name = "ft_" + hashlib.sha256(f"{tenant}\0{resolved.name}\0{resolved.created_at}".encode()).hexdigest()[:16]

        def load() -> Adapter:
            folder = fetch_model_folder(self.store, resolved, self.cache_dir)
            return self._load_adapter(base, name, folder, resolved.kind)

        adapter = self._cached(base.adapters, name, resolved.kind, load)
        self._evict_adapters(base)
        return Target(resolved, name, adapter.tokenizer, base.context_length, 0, base.group, shared=adapter)

    def _cached(self, table: "OrderedDict[str, Any]", key: str, kind: str, load: Any) -> Any:
        """`table[key]` (an Adapter or OwnModel, LRU order) with one more reference; loaded once if missing."""
        with self._loading_lock(key):
            with self._lock:
                entry = table.get(key)
                if entry is not None:
                    entry.refs += 1
                    table.move_to_end(key)
                    self.metrics.adapter_hits.labels(entry.kind).inc()
                    return entry
            started = time.perf_counter()
            entry = load()
            self.metrics.adapter_loads.labels(entry.kind).inc()
            self.metrics.adapter_load_seconds.labels(entry.kind).observe(time.perf_counter() - started)
            with self._lock:
                table[key] = entry
                self._update_gauges()
            return entry

    def _load_adapter(self, base: SharedBase, name: str, folder: Path, kind: str) -> Adapter:
        from peft import PeftModel

        tokenizer = AutoTokenizer.from_pretrained(folder) if (folder / "tokenizer_config.json").is_file() else base.tokenizer
        assert base.group is not None
        try:
            with base.group.model_lock:
                if base.peft is None:
                    base.peft = PeftModel.from_pretrained(base.model, folder, adapter_name=name).eval()
                else:
                    base.peft.load_adapter(folder, adapter_name=name)
        except (ValueError, OSError, RuntimeError, KeyError) as exc:
            raise GenerationFailed(f"the adapter in {folder.name} could not be loaded: {exc}") from exc
        return Adapter(name, tokenizer, kind, refs=1)

    def _evict_adapters(self, base: SharedBase) -> None:
        """Unload least recently used adapters beyond max_adapters; never one a request is using."""
        with self._lock:
            surplus = len(base.adapters) - self.max_adapters
            candidates = [a.name for a in base.adapters.values() if a.refs == 0][: max(0, surplus)]
        assert base.group is not None
        for name in candidates:
            # Under its loading lock, so no request can be loading it again while it is deleted.
            with self._loading_lock(name):
                with self._lock:
                    adapter = base.adapters.get(name)
                    if adapter is None or adapter.refs:
                        continue
                    del base.adapters[name]
                    self._update_gauges()
                with base.group.model_lock:
                    base.peft.delete_adapter(name)
            self.metrics.adapter_evictions.labels(adapter.kind).inc()
            log.info("evicted adapter %s from %s", name, base.base_id)

    def _own_model(self, tenant: str, resolved: ResolvedModel) -> Target:
        key = f"{tenant}\0{resolved.name}\0{resolved.created_at}"

        def load() -> OwnModel:
            return self._load_own(key, resolved, fetch_model_folder(self.store, resolved, self.cache_dir))

        own = self._cached(self._own, key, resolved.kind, load)
        self._evict_own()
        return Target(resolved, BASE_ADAPTER, own.tokenizer, own.context_length, own.virtual_tokens, own.group, own=own)

    def _load_own(self, key: str, resolved: ResolvedModel, folder: Path) -> OwnModel:
        from peft import PeftModel

        kind = resolved.model_kind
        base_folder = self.catalog.local_folder(resolved.base_model)
        has_tokenizer = (folder / "tokenizer_config.json").is_file()
        tokenizer = AutoTokenizer.from_pretrained(folder if has_tokenizer else base_folder)
        is_adapter = (folder / "adapter_config.json").is_file()
        try:
            if resolved.is_classifier:
                labels = read_info(folder).labels or []
                model = AutoModelForSequenceClassification.from_pretrained(
                    base_folder if is_adapter else folder, num_labels=len(labels), dtype=self.dtype
                )
                model.config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
                if is_adapter:
                    model = PeftModel.from_pretrained(model, folder)
                model = model.to(self.device).eval()
                return OwnModel(key, kind, tokenizer, None, _bytes_of(model), classifier=model, labels=labels, refs=1)
            if is_adapter:
                base = AutoModelForCausalLM.from_pretrained(base_folder, dtype=self.dtype)
                model = PeftModel.from_pretrained(base, folder).to(self.device).eval()
            else:
                model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.dtype).to(self.device).eval()
        except (ValueError, OSError, RuntimeError, KeyError) as exc:
            raise GenerationFailed(f"model {resolved.name!r} could not be loaded: {exc}") from exc
        virtual = 0
        runner = Runner(model, model)
        if getattr(model, "active_peft_config", None) is not None and model.active_peft_config.is_prompt_learning:
            # peft adds the virtual tokens in the prefill; later steps run the model under it with that cache.
            virtual = model.active_peft_config.num_virtual_tokens
            runner = Runner(model, model.get_base_model())
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        own = OwnModel(key, kind, tokenizer, _context_length(inner), _bytes_of(model), virtual_tokens=virtual, refs=1)
        own.group = BatchGroup(
            f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:8]}", runner, _eos_ids(inner, tokenizer),
            lambda _name: kind, self.max_batch, self.max_queue, self.metrics,
        )
        return own

    def _evict_own(self) -> None:
        """Drop least recently used own-weight models while over the memory budget; never one in use."""
        with self._lock:
            total = sum(m.bytes for m in self._own.values())
            victims = []
            for key, own in list(self._own.items()):
                if total <= self.memory_budget_bytes:
                    break
                if own.refs == 0:
                    victims.append(self._own.pop(key))
                    total -= own.bytes
            self._update_gauges()
        for own in victims:
            if own.group:
                own.group.stop()
            self.metrics.adapter_evictions.labels(own.kind).inc()
            log.info("evicted %s model %s (memory budget %d bytes)", own.kind, own.key.split("\0")[1], self.memory_budget_bytes)

    def _release(self, target: Target) -> None:
        with self._lock:
            if target.shared is not None:
                target.shared.refs -= 1
            if target.own is not None:
                target.own.refs -= 1

    def _update_gauges(self) -> None:
        self.metrics.adapters_loaded.set(sum(len(b.adapters) for b in self._bases.values()) + len(self._own))


def _context_length(model: Any) -> int | None:
    return getattr(model.config, "max_position_embeddings", None)


def _bytes_of(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _eos_ids(model: Any, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    configured = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def _last_user_text(messages: tuple[dict[str, str], ...]) -> str:
    users = [m["content"] for m in messages if m.get("role") == "user"]
    return users[-1] if users else (messages[-1]["content"] if messages else "")

