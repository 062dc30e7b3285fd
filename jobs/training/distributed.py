"""Training in several processes under torchrun (`python -m torch.distributed.run`), with PyTorch's DDP or
FSDP2 (`fully_shard`).

torchrun starts one process per rank with RANK, WORLD_SIZE, LOCAL_RANK and a rendezvous in the environment;
`ProcessGroup.from_environment(strategy)` joins it (NCCL on GPUs, gloo on CPU). Without torchrun the same code
runs as one process: world size 1, no collectives, no wrapper.

The two strategies (jobs.spec.sharding_strategy picks one per job):
- "ddp": every rank holds the whole model; DDP sums the gradients in the step's last backward.
- "fsdp": FSDP2 shards each decoder layer and the rest of the model over the ranks: parameters, gradients and
  optimizer state are split, and each layer is gathered only while it computes. The model is sharded as it
  loads (shard_from_main): rank 0 reads the weights into CPU memory, every rank shards an empty copy, and each
  receives its shards, so a model larger than one device trains. On a GPU the forward and
  backward run in bfloat16 over float32 weights, gradients reduced in float32. Every forward is collective,
  so every rank runs as many forwards as the others (padding ones count nothing) and evaluates too.

How several processes give one process's training (jobs/training/loop.py):
- Every rank draws the same batches from the plan's seed; each takes every world_size-th example of each
  batch, so the global batch (batch_size × gradient accumulation) is what one process would train on.
- The loss of a step is divided by the step's target count over all ranks, and DDP averages gradients
  over the ranks, so the loss is scaled by world_size: the summed gradient is one process's.
- Rank 0 alone reports events and writes the final model (FSDP gathers it, or an adapter's trained parameters,
  for rank 0 first). Checkpoints go through torch.distributed.checkpoint (jobs/training/checkpoints.py), which
  reshards them on load, so a checkpoint resumes on any number of processes and under either strategy.
"""

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    strategy: str = "ddp"  # jobs.spec.TRAINING_STRATEGIES

    @classmethod
    def from_environment(cls, strategy: str = "ddp") -> "ProcessGroup":
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls(strategy=strategy)
        local_rank = int(os.environ["LOCAL_RANK"])
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), world_size, local_rank, strategy)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_node_main(self) -> bool:
        """The first process on its machine (across nodes, each node writes its own files)."""
        return self.local_rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def sharded(self) -> bool:
        """Each rank holds a shard of the model (FSDP2), so every forward needs every rank."""
        return self.distributed and self.strategy == "fsdp"

    def describe(self) -> str:
        return f"{self.world_size} processes ({'FSDP2' if self.sharded else 'DDP'})" if self.distributed else "one process"

    def share(self, items: list) -> list:
        """This rank's part of `items`: every world_size-th, from its rank."""
        return items[self.rank :: self.world_size]

    def sum(self, *values: float) -> list[float]:
        """Each value summed over the ranks."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(tensor)
        return tensor.tolist()

    def max(self, value: int) -> int:
        """The largest `value` over the ranks."""
        if not self.distributed:
            return value
        tensor = torch.tensor([value], dtype=torch.int64, device=self._device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return int(tensor.item())

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def from_main(self, value: Any) -> Any:
        """Rank 0's `value`, on every rank (any picklable object)."""
        if not self.distributed:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._device())
        return box[0]

    def wrap(self, step_loss: torch.nn.Module, model: torch.nn.Module) -> torch.nn.Module:
        """`step_loss` (a module whose forward runs `model`) ready to train over the ranks: in DDP, whose
        backward averages gradients over the ranks; as it is with FSDP2 (`model` was sharded as it loaded:
        shard_from_main) and in one process."""
        if not self.distributed or self.sharded:
            return step_loss
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.local_rank] if torch.cuda.is_available() else None
        return DistributedDataParallel(step_loss, device_ids=device_ids)

    def shard_from_main(self, model: torch.nn.Module, weights: dict | None, buffers: dict | None) -> None:
        """Shard `model` with FSDP2 and fill every rank's shards from rank 0's weights, so that no process ever
        holds the whole model on its device. Every rank passes the same model built on the meta device (shapes,
        no memory); rank 0 also passes its `weights` (the model's state dict) and `buffers` (named_buffers, the
        non-persistent ones included: rotary frequencies are not in a state dict) in CPU memory. The tensors are
        sent one at a time and each rank keeps its shard; take the parameters from the model after this (they
        become DTensor shards)."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        self._shard(model)
        model.to_empty(device=self._device())
        set_model_state_dict(model, weights if self.is_main else {},
                             options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                if self.is_main:
                    buffer.copy_(buffers[name])
                dist.broadcast(buffer, src=0)

    def _shard(self, model: torch.nn.Module) -> None:
        """FSDP2 over every decoder layer (the modules transformers never splits), then the rest (embeddings,
        head, final norm) as the root group, on the transformers model itself (a peft model's base: generate
        and the adapters' forward call it, not the peft wrapper)."""
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        root = model.get_base_model() if hasattr(model, "get_base_model") else model
        layer_types = set(getattr(root, "_no_split_modules", None) or [])
        if not layer_types:
            raise ValueError(f"FSDP2 cannot find the decoder layers of {type(root).__name__} to shard; use strategy 'ddp'")
        policy = MixedPrecisionPolicy()
        if torch.cuda.is_available() and next(model.parameters()).dtype == torch.float32:
            policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        for module in root.modules():
            if type(module).__name__ in layer_types:
                fully_shard(module, mp_policy=policy)
        fully_shard(root, mp_policy=policy)

    def reshard(self, model: torch.nn.Module) -> None:
        """Under FSDP2, `model`'s parameters back to their shards: after a forward the root keeps its own gathered
        (for the backward that usually follows), so after forwards without one (measuring the base) its
        parameters are not yet the ones to train."""
        if self.sharded:
            _fsdp_root(model).reshard()

    def accumulating(self, step_loss: torch.nn.Module, last: bool):
        """Context for one backward of a step: only the step's last one exchanges gradients over the ranks."""
        if not self.distributed or last:
            return contextlib.nullcontext()
        if self.sharded:
            return _without_gradient_sync(step_loss.model)
        return step_loss.no_sync()

    def full_state_dict(self, model: torch.nn.Module, trained_only: bool = False) -> dict | None:
        """Under FSDP2, the model's state gathered on rank 0, in CPU memory (every rank must call this; the others
        get an empty dict); None otherwise (the model holds its whole state itself). `trained_only`: the trained
        parameters alone (an adapter's), so that saving one never gathers the frozen base model (140 GB for a
        70B model) on one process."""
        if not self.sharded:
            return None
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=trained_only)
        return get_model_state_dict(model, options=options)

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()

    def _device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if torch.cuda.is_available() else torch.device("cpu")


def is_sharded(model: torch.nn.Module) -> bool:
    """Whether `model` holds FSDP2 shards (its head's weights are gathered only in the model's own forward)."""
    return _fsdp_root(model) is not None


def _fsdp_root(model: torch.nn.Module):
    from torch.distributed.fsdp import FSDPModule

    return next((module for module in model.modules() if isinstance(module, FSDPModule)), None)


@contextlib.contextmanager
def _without_gradient_sync(model: torch.nn.Module):
    root = _fsdp_root(model)
    root.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        root.set_requires_gradient_sync(True)
