"""MeCo (Jiang et al., "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue of
Correlation", NeurIPS 2023).

For one sample, every layer's feature map f (C channels × H·W positions) gives the C × C Pearson correlation
matrix P of its channels (each channel's H·W values one variable); the score is Σ_layers λ_min(P). Higher is
better. "Layers" are the leaf modules that run and return a 4-D feature map (convolutions, BN, ReLU, pooling,
identities), once per call; a module that runs twice adds two terms. The sample is the batch's first image.

The forward runs on the whole batch, so BatchNorm in train mode normalises with the batch's statistics (as
every "batch" proxy here does) and the replicated forward can score every replica (`meco_replicas`, the
first row of each replica's block); only the first sample's feature maps are read.

A channel that is constant over the positions has no correlation: its row and column are set to 0 (as
the authors' code sets NaN entries to 0), which makes λ_min = 0 for that layer. P and its eigenvalues are
in float64 (eigvalsh: P is symmetric).
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch, hooks_on
from ptnas.supernet.replicas import owners, tile


def meco(model: nn.Module, batch: Batch) -> float:
    return meco_replicas(model, batch, 1)[0]


def meco_replicas(model: nn.Module, batch: Batch, k: int) -> list[float]:
    """meco of each of the k replicas of a forward on `tile(x, k)` (ptnas/supernet/replicas.py)."""
    n = batch[0].shape[0]
    maps: list[list[torch.Tensor]] = [[] for _ in range(k)]

    def record(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            for j, r in enumerate(owners(output.shape[0])):
                if r >= 0:
                    maps[r].append(output[j * n].detach().clone())  # a later in-place op may change it

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    with hooks_on(leaves, record), torch.no_grad():
        model(tile(batch[0], k))
    return [sum((min_eigenvalue(f) for f in fs), 0.0) for fs in maps]


def channel_correlation(feature: torch.Tensor) -> torch.Tensor:
    """The C × C Pearson correlation of a (C, H, W) feature map's channels, float64; a constant channel's
    row and column are 0."""
    f = feature.reshape(feature.shape[0], -1).to(torch.float64)
    f = f - f.mean(dim=1, keepdim=True)
    norm = f.norm(dim=1)
    live = norm > 0
    f = torch.where(live[:, None], f / torch.where(live, norm, torch.ones_like(norm))[:, None], torch.zeros_like(f))
    return f @ f.t()


def min_eigenvalue(feature: torch.Tensor) -> float:
    """λ_min of the channel correlation matrix of one (C, H, W) feature map."""
    return torch.linalg.eigvalsh(channel_correlation(feature))[0].item()
