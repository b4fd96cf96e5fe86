"""This process's place in a run: device, rank, world size (one process, or one of torchrun's).

Launched by torchrun (WORLD_SIZE > 1), `init_process` joins the process group through timm's
`init_distributed_device`: NCCL on CUDA (one GPU per local rank), Gloo on CPU.
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from timm.utils import init_distributed_device

from ptnas import device as devices


@dataclass(frozen=True)
class Process:
    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def primary(self) -> bool:
        """Rank 0 alone logs, writes checkpoints and results."""
        return self.rank == 0


def init_process(device: str = "auto") -> Process:
    """Resolve `--device auto|cpu|cuda[:N]` and, under torchrun, join the process group."""
    resolved = devices.resolve(device)
    args = types.SimpleNamespace(device=str(resolved))
    final = init_distributed_device(args)
    return Process(final, args.rank, args.local_rank, args.world_size)


def all_sum(values: list[float], process: Process) -> list[float]:
    """Element-wise sum of `values` over all ranks (float64, so image counts stay exact)."""
    t = torch.tensor(values, dtype=torch.float64, device=process.device)
    if process.distributed:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def gather(obj: Any, process: Process) -> list[Any]:
    """`obj` of every rank, in rank order (a one-item list on a single process)."""
    if not process.distributed:
        return [obj]
    out: list[Any] = [None] * process.world_size
    dist.all_gather_object(out, obj)
    return out


def shutdown(process: Process) -> None:
    if process.distributed and dist.is_initialized():
        dist.destroy_process_group()
