"""ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients", ICLR 2023).

ZiCo = Σ_layers log( Σ_θ∈layer E[|∇θ L|] / sqrt(Var[∇θ L]) ), the expectation and variance over the
gradients of B independent minibatches. ptnas's proxies see one batch, so it is split into B = `BATCHES`
= 2 consecutive sub-batches (the fewest that have a variance; a batch of 64 gives two of 32); each sub-batch's cross-entropy gradient (its mean loss) is computed on its own, so BN in train mode
normalises each sub-batch with its own statistics, as separate batches would be. Layers: every conv and
linear weight that receives a gradient. Var is the population variance over the B gradients (np.std's
default, as the authors' code uses); weights whose gradient does not vary are left out of the inner sum,
and a layer whose inner sum is 0 adds nothing (as in the authors' code). Higher is better.

Each sub-batch's gradient is its own: `torch.autograd.grad` returns it without accumulating into `.grad`.
The authors' code calls `backward()` for every batch without zeroing the gradients, so the second
"sample" it records is the sum of both batches' gradients, not the second batch's; the statistics of
running sums are not those the paper defines (with two batches, mean|g| and std of (g₁, g₁ + g₂) instead
of (g₁, g₂)), so we follow the paper (docs/proxies.md, "zico").
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ptnas.proxies.base import Batch, weighted_layers

BATCHES = 2


def zico(model: nn.Module, batch: Batch, batches: int = BATCHES) -> float:
    x, y = batch
    weights = [layer.weight for layer in weighted_layers(model)]
    for w in weights:
        w.requires_grad_(True)
    parts = min(batches, x.shape[0])
    if parts < 2:
        return math.nan  # one sample: no variance over batches
    grads: list[list[torch.Tensor | None]] = []
    for xs, ys in zip(x.tensor_split(parts), y.tensor_split(parts)):
        loss = F.cross_entropy(model(xs), ys)
        grads.append(list(torch.autograd.grad(loss, weights, allow_unused=True)))
    return inverse_cv_score(grads)


def inverse_cv_score(grads: list[list[torch.Tensor | None]]) -> float:
    """Σ over layers of log Σ_θ mean|g| / std(g), given each batch's gradient of every layer (None: unused)."""
    score = 0.0
    for per_batch in zip(*grads):
        if any(g is None for g in per_batch):
            continue
        g = torch.stack([t.reshape(-1) for t in per_batch]).to(torch.float64)
        if not torch.isfinite(g).all():
            return math.nan
        std = g.std(dim=0, unbiased=False)
        varies = std > 0
        total = (g.abs().mean(dim=0)[varies] / std[varies]).sum().item()
        if total > 0:
            score += math.log(total)
    return score
