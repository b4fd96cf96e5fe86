"""Run code on a model and get its state back: what a proxy call or a supernet evaluation may change."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn


def _unique(tensors) -> list[torch.Tensor]:
    """The tensors, each once (shared ones are listed by every module that holds them), None left out."""
    seen: dict[int, torch.Tensor] = {}
    for t in tensors:
        if t is not None:
            seen.setdefault(id(t), t)
    return list(seen.values())


def _saved(buffers: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(buffer, a copy of its values) for each buffer; the copies are views into one
    concatenated tensor per dtype and device (hundreds of small BN statistics: one copy instead of
    hundreds)."""
    groups: dict[tuple, list[torch.Tensor]] = {}
    for b in buffers:
        groups.setdefault((b.dtype, b.device), []).append(b)
    saved = []
    for group in groups.values():
        flat = torch.cat([b.detach().reshape(-1) for b in group])
        for b, copy in zip(group, flat.split([b.numel() for b in group])):
            saved.append((b, copy.view(b.shape)))
    return saved


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Restore every buffer (BN running statistics), grad, requires_grad flag and train/eval mode on exit,
    also on exceptions; grads are cleared for the block.

    Parameters are not copied: code in the block must not write to the model's parameters (one that
    needs changed weights, like synflow, works on a copy). The test suite checks this for every proxy.
    """
    modules = list(model.modules())
    modes = [m.training for m in modules]
    params = _unique(p for m in modules for p in m._parameters.values())  # model.parameters(), one walk
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    buffers = _saved(_unique(b for m in modules for b in m._buffers.values()))
    for p in params:
        if p.grad is not None:
            p.grad = None
    try:
        yield
    finally:
        # Buffers are always written back (a BN forward updates its running statistics without bumping their
        # version counter); flags, grads and modes only where they changed (each write costs, and a scoring
        # call on the NB201 supernet walks 1,326 modules).
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
        for p, flag, grad in zip(params, flags, grads):
            if p.requires_grad != flag:
                p.requires_grad_(flag)
            if p.grad is not grad:
                p.grad = grad
        for m, mode in zip(modules, modes):
            if m.training != mode:
                m.training = mode
