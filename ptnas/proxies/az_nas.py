"""AZ-NAS (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR 2024).

Four per-model parts, read off the features f_0 … f_L of the network's stages (see `stages`) on one
minibatch, and their combination over a population:

- `az_expressivity`: Σ_l H(f_l), H = the entropy −Σ p_i log p_i of the normalised eigenvalues
  p_i = λ_i / Σλ of the channel covariance of f_l (every position of every sample one observation).
- `az_progressivity`: min_l (H(f_l) − H(f_{l−1})): the smallest gain in expressivity between stages.
- `az_trainability`: mean over l of 2 − σ_l − 1/σ_l, σ_l = the largest singular value of the C_in × C_out
  matrix E[g_in g_outᵀ] between a Rademacher gradient g_out at f_l and its backpropagation g_in to
  f_{l−1} (a stride-s stage: g_in is pixel-unshuffled by s first), the mean over samples and positions;
  it is 0 at σ = 1 (gradients neither explode nor vanish) and negative elsewhere. A stage that passes
  the gradient unchanged (g_in = g_out: an identity cell, which learns nothing) scores −10⁶, as low as a
  stage whose output does not depend on its input (σ = 0, through the ε of 1/(σ + ε)).
- `az_complexity`: FLOPs (the `flops` proxy: MACs per image).
- `az_nas` (population): Σ over the four parts of log(rank / N), each part ranked ascending among the N
  members (the best gets N; ties share their average rank). Higher is better.

Stages: the stem and every cell/block of a network that holds `stem` and a list of `cells`, `blocks`
or `layers` (the NB201, DARTS and chain networks and supernets here), else the model's direct children
that return a 4-D feature map, in call order. Covariances, eigenvalues and singular values are in
float64; negative rounding of eigenvalues is clipped to 0 before normalising. The Rademacher gradients come
from a private generator seeded with `SEED` (deterministic; the caller's random state is untouched).
A model with fewer than two stages has no progressivity or trainability: NaN.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ptnas.proxies.base import Batch, Proxy

SEED = 0
EPS = 1e-8       # inside the entropy's log, as the authors' code has it
SIGMA_EPS = 1e-6  # added to σ in 1/σ, as the authors' code has it
IDENTITY = -1.0 / SIGMA_EPS  # a stage that passes its gradient unchanged: as bad as one that blocks it


def stages(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are the stage features f_0 … f_L (see the module docstring)."""
    for m in model.modules():
        stem = getattr(m, "stem", None)
        body = next((getattr(m, a) for a in ("cells", "blocks", "layers")
                     if isinstance(getattr(m, a, None), (nn.ModuleList, nn.Sequential))), None)
        if isinstance(stem, nn.Module) and body is not None:
            return [stem, *body]
    return list(model.children())


def stage_features(model: nn.Module, x: torch.Tensor, grad: bool) -> list[torch.Tensor]:
    """The 4-D outputs of `stages(model)` in call order on one forward of x (in the graph when `grad`)."""
    features: list[torch.Tensor] = []

    def keep(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            features.append(output)

    handles = [m.register_forward_hook(keep) for m in stages(model)]
    try:
        with torch.set_grad_enabled(grad):
            model(x.detach().requires_grad_(True) if grad else x)
    finally:
        for h in handles:
            h.remove()
    return features


def entropy(feature: torch.Tensor) -> float:
    """H of the normalised eigenvalues of the channel covariance of a (n, C, H, W) feature."""
    f = feature.detach().permute(0, 2, 3, 1).reshape(-1, feature.shape[1]).to(torch.float64)
    f = f - f.mean(dim=0, keepdim=True)
    lam = torch.linalg.eigvalsh(f.t() @ f / f.shape[0]).clamp(min=0)
    if not torch.isfinite(lam).all():
        return math.nan
    p = lam / lam.sum()
    return (-(p * torch.log(p + EPS))).sum().item()


def expressivities(model: nn.Module, batch: Batch) -> list[float]:
    return [entropy(f) for f in stage_features(model, batch[0], grad=False)]


def az_expressivity(model: nn.Module, batch: Batch) -> float:
    return float(sum(expressivities(model, batch)))


def az_progressivity(model: nn.Module, batch: Batch) -> float:
    h = expressivities(model, batch)
    return float(min(b - a for a, b in zip(h, h[1:]))) if len(h) > 1 else math.nan


def az_trainability(model: nn.Module, batch: Batch) -> float:
    features = stage_features(model, batch[0], grad=True)
    if len(features) < 2:
        return math.nan
    g = torch.Generator(device=batch[0].device).manual_seed(SEED)
    scores = []
    for k in reversed(range(1, len(features))):
        f_out, f_in = features[k], features[k - 1]
        g_out = torch.randint(0, 2, f_out.shape, generator=g, device=f_out.device).to(f_out.dtype) * 2 - 1
        (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True)
        if g_in is None:
            g_in = torch.zeros_like(f_in)  # the stage's output does not depend on its input
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            scores.append(IDENTITY)  # the stage passes its gradient unchanged (an identity cell)
        else:
            scores.append(gradient_score(g_in, g_out))
    return float(np.mean(scores))


def gradient_score(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """2 − σ − 1/σ for σ = the largest singular value of E[g_in g_outᵀ] over samples and positions."""
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    n, c_out, h, w = g_out.shape
    a = g_in.permute(0, 2, 3, 1).reshape(n * h * w, -1).to(torch.float64)
    b = g_out.permute(0, 2, 3, 1).reshape(n * h * w, c_out).to(torch.float64)
    sigma = torch.linalg.svdvals(a.t() @ b / (n * h * w))[0].item()
    return 2.0 - sigma - 1.0 / (sigma + SIGMA_EPS)


def log_rank_sum(rows: list[dict[str, float]], parts: tuple[Proxy, ...]) -> list[float]:
    """AZ-NAS: Σ over parts of log(rank / N), ranks ascending (N = best), ties averaged."""
    from scipy import stats  # loads with the first population, not with every program

    total = np.zeros(len(rows))
    for p in parts:
        values = np.array([row[p.name] for row in rows])
        total += np.log(stats.rankdata(values if p.higher_is_better else -values) / len(rows))
    return total.tolist()
