"""Checkpoints of a training run: everything needed to go on exactly where it stopped.

A checkpoint is a folder `step-{n}/` holding the trainable parameters (in the loop's order), the
optimizer and scheduler states, the RNG state, the loop's counters (`state.json`), the metrics
rows so far and, when the caller exports one, the model as of that step in the same form as the
finished run's (`adapter/` or `model/`), so a new job can start from it. It appears atomically (written under a temporary name, then renamed), so a crash while
writing never leaves a checkpoint that looks complete. The data order needs no saving: it is drawn
from the plan's seed, and a resumed run replays the draws up to the checkpoint's step.
"""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

PREFIX = "step-"


def save(
    folder: Path, parameters: list[torch.nn.Parameter], optimizer, scheduler, state: dict, metrics_csv: Path,
    export: Callable[[Path], object] | None = None,
) -> Path:
    target = folder / f"{PREFIX}{state['step']}"
    staging = folder / f".tmp-{PREFIX}{state['step']}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    torch.save([p.detach().cpu() for p in parameters], staging / "parameters.pt")
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    torch.save(scheduler.state_dict(), staging / "scheduler.pt")
    torch.save(torch.get_rng_state(), staging / "rng.pt")
    shutil.copyfile(metrics_csv, staging / "metrics.csv")
    (staging / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    if export is not None:
        export(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def latest(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step in `folder`, if any."""
    found = [p for p in folder.glob(f"{PREFIX}*") if p.is_dir() and (p / "state.json").is_file()] if folder.is_dir() else []
    return max(found, key=lambda p: int(p.name.removeprefix(PREFIX)), default=None)


def load(checkpoint: Path, parameters: list[torch.nn.Parameter], optimizer, scheduler, metrics_csv: Path) -> dict:
    """Restore everything `save` wrote into the live objects; returns the loop's counters."""
    saved = torch.load(checkpoint / "parameters.pt", weights_only=True)
    if len(saved) != len(parameters) or any(s.shape != p.shape for s, p in zip(saved, parameters)):
        raise ValueError(f"checkpoint {checkpoint.name} does not fit this model and method")
    with torch.no_grad():
        for parameter, value in zip(parameters, saved):
            parameter.copy_(value)
    optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
    torch.set_rng_state(torch.load(checkpoint / "rng.pt", weights_only=True))
    shutil.copyfile(checkpoint / "metrics.csv", metrics_csv)
    return json.loads((checkpoint / "state.json").read_text())
