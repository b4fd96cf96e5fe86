"""This process's place in a run: device, rank, world size (one process, or one of torchrun's).

Alone, `init_process` only resolves the device. Launched by torchrun (WORLD_SIZE > 1), it joins the process group through timm's
`init_distributed_device`: NCCL on CUDA (one GPU per local rank), Gloo on CPU. A rank waits at most
`timeout` seconds (`PTNAS_DIST_TIMEOUT`, default 3600) for another in a collective or the store, so a
rank that dies ends the job with an error instead of a hang.
"""
from __future__ import annotations

import datetime
import os
import types
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ptnas import device as devices

TIMEOUT_ENV, DEFAULT_TIMEOUT = "PTNAS_DIST_TIMEOUT", 3600.0


def timeout_seconds() -> float:
    """How long a rank waits for another: `PTNAS_DIST_TIMEOUT` seconds (default 3600)."""
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{TIMEOUT_ENV} must be positive, got {text}")
    return value


def launched_rank() -> int:
    """This process's rank as torchrun announced it (0 outside torchrun), readable before the group exists."""
    return int(os.environ.get("RANK", "0") or 0)


@dataclass(frozen=True)
class Process:
    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @classmethod
    def alone(cls, device: torch.device | str) -> "Process":
        """This process by itself on `device`, outside any job: a training that one rank runs on its own
        (an evaluator's short training of one candidate, while the ranks split the candidates)."""
        return cls(torch.device(device))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def primary(self) -> bool:
        """Rank 0 alone logs, writes checkpoints and results."""
        return self.rank == 0


def init_process(device: str = "auto", timeout: float | None = None) -> Process:
    """Resolve `--device auto|cpu|cuda[:N]` and, under torchrun, join the process group (each rank on
    the GPU of its local rank). ValueError (one line) when this rank's GPU does not exist."""
    resolved = devices.resolve(device)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    local = int(os.environ.get("LOCAL_RANK", "0") or 0)
    if world > 1 and resolved.type == "cuda" and local >= torch.cuda.device_count():
        raise ValueError(f"rank {launched_rank()} has local rank {local} but this machine has "
                         f"{torch.cuda.device_count()} GPU(s): start at most that many processes per machine "
                         "(torchrun --nproc_per_node)")
    if world <= 1 and int(os.environ.get("SLURM_NTASKS", "1") or 1) <= 1:
        # One process: nothing to join, so timm (and the torchvision and torch._dynamo it loads, 2-3 s) stays unloaded.
        if resolved.type == "cuda" and resolved.index is not None:
            torch.cuda.set_device(resolved)
        return Process(resolved)
    args = types.SimpleNamespace(device=str(resolved))
    from timm.utils import init_distributed_device

    final = init_distributed_device(args)
    process = Process(final, args.rank, args.local_rank, args.world_size)
    if process.distributed:
        limit = datetime.timedelta(seconds=timeout if timeout is not None else timeout_seconds())
        dist.distributed_c10d.set_timeout(limit)
        store().set_timeout(limit)
    return process


def store() -> dist.Store:
    """The process group's key-value store (torchrun's rendezvous store), shared by every rank."""
    return dist.distributed_c10d._get_default_store()


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


def broadcast(obj: Any, process: Process) -> Any:
    """Rank 0's `obj` on every rank (the object itself on a single process)."""
    if not process.distributed:
        return obj
    box = [obj if process.primary else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shutdown(process: Process) -> None:
    if process.distributed and dist.is_initialized():
        dist.destroy_process_group()


def settle(process: Process, error: str | None) -> str | None:
    """The first setup error of any rank (rank order), on every rank, so all stop or none does."""
    errors = [e for e in gather(error, process) if e is not None]
    return errors[0] if errors else None
