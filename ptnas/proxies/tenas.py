"""TE-NAS's two training-free indicators and their rank-sum combination (Chen et al., "Neural
Architecture Search on ImageNet in Four GPU Hours: A Theoretically Inspired Perspective", ICLR 2021).

- `ntk_cond`: condition number λ_max/λ_min of the empirical NTK Θ = J Jᵀ on one minibatch, with
  J_n = ∂(Σ_c f(x_n)_c)/∂θ over every parameter named *weight* (conv, linear and BN γ, as TE-NAS
  takes them), one backward per sample, on the first 16 samples of the batch (TE-NAS's NTK batch
  size; the forward runs on those 16, so BN statistics are theirs). Lower is better (a
  well-conditioned NTK trains fast). Θ and its eigenvalues are in float64.
- `linear_regions`: the number of distinct ReLU activation patterns among the batch's samples (TE-NAS
  counts Σ_n 1/#{m : pattern_m = pattern_n}, which is the same number), over every ReLU whose input is
  a 4-D feature map. Higher is better (more expressive). The count is at most the batch size; TE-NAS
  keeps it informative by counting on a 1-channel copy of the network (C=1, N=1) and 3000 tiny crops,
  which a proxy that only sees the model cannot build, so on full-width networks it saturates.
- `tenas`: within a population, each member's dense rank by each indicator (0 = best, equal values
  share a rank, the next value takes the next integer, as TE-NAS's `prune_func_rank` does), summed.
  Lower is better.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ptnas.proxies.base import Batch, Proxy, forward_with_hooks
from ptnas.supernet.replicas import owners, tile

NTK_SAMPLES = 16  # TE-NAS's batch size for the NTK (prune_tenas.py, --batch_size 16)


def ntk_cond(model: nn.Module, batch: Batch) -> float:
    params = [p for name, p in model.named_parameters() if "weight" in name]
    for p in params:
        p.requires_grad_(True)
    x = batch[0][:NTK_SAMPLES]
    out = model(x).reshape(x.shape[0], -1).sum(1)
    rows = []
    for i in range(x.shape[0]):  # one backward per sample, as TE-NAS does
        grads = torch.autograd.grad(out[i], params, retain_graph=i + 1 < x.shape[0], allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]).to(torch.float64))
    jac = torch.stack(rows)
    if not torch.isfinite(jac).all():
        return math.nan
    try:
        eig = torch.linalg.eigvalsh(jac @ jac.t())
    except torch.linalg.LinAlgError:
        return math.nan
    if eig[0] <= 0:
        return math.nan  # singular NTK: the condition number is undefined
    return (eig[-1] / eig[0]).item()


def linear_regions(model: nn.Module, batch: Batch) -> float:
    return linear_regions_replicas(model, batch, 1)[0]


def linear_regions_replicas(model: nn.Module, batch: Batch, k: int) -> list[float]:
    """linear_regions of each of the k replicas of a forward on `tile(x, k)` (ptnas/supernet/replicas.py)."""
    n = batch[0].shape[0]
    patterns: list[list[torch.Tensor]] = [[] for _ in range(k)]

    def record(module, inputs, output):
        if inputs[0].dim() == 4:
            codes = (output > 0).reshape(output.shape[0], -1)
            for j, r in enumerate(owners(output.shape[0])):
                if r >= 0:
                    patterns[r].append(codes[j * n:(j + 1) * n])

    forward_with_hooks(model, tile(batch[0], k), record, nn.ReLU)
    # no ReLU: the network is one linear region
    return [float(torch.unique(torch.cat(p, dim=1), dim=0).shape[0]) if p else 1.0 for p in patterns]


def dense_ranks(values: list[float], higher_is_better: bool) -> list[int]:
    """0 for the best value; equal values share a rank; each new value takes the next integer."""
    order = sorted(set(values), reverse=higher_is_better)
    rank = {v: i for i, v in enumerate(order)}
    return [rank[v] for v in values]


def rank_sum(rows: list[dict[str, float]], parts: tuple[Proxy, ...]) -> list[float]:
    """TE-NAS: Σ over indicators of each member's dense rank (lower is better)."""
    total = [0] * len(rows)
    for p in parts:
        for i, r in enumerate(dense_ranks([row[p.name] for row in rows], p.higher_is_better)):
            total[i] += r
    return [float(t) for t in total]
