"""A trained model on disk: `adapter/` (peft methods) or `model/` (every weight), each with the tokenizer
and `ftaas.json`, which says what the folder holds so that a later run can continue training it.

Finished runs and checkpoints save the same way, so a job can start from either.
"""

import json
from pathlib import Path

from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:  # this module stays torch-free: the worker reads saved models' info
    from jobs.training.distributed import ProcessGroup

INFO_FILE = "ftaas.json"


class ArtifactInfo(BaseModel):
    base_model: str  # the catalog id at the root of the lineage
    training_type: dict  # the spec's training_type that trained it
    format: str  # the task format it was trained on (jobs.data.formats.FORMATS)
    labels: list[str] | None = None  # classification: class i is labels[i]

    @property
    def is_adapter(self) -> bool:
        return self.training_type["type"] != "full"

    def as_starting_model(self, name: object) -> dict:
        """What the continuation rules (jobs.spec) know of a model a run continues, `name` being how it was named."""
        return {"id": name, "base_model": self.base_model, "training_type": self.training_type, "task_format": self.format}


def save(model, tokenizer, info: ArtifactInfo, parent: Path, processes: "ProcessGroup | None" = None) -> str:
    """Save into `parent/adapter/` or `parent/model/`; returns the folder's name. Under torchrun every rank
    calls this with its `processes` (a sharded model is gathered first) and rank 0 writes."""
    is_adapter = hasattr(model, "peft_config")
    folder = parent / ("adapter" if is_adapter else "model")
    # An adapter is its trained parameters (peft's save keeps those of the state dict it is given).
    state_dict = processes.full_state_dict(model, trained_only=is_adapter) if processes is not None else None
    if processes is not None and not processes.is_main:
        return folder.name
    model.save_pretrained(folder, **({"state_dict": state_dict} if state_dict is not None else {}))
    tokenizer.save_pretrained(folder)
    if is_adapter:
        # The adapter names its base by catalog id, not by this machine's folder. (Set after saving:
        # peft would look a non-folder name up on the Hub while saving.)
        config_path = folder / "adapter_config.json"
        config = json.loads(config_path.read_text())
        config["base_model_name_or_path"] = info.base_model
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    (folder / INFO_FILE).write_text(info.model_dump_json(indent=2) + "\n")
    return folder.name


def read_info(folder: Path) -> ArtifactInfo:
    path = folder / INFO_FILE
    if not path.is_file():
        raise ValueError(f"{folder} is not a model folder saved by ftaas (it has no {INFO_FILE}); cannot continue training it")
    return ArtifactInfo.model_validate_json(path.read_text())
