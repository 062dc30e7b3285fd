"""Checkpoints of a training run: everything needed to go on exactly where it stopped.

A checkpoint is a folder `step-{n}/` holding:
- `state/`: the trainable parameters and the optimizer state, by parameter name, written with
  torch.distributed.checkpoint (DCP): each rank writes its own shard (FSDP2) or one rank the replicated
  tensors (DDP, one process), and loading reshards them, so a checkpoint resumes on any number of processes
  and under either strategy;
- the scheduler and RNG states, the loop's counters (`state.json`) and the metrics rows so far;
- when the caller exports one, the model as of that step in the same form as the finished run's (`adapter/`
  or `model/`), so a new job can start from it.

It appears atomically (written under a temporary name, then renamed once every rank has written), so a crash
while writing never leaves a checkpoint that looks complete. Across nodes each node's folder holds its own
ranks' shards (node 0's also everything else, `state.json` included); jobs/across_nodes.py stores them all. The data order needs no saving: it is
drawn from the plan's seed, and a resumed run replays the draws up to the checkpoint's step.
"""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict

from jobs.training.distributed import ProcessGroup

PREFIX = "step-"
STATE = "state"  # the DCP folder in a checkpoint


def _state(model: torch.nn.Module, parameters: dict[str, torch.nn.Parameter], optimizer) -> dict:
    return {"parameters": parameters, "optimizer": get_optimizer_state_dict(model, optimizer)}


def save(
    folder: Path, model: torch.nn.Module, parameters: dict[str, torch.nn.Parameter], optimizer, scheduler,
    state: dict, metrics_csv: Path, export: Callable[[Path], object] | None = None,
    processes: ProcessGroup = ProcessGroup(),
) -> Path:
    """Every rank calls this (the writes are collective); `parameters` are the trained ones, by their name
    in `model`, `optimizer` holds them. `export(folder)`, called on every rank, writes the model there."""
    target = folder / f"{PREFIX}{state['step']}"
    staging = folder / f".tmp-{PREFIX}{state['step']}"
    if processes.is_node_main:  # across nodes, each node's ranks write their shards on that node's disk
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    processes.barrier()
    dcp.save(_state(model, parameters, optimizer), checkpoint_id=staging / STATE)  # returns once every rank wrote
    if export is not None:
        export(staging)
    if processes.is_main:
        torch.save(scheduler.state_dict(), staging / "scheduler.pt")
        torch.save(torch.get_rng_state(), staging / "rng.pt")
        shutil.copyfile(metrics_csv, staging / "metrics.csv")
        (staging / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    if processes.is_node_main:
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def latest(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step in `folder`, if any."""
    found = [p for p in folder.glob(f"{PREFIX}*") if p.is_dir() and (p / "state.json").is_file()] if folder.is_dir() else []
    return max(found, key=lambda p: int(p.name.removeprefix(PREFIX)), default=None)


def load(checkpoint: Path, model: torch.nn.Module, parameters: dict[str, torch.nn.Parameter], optimizer, scheduler,
         metrics_csv: Path) -> dict:
    """Restore everything `save` wrote into the live objects (every rank calls this); returns the loop's
    counters."""
    if not (checkpoint / STATE / ".metadata").is_file():
        raise ValueError(f"checkpoint {checkpoint.name} has no {STATE}/ folder: it was written by an earlier ftaas "
                         "release; start the job again, or continue from its exported model as a new job")
    state = _state(model, parameters, optimizer)
    try:
        dcp.load(state, checkpoint_id=checkpoint / STATE)
    except Exception as exc:  # DCP names the missing or misshapen entries
        raise ValueError(f"checkpoint {checkpoint.name} does not fit this model and method: {exc}") from exc
    set_optimizer_state_dict(model, optimizer, state["optimizer"])
    scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
    torch.set_rng_state(torch.load(checkpoint / "rng.pt", weights_only=True))
    shutil.copyfile(checkpoint / "metrics.csv", metrics_csv)
    return json.loads((checkpoint / "state.json").read_text())
