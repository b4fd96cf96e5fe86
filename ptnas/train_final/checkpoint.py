"""Checkpoints that resume exactly: timm's CheckpointSaver plus scheduler, RNG states and run progress.

Every epoch rank 0 writes `checkpoint/last.pth.tar` atomically (timm writes a temporary file, then
renames it) and keeps the newest `--checkpoint-hist` epochs as `checkpoint-<epoch>.pth.tar`; with a
validation split the history is ranked by validation top-1 and the best is `model_best.pth.tar`.
A checkpoint holds only tensors and plain Python values, so `torch.load(..., weights_only=True)` and
`timm.create_model(name, checkpoint_path=...)` read it.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

LAST = "last.pth.tar"


def rng_state(device: torch.device) -> dict[str, Any]:
    """This process's random number generator states (torch CPU, CUDA device, NumPy, Python)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    random.setstate(_as_tuples(state["python"]))


def _as_tuples(x):
    return tuple(_as_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


class TrainState:
    """What a checkpoint holds beyond timm's optimizer/scaler entries.

    It plugs into `CheckpointSaver(task=...)` (timm >= 1.0.27), which asks for `get_checkpoint_state(ema=False)` (model
    weights and the run's state) and `get_checkpoint_state(ema=True)` (EMA weights).
    `extra()` is called at save time for the values that change each epoch (progress, RNG states).
    """

    def __init__(self, model: torch.nn.Module, arch: str, scheduler=None, ema=None,
                 extra: Callable[[], dict[str, Any]] = dict):
        self.model = model
        self.arch = arch
        self.scheduler = scheduler
        self.ema = ema
        self.extra = extra

    def get_checkpoint_state(self, ema: bool = False, unwrap_fn=None) -> dict[str, Any]:
        if unwrap_fn is None:
            from timm.utils import unwrap_model as unwrap_fn
        if ema:
            return {} if self.ema is None else {"state_dict_ema": unwrap_fn(self.ema).state_dict()}
        state = {"arch": self.arch, "state_dict": unwrap_fn(self.model).state_dict()}
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        state.update(self.extra())
        return state


def saver(state: TrainState, optimizer: torch.optim.Optimizer, directory: Path, scaler=None,
          history: int = 10):
    """timm's `CheckpointSaver` of `state` (timm loads with the first checkpoint, not for `--help`)."""
    from timm.utils import CheckpointSaver

    directory.mkdir(parents=True, exist_ok=True)
    return CheckpointSaver(state.model, optimizer, amp_scaler=scaler, checkpoint_dir=str(directory),
                           recovery_dir=str(directory), decreasing=False, max_history=history, task=state)


def find(path: str | Path) -> Path:
    """The checkpoint file `--resume` names: a file, a run dir or its checkpoint/ dir (then `last.pth.tar`)."""
    path = Path(path)
    for candidate in (path, path / LAST, path / "checkpoint" / LAST):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"--resume {path}: no checkpoint there (looked for {path}, {path / LAST} and "
                            f"{path / 'checkpoint' / LAST})")


def load(path: Path) -> dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a checkpoint, or unsafe pickle
        raise ValueError(f"--resume {path}: cannot read it as a checkpoint ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(ckpt, dict) or "config" not in ckpt or "state_dict" not in ckpt:
        raise ValueError(f"--resume {path}: not a ptnas training checkpoint (no config/state_dict)")
    return ckpt


def restore(ckpt: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler=None,
            scaler=None, ema=None) -> None:
    """Load weights and optimiser/scheduler/scaler/EMA states (RNG states are restored separately, per rank)."""
    from timm.utils import unwrap_model

    try:
        unwrap_model(model).load_state_dict(ckpt["state_dict"])
        if ema is not None:
            if "state_dict_ema" not in ckpt:
                raise ValueError("the checkpoint has no EMA weights (it was trained without --model-ema)")
            unwrap_model(ema).load_state_dict(ckpt["state_dict_ema"])
    except RuntimeError as e:
        raise ValueError(f"the checkpoint's weights do not fit this network ({str(e).splitlines()[0]}); "
                         "resume with the genotype and --model-kwargs it was trained with") from None
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and "scheduler" in ckpt:
        scheduler.load_state_dict(ckpt["scheduler"])
    if scaler is not None and scaler.state_dict_key in ckpt:
        scaler.load_state_dict(ckpt[scaler.state_dict_key])
