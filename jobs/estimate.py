"""Estimates on the worker: the server every worker runs beside its jobs, and the child process that computes one.

    python -m jobs.estimate REQUEST.json ANSWER.json     (the worker's child; REQUEST from EstimateServer)

The child does what a job's training does before its first step, with the same code: it resolves the job
(jobs.training_input: files checked, plan decided, the model it continues checked), loads the tokenizer and
tokenizes the examples (jobs.training.pipeline), and replays the loop's data order (jobs.training.loop) to
count the tokens each step feeds, which is exactly what the job records as `trained_tokens` (with
`early_stopping`, at most that). For memory it builds the trainable model on the meta device (shapes without
weights, as sharded loading does) and asks jobs.training.memory for the activation plan.

Importing this module is cheap: torch and transformers load only in the child.
"""

import asyncio
import logging
import os
import random
import shutil
import sys
import time
from pathlib import Path

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobs import keys
from jobs.estimates import (
    REPLY_TTL_S, EstimateError, EstimateReply, EstimateRequest, EstimateResult, MemoryEstimate, with_duration,
)
from jobs.runner import job_files
from jobs.spec import JobSpec, processes_per_node, sharding_strategy
from jobs.store import Store, StoreUnavailable

log = logging.getLogger("ftaas.worker")

QLORA_BYTES_PER_WEIGHT = 0.5 + 1 / 64  # NF4 with double quantisation: 4 bits and about 0.13 bits of scales


class ChildRequest(BaseModel):
    spec: JobSpec
    training_path: Path
    validation_path: Path | None = None
    start_from: Path | None = None
    names: tuple[str, str]
    processes: int


class EstimateServer:
    """Takes estimate requests off Redis one at a time and answers them (jobs.estimates describes the exchange)."""

    def __init__(self, redis: Redis, store: Store, work_dir: Path, child_env: dict[str, str], procs_per_node: int,
                 python: str = sys.executable) -> None:
        self.redis = redis
        self.store = store
        self.work_dir = work_dir
        self.child_env = child_env
        self.procs_per_node = procs_per_node
        self.python = python

    async def run_forever(self, wait_s: float = 5.0) -> None:
        while True:
            try:
                await self.serve_one(wait_s)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("estimates: %s; trying again in %.0f s", exc, wait_s)
                await asyncio.sleep(wait_s)
            except Exception:
                log.exception("estimates: serving a request failed")
                await asyncio.sleep(1)

    async def serve_one(self, wait_s: float) -> bool:
        """Answer the next request, waiting up to `wait_s` for one; False when none came."""
        popped = await self.redis.brpop([keys.RedisKeys.ESTIMATE_REQUESTS], timeout=wait_s)
        if popped is None:
            return False
        request = EstimateRequest.model_validate_json(popped[1])
        if request.expires_at <= time.time():
            return True  # the API no longer waits for it
        try:
            reply = await asyncio.wait_for(self.estimate(request), timeout=request.expires_at - time.time())
        except TimeoutError:
            log.warning("estimates: request %s was not done before the API stopped waiting", request.id)
            return True
        reply_key = keys.RedisKeys.estimate_reply(request.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(reply_key, reply.model_dump_json())
            pipe.expire(reply_key, REPLY_TTL_S)
            await pipe.execute()
        return True

    async def estimate(self, request: EstimateRequest) -> EstimateReply:
        work = self.work_dir / f"estimate-{request.id}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            return await self._estimate(request, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    async def _estimate(self, request: EstimateRequest, work: Path) -> EstimateReply:
        spec, tenant = request.spec, request.tenant
        files = job_files(spec, tenant, work)
        paths = {role: path for role, (_, path) in files.items()}
        try:
            for key, path in files.values():
                await asyncio.to_thread(self.store.download_file, key, path)
            start = None
            if request.starting_model is not None:
                start = work / "start"
                await asyncio.to_thread(self.store.download_folder, request.starting_model.artifacts, start)
        except StoreUnavailable as exc:
            return EstimateReply(error=EstimateError(code="unavailable", message=f"the store is unreachable: {exc}"))
        processes = processes_per_node(spec.compute, spec.training_type, self.procs_per_node) * spec.compute.num_nodes
        child_request = ChildRequest(
            spec=spec, training_path=paths["training_file"], validation_path=paths.get("validation_file"),
            start_from=start, processes=processes,
            names=(f"training_file {spec.training_file}", f"validation_file {spec.validation_file}"),
        )
        (work / "request.json").write_text(child_request.model_dump_json())
        from jobs.train import die_with_parent

        with open(work / "estimate.log", "wb") as stderr:
            child = await asyncio.create_subprocess_exec(
                self.python, "-m", "jobs.estimate", str(work / "request.json"), str(work / "answer.json"),
                stdout=stderr, stderr=stderr, env=self.child_env,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
            try:
                code = await child.wait()
            except BaseException:
                child.kill()
                raise
        if code != 0 or not (work / "answer.json").exists():
            tail = (work / "estimate.log").read_text(errors="replace").strip().splitlines()[-3:]
            log.error("estimates: the estimate process exited with code %d: %s", code, " | ".join(tail))
            return EstimateReply(error=EstimateError(code="internal_error", message=(
                f"the worker's estimate process exited with code {code}")))
        reply = EstimateReply.model_validate_json((work / "answer.json").read_text())
        return await with_duration(self.redis, spec, reply)


# The child process: everything below runs with torch.


def _device_memory(device) -> int:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_properties(device.index or 0).total_memory
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:  # a container's limit (cgroup v2)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            memory = min(memory, int(limit))
    except OSError:
        pass
    return memory


def _memory(training, tokenizer, folder: Path, task, causal: bool, longest: int, widest: int, processes: int,
            configured_budget: int) -> MemoryEstimate:
    """The trainable model built on the meta device (its shapes), and the activation plan the run will make."""
    import torch

    from jobs.recipes import RecipeContext, get_recipe
    from jobs.training import memory, pipeline

    spec, plan = training.spec, training.plan
    device, dtype = pipeline.device_and_dtype(spec)
    qlora = spec.training_type.type == "qlora"
    ctx = RecipeContext(
        spec=spec, plan=plan, model_folder=folder, tokenizer=tokenizer, device=torch.device("meta"), dtype=dtype,
        task="causal_lm" if causal else "classification", labels=training.labels, report=lambda event: None,
        parent_adapter=training.start_from if training.continues_adapter else None,
    )
    recipe = get_recipe("lora" if qlora else spec.training_type.type)  # QLoRA's adapters are LoRA's; 4-bit is counted below
    model = recipe.make_trainable(recipe.load_model(ctx), ctx).model
    n_total = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    weights = sum(b.numel() * b.element_size() for b in model.buffers())
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    head_weight = getattr(head, "weight", None)
    seen: set[int] = set()  # tied weights (embeddings and head) count once
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            if qlora and not p.requires_grad and isinstance(module, torch.nn.Linear) and p is not head_weight and p.dim() == 2:
                weights += int(p.numel() * QLORA_BYTES_PER_WEIGHT)
            elif qlora and not p.requires_grad:
                weights += p.numel() * 4  # k-bit preparation keeps the rest in float32
            else:
                weights += p.numel() * p.element_size()
    state = n_trainable * memory.OPTIMIZER_BYTES_PER_TRAINABLE
    fits_one = memory.fits_one_accelerator(folder, dtype.itemsize)
    sharded = processes > 1 and sharding_strategy(spec.compute, spec.training_type, fits_one) == "fsdp"
    if sharded:  # each process holds its shards (ProcessGroup.shard_from_main)
        weights, state = weights // processes, state // processes
    device_memory = _device_memory(device)
    if configured_budget:
        budget = configured_budget
    elif device.type == "cuda":  # as memory.activation_budget, once the weights are loaded
        budget = max(0, int((device_memory - weights - state) * memory.CUDA_FREE_MEMORY_SHARE))
    else:
        budget = memory.DEFAULT_CPU_BUDGET_BYTES
    activations = memory.plan_activations(model.config, dtype.itemsize, causal, longest, budget, plan.gradient_checkpointing)
    # A batch larger than the budget is cut into forwards of at most max_forward_tokens; one example is never cut.
    activation_bytes = activations.bytes_per_token * min(widest, max(activations.max_forward_tokens, longest))
    peak = weights + state + activation_bytes
    sharing = processes if device.type == "cpu" else 1
    return MemoryEstimate(
        device=device.type, device_memory_bytes=device_memory, total_parameters=n_total,
        trainable_parameters=n_trainable, sharded=sharded, weights_bytes=weights, trainable_state_bytes=state,
        activation_budget_bytes=budget, gradient_checkpointing=activations.gradient_checkpointing,
        activation_bytes=activation_bytes, peak_bytes=peak * sharing, fits=peak * sharing <= device_memory,
    )


def compute(request: ChildRequest, configured_budget: int = 0) -> EstimateReply:
    """The estimate of `request`'s job, from its local files: what the job's training would count."""
    from jobs.catalog import Catalog
    from jobs.data.formats import read_examples
    from jobs.data.validation import InvalidFiles
    from jobs.settings import Settings
    from jobs.training_input import resolve

    settings = Settings()
    catalog = Catalog.from_setting(settings.models, settings.cache_dir)
    try:
        training = resolve(request.spec, request.training_path, request.validation_path, catalog, request.start_from,
                           request.names)
    except InvalidFiles as exc:
        return EstimateReply(error=EstimateError(code="invalid_file", message="; ".join(exc.problems)))
    except ValueError as exc:
        return EstimateReply(error=EstimateError(code="invalid_training", message=str(exc)))

    from transformers import AutoTokenizer

    from jobs.training import loop, pipeline

    plan = training.plan
    folder = training.model_folder(catalog)  # as the run loads it
    tokenizer = AutoTokenizer.from_pretrained(folder)
    data = pipeline.TrainingData(
        format=training.format, train=read_examples(training.training_path),
        valid=read_examples(training.validation_path) if training.validation_path else None, labels=training.labels,
    )
    notes: list[str] = []
    try:
        train_set, _, _ = pipeline._tokenize(data, tokenizer, plan, lambda event: notes.append(event["message"]))
    except ValueError as exc:
        return EstimateReply(error=EstimateError(code="invalid_training", message=str(exc)))
    import torch

    task = pipeline._task(data, tokenizer, plan, torch.device("cpu"))
    examples = train_set.examples
    tokens = {id(example): task.collate([example])["n_tokens"] for example in examples}  # what a step counts of it
    # The loop's data order, replayed from the seed: the tokens of every step it will take.
    total, widest = 0, 0
    for _, _, group in loop._steps(task, examples, plan, random.Random(plan.seed)):
        for batch in group:
            total += sum(tokens[id(example)] for example in batch)
            shares = [batch[rank::request.processes] for rank in range(min(request.processes, len(batch)))]
            widest = max(widest, *(task.padded_tokens(share) for share in shares))
    causal = data.format in pipeline.CAUSAL_FORMATS
    memory, unavailable = None, None
    try:
        longest = max(task.padded_tokens([example]) for example in examples)
        memory = _memory(training, tokenizer, folder, task, causal, longest, widest, request.processes, configured_budget)
    except Exception as exc:  # an estimate without memory is still worth having
        log.exception("estimates: the memory estimate failed")
        unavailable = f"the memory estimate failed: {type(exc).__name__}: {exc}"
    return EstimateReply(result=EstimateResult(
        base_model=training.base_model, format=training.format, n_examples=len(examples),
        tokens_per_epoch=sum(tokens.values()), total_tokens=total, steps=loop.planned_steps(len(examples), plan),
        plan=plan, processes=request.processes, notes=notes, memory=memory, memory_unavailable=unavailable,
    ))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m jobs.estimate REQUEST.json ANSWER.json", file=sys.stderr)
        return 2
    from jobs.settings import Settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    request = ChildRequest.model_validate_json(Path(args[0]).read_text())
    reply = compute(request, Settings().training_activation_budget_bytes)
    Path(args[1]).write_text(reply.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
