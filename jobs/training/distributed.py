"""Training in several processes under torchrun (`python -m torch.distributed.run`), with PyTorch's DDP.

torchrun starts one process per rank with RANK, WORLD_SIZE, LOCAL_RANK and a rendezvous in the environment;
`ProcessGroup.from_environment()` joins it (NCCL on GPUs, gloo on CPU). Without torchrun the same code runs
as one process: world size 1, no collectives, no wrapper.

How several processes give one process's training (jobs/training/loop.py):
- Every rank draws the same batches from the plan's seed; each takes every world_size-th example of each
  batch, so the global batch (batch_size × gradient accumulation) is what one process would train on.
- The loss of a step is divided by the step's target count over all ranks, and DDP averages gradients
  over the ranks, so the loss is scaled by world_size: the summed gradient is one process's.
- Rank 0 alone reports events, evaluates, writes checkpoints and the final model; the weights are the
  same on every rank after each step, so a checkpoint resumes on any number of processes.
"""

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

    @classmethod
    def from_environment(cls) -> "ProcessGroup":
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls()
        local_rank = int(os.environ["LOCAL_RANK"])
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), world_size, local_rank)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

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

    def from_main(self, value: Any) -> Any:
        """Rank 0's `value`, on every rank (any picklable object)."""
        if not self.distributed:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._device())
        return box[0]

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """`model` wrapped in DDP, whose backward averages gradients over the ranks; itself in one process."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.local_rank] if torch.cuda.is_available() else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()

    def _device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if torch.cuda.is_available() else torch.device("cpu")
