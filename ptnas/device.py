"""Pick the compute device once, from `--device auto|cpu|cuda`."""
from __future__ import annotations

import torch

CHOICES = ("auto", "cpu", "cuda")


def resolve(name: str = "auto") -> torch.device:
    if name not in CHOICES and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; choose from: {', '.join(CHOICES)} (or cuda:N)")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name} was asked for but CUDA is not available here; use --device cpu or auto")
    return torch.device(name)
