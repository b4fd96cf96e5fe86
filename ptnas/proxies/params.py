"""params: the number of parameters the network uses, as a (data-free) baseline proxy (Abdelfattah
et al., ICLR 2021, Table 1).

Counts the parameters of every module that runs in one forward pass of a single sample, so an op
removed from a supernet, or a supernet's α, is not counted; on a standalone network it is the usual
total (NAS-Bench-201's "params", here as a count, not millions).
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch


def params(model: nn.Module, batch: Batch) -> float:
    return float(sum(p.numel() for p in executed_parameters(model, batch[0][:1])))


def executed_modules(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """Modules whose forward runs on input `x`, in first-call order (each once)."""
    seen: dict[int, nn.Module] = {}

    def mark(module, inputs):
        seen.setdefault(id(module), module)

    handles = [m.register_forward_pre_hook(mark) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return list(seen.values())


def executed_parameters(model: nn.Module, x: torch.Tensor) -> list[nn.Parameter]:
    """The parameters held directly by the modules that run on `x` (each once)."""
    found: dict[int, nn.Parameter] = {}
    for m in executed_modules(model, x):
        for p in m.parameters(recurse=False):
            found.setdefault(id(p), p)
    return list(found.values())
