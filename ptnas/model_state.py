"""Run code on a model and get its state back: what a proxy call or a supernet evaluation may change."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Restore every buffer (BN running statistics), grad, requires_grad flag and train/eval mode on exit,
    also on exceptions; grads are cleared for the block.

    Parameters are not copied: code in the block must not write to the model's parameters (one that
    needs changed weights, like synflow, works on a copy). The test suite checks this for every proxy.
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
