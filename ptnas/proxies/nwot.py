"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021).

Every ReLU's input is binarised per sample (c = 1 where > 0); K = Σ_ReLUs c cᵀ + (1 − c)(1 − c)ᵀ and the
score is log|det K| (slogdet, float64). With G = Σ c cᵀ (integer counts), s = diag(G) (each sample's
count of active units) and D the total number of units, K = 2G − s·1ᵀ − 1·sᵀ + D: one integer Gram
matrix per ReLU is all a hook computes (an int8 × int8 → int32 product on CPU, exact; a float32 product
of 0/1 values elsewhere, exact while a ReLU has fewer than 2^24 units), summed in int64, so K is exact.
Many ReLUs of a supernet read the same tensor (the ops of one edge, the edges leaving one node: 12 ReLU
calls on 3 tensors in an undecided NB201 cell); a ReLU whose input was already seen in this forward, unchanged,
adds the Gram matrix computed the first time.

Which activations count: the input of every `nn.ReLU` / `nn.ReLU6` module that actually runs, once
per call. This is not what the Zero-Cost-PT reference code does: it hooks every module whose type
name contains "ReLU", so a `ReLUConvBN` wrapper adds its input's codes a second time (besides its
inner ReLU), and an NB201 op removed from the supernet is still run on a zeroed input, so its ReLUs
add constant all-zero codes. Here a removed op is not executed and contributes no codes, and wrapper
modules contribute nothing of their own, so K (and the score) differs from the reference's.

`nwot_replicas` scores the K replicas of a replicated supernet forward (ptnas/supernet/replicas.py) at
once: each block of n rows a hook sees adds its Gram matrix to its own replica's K.
"""
from __future__ import annotations

import weakref

import torch
from torch import nn

from ptnas.proxies.base import Batch, forward_with_hooks
from ptnas.supernet.replicas import owners, tile


def codes(x: torch.Tensor) -> torch.Tensor:
    """(n, units) 0/1 codes of x > 0 as int8, units in memory order (a channels_last input is not copied:
    the order of the units does not change c cᵀ)."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        x = x.permute(0, 2, 3, 1)
    return (x.detach().reshape(x.shape[0], -1) > 0).view(torch.int8)


def gram(c: torch.Tensor) -> torch.Tensor:
    """c cᵀ of (..., n, units) 0/1 int8 codes, exactly, as integers (int32 on CPU, float32 holding integers
    elsewhere); a leading dimension holds independent blocks. torch._int_mm on CPU returns wrong values for
    a single unit (torch 2.14), so narrow layers take the float path."""
    if c.device.type == "cpu" and c.shape[-1] >= 16:
        if c.dim() == 2:
            return torch._int_mm(c, c.t())
        return torch.stack([torch._int_mm(b, b.t()) for b in c])
    with torch.autocast(c.device.type, enabled=False):
        f = c.to(torch.float32)
        return f @ f.transpose(-1, -2)


def nwot(model: nn.Module, batch: Batch) -> float:
    return nwot_replicas(model, batch, 1)[0]


def nwot_replicas(model: nn.Module, batch: Batch, k: int) -> list[float]:
    """nwot of each of the k replicas of a forward on `tile(x, k)` (one plain forward when k = 1)."""
    x = batch[0]
    n = x.shape[0]
    G = torch.zeros(k, n, n, dtype=torch.int64, device=x.device)
    units = [0] * k
    seen: dict[int, tuple[weakref.ref, int, torch.Tensor, int]] = {}  # id(input) -> (input, version, blocks, units)

    def hook(module, inputs):
        a = inputs[0]
        known = seen.get(id(a))
        if known is not None and known[0]() is a and known[1] == a._version:
            blocks, width = known[2], known[3]  # the input of an earlier ReLU (ops of one edge, edges of one node)
        else:
            c = codes(a)
            width = c.shape[1]
            blocks = gram(c.view(c.shape[0] // n, n, width)).to(torch.int64)
            seen[id(a)] = (weakref.ref(a), a._version, blocks, width)
        who = owners(blocks.shape[0] * n)
        if who == tuple(range(k)):
            G.add_(blocks)
        else:  # some replicas only, or blocks to skip (-1)
            live = [j for j, r in enumerate(who) if r >= 0]
            G[[who[j] for j in live]] += blocks[live]
        for r in who:
            if r >= 0:
                units[r] += width

    forward_with_hooks(model, tile(x, k), hook, (nn.ReLU, nn.ReLU6), pre=True)
    s = G.diagonal(dim1=1, dim2=2)
    K = (2 * G - s[:, :, None] - s[:, None, :] + torch.tensor(units, device=x.device)[:, None, None]).to(torch.float64)
    return torch.linalg.slogdet(K)[1].tolist()
