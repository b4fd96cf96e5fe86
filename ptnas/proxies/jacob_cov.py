"""jacob_cov (Mellor et al., arXiv v1 2020, "NAS without training"), as a zero-cost proxy
(Abdelfattah et al., ICLR 2021, Sec. 3).

J = ∂(Σ_c f(x)_c)/∂x, one row per sample (flattened input gradient); Σ_J = the correlation matrix of
those rows (float64); S = −Σ_i [log(λ_i + k) + 1/(λ_i + k)] over the eigenvalues λ of Σ_J (eigvalsh:
it is symmetric), k = 1e-5. Higher is better: the score peaks when rows are uncorrelated (all λ = 1).
A zero-variance row makes the correlation undefined: the score is then NaN (flagged, ranked worst).
`jacob_cov_replicas` scores the replicas of a replicated supernet forward (ptnas/supernet/replicas.py).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ptnas.proxies.base import Batch
from ptnas.supernet.replicas import tile

K = 1e-5


def jacob_cov(model: nn.Module, batch: Batch) -> float:
    return jacob_cov_replicas(model, batch, 1)[0]


def jacob_cov_replicas(model: nn.Module, batch: Batch, k: int) -> list[float]:
    """jacob_cov of each of the k replicas of a forward on `tile(x, k)`: a replica's outputs depend only on
    its own rows, so one input gradient holds every replica's Jacobian."""
    n = batch[0].shape[0]
    x = tile(batch[0], k).detach().clone().requires_grad_(True)
    y = model(x)
    (jacobian,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y))
    rows = jacobian.reshape(k, n, -1)
    return [jacobian_score(rows[r]) for r in range(k)]


def jacobian_score(rows: torch.Tensor) -> float:
    """−Σ[log(λ + k) + 1/(λ + k)] of the rows' correlation matrix (NaN when it is undefined)."""
    corr = torch.corrcoef(rows.to(torch.float64))
    if not torch.isfinite(corr).all():
        return math.nan
    try:
        eig = torch.linalg.eigvalsh(corr)
    except torch.linalg.LinAlgError:
        return math.nan
    return -(torch.log(eig + K) + 1.0 / (eig + K)).sum().item()
