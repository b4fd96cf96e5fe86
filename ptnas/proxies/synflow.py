"""SynFlow (Tanaka et al., NeurIPS 2020), as a zero-cost proxy (Abdelfattah et al., ICLR 2021).

On a float64 copy with BatchNorm bypassed and every conv/linear parameter replaced by its absolute
value, R = Σ f(1) for an all-ones input of batch 1; score = Σ over conv/linear weights of |θ ⊙ ∂R/∂θ|.
Float64 keeps the full-size NAS-Bench-201 network far from overflow.
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch, weighted_layers, without_batchnorm


def synflow(model: nn.Module, batch: Batch) -> float:
    net = without_batchnorm(model).double()
    layers = weighted_layers(net)
    with torch.no_grad():
        for layer in layers:
            for p in layer.parameters(recurse=False):
                p.abs_()
    for p in net.parameters():
        p.requires_grad_(False)
    for layer in layers:
        layer.weight.requires_grad_(True)
    ones = torch.ones((1, *batch[0].shape[1:]), dtype=torch.float64, device=batch[0].device)
    net(ones).sum().backward()
    parts = [(layer.weight * layer.weight.grad).abs().sum() for layer in layers if layer.weight.grad is not None]
    return sum(torch.stack(parts).tolist()) if parts else 0.0  # one host transfer, summed as before
