"""A zero-cost proxy: S(model, batch) -> float, with the metadata selectors and evaluators need.

Calling a `Proxy` always leaves the model as it was (weights, buffers, grads, train/eval mode of
every module, requires_grad) and never returns inf: a NaN or infinite score becomes NaN with a
warning naming the proxy and the model, and selectors treat NaN as the worst score.
"""
from __future__ import annotations

import contextlib
import copy
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]

BN_MODES = ("train", "eval")


@dataclass(frozen=True)
class Proxy:
    """A registered scoring function and what is known about it.

    name: registry name.
    fn: `fn(model, batch) -> float`; it may change the model's modes and buffers and set grads (the
        wrapper restores them) but must work on a copy if it changes weights, dtypes or modules.
    higher_is_better: direction of the score (a better network scores higher when True).
    needs_data / needs_labels: whether the batch's inputs / targets are read.
    bn: "batch" (the BN mode the caller asks for, train by default), "bypass" (BN removed, synflow)
        or "none" (no forward pass).
    dtype: precision the proxy computes in.
    passes: what one call costs, e.g. "1 forward", "1 forward + 1 backward".
    """

    name: str
    fn: Callable[[nn.Module, Batch], float]
    higher_is_better: bool = True
    needs_data: bool = True
    needs_labels: bool = False
    bn: str = "batch"
    dtype: torch.dtype = torch.float32
    passes: str = "1 forward"

    def __call__(self, model: nn.Module, batch: Batch, bn_mode: str = "train") -> float:
        if bn_mode not in BN_MODES:
            raise ValueError(f"unknown BN mode {bn_mode!r}; choose from: {', '.join(BN_MODES)}")
        with preserved(model):
            model.train(bn_mode == "train")
            value = float(self.fn(model, batch))
        if not math.isfinite(value):
            warnings.warn(f"proxy {self.name} gave {value} on {type(model).__name__}; "
                          "recorded as NaN (ranked worst)", RuntimeWarning, stacklevel=2)
            return math.nan
        return value


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Restore every buffer, grad, requires_grad flag and train/eval mode on exit.

    Parameters are not copied: a proxy must not write to the model's parameters (one that needs
    changed weights, like synflow, works on a copy). The test suite checks this for every proxy.
    """
    modes = [m.training for m in model.modules()]
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    for p in params:
        p.grad = None
    try:
        yield
    finally:
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
        for p, flag, grad in zip(params, flags, grads):
            p.requires_grad_(flag)
            p.grad = grad
        for m, mode in zip(model.modules(), modes):
            m.training = mode


def without_batchnorm(model: nn.Module) -> nn.Module:
    """A deep copy of `model` in which every BatchNorm layer is the identity."""
    clone = copy.deepcopy(model)
    for module in list(clone.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
    return clone


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and linear layers: the layers whose weights gradient-based proxies score."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
