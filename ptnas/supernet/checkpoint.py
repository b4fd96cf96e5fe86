"""Supernet checkpoints: one file per run, rewritten atomically after every training epoch.

The file holds what a bilevel run needs to continue bit-identically (weights and α, both optimizers,
the learning-rate schedule, every RNG state, the epoch history) and what a later search needs to
reuse the trained supernet (`--supernet CKPT`): the space, its size and the number of classes.
It loads with `torch.load(weights_only=True)`, so a checkpoint from elsewhere cannot run code.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ptnas.atomic import open_atomic

FORMAT = "ptnas-supernet/1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not a ptnas supernet checkpoint (one-line message)."""


def save(path: str | Path, state: dict[str, Any]) -> Path:
    """Write `state` to `path` atomically: a temporary file in the same directory, fsync, rename."""
    path = Path(path)
    with open_atomic(path, "wb") as f:
        torch.save({"format": FORMAT, **state}, f)
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save` (tensors land on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"supernet checkpoint {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a corrupt or foreign file
        raise CheckpointError(f"supernet checkpoint {path} cannot be read ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ptnas supernet checkpoint (expected format {FORMAT!r}); "
                              "pass the checkpoint/supernet.pt of a darts-alpha or darts-pt run")
    return state


def rng_state() -> dict[str, Any]:
    """Every global RNG a training step may touch, as plain data (torch, CUDA, NumPy, Python)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state()` returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
