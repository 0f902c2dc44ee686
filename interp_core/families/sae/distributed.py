"""One SAE trained by several processes: ``torchrun --nproc_per_node N -m interp_core train RECIPE``.

torchrun starts N copies of the command with RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR/PORT in
the environment; ``from_environment`` joins them in one process group (gloo on CPUs, NCCL on
CUDA GPUs, one GPU per local rank). ``fit.train_sae`` then runs the same loop in every process:
``World.wrap`` puts the SAE's training loss inside DistributedDataParallel, which averages the
gradients of the ranks' shares of each global batch (each share's loss is a mean over its rows,
so the average is the mean over the global batch); ``World.any`` agrees on which latents fired
anywhere, so dead-latent tracking and the AuxK loss see the global batch; rank 0 measures and
saves the artifact while the others wait.

Without torchrun (WORLD_SIZE unset or 1) nothing here is used and ``world_size`` reads 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from interp_core.errors import RecipeError


def world_size_from_environment() -> int:
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise RecipeError(f"WORLD_SIZE is '{os.environ['WORLD_SIZE']}'; expected a whole number (torchrun sets it).") from None


class _TrainingLoss(nn.Module):
    """The SAE's ``training_loss`` as a forward, so DistributedDataParallel can wrap it."""

    def __init__(self, sae: nn.Module):
        super().__init__()
        self.sae = sae

    def forward(self, batch: torch.Tensor, dead: torch.Tensor | None):
        return self.sae.training_loss(batch, dead)


@dataclass
class World:
    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: torch.device) -> torch.device:
        """NCCL: this process's own GPU; gloo: the requested device."""
        if self.backend == "nccl":
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return requested

    def wrap(self, sae: nn.Module):
        """The training loss of ``sae`` with DDP's gradient averaging; parameters start equal (DDP broadcasts rank 0's)."""
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.local_rank] if self.backend == "nccl" else None
        return DistributedDataParallel(_TrainingLoss(sae), device_ids=device_ids, broadcast_buffers=True)

    def any(self, flags: torch.Tensor) -> torch.Tensor:
        """Elementwise OR of a bool tensor over the ranks."""
        import torch.distributed as dist

        as_int = flags.to(torch.int32)
        dist.all_reduce(as_int, op=dist.ReduceOp.MAX)
        return as_int.bool()

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value / self.world_size

    @torch.no_grad()
    def broadcast_parameters(self, module: nn.Module) -> None:
        import torch.distributed as dist

        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()


def from_environment(device: torch.device) -> World | None:
    """Join torchrun's process group (once per process); None when not started by torchrun with 2+ processes."""
    world_size = world_size_from_environment()
    if world_size == 1:
        return None
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type not in ("cpu", "cuda"):
        raise RecipeError(f"torchrun trains on CPUs (gloo) or CUDA GPUs (NCCL); got device '{device.type}'. Expected --device cpu or cuda.")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), backend)
