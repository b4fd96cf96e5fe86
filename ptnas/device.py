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
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s), "
                         f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return device
