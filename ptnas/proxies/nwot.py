"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021).

Every ReLU's input is binarised per sample (c = 1 where > 0); K = Σ_ReLUs c cᵀ + (1 − c)(1 − c)ᵀ,
accumulated in float64 (computed exactly from one 0/1 matmul per ReLU); the score is log|det K| (slogdet).

Which activations count: the input of every `nn.ReLU` / `nn.ReLU6` module that actually runs, once
per call. This is not what the Zero-Cost-PT reference code does: it hooks every module whose type
name contains "ReLU", so a `ReLUConvBN` wrapper adds its input's codes a second time (besides its
inner ReLU), and an NB201 op removed from the supernet is still run on a zeroed input, so its ReLUs
add constant all-zero codes. Here a removed op is not executed and contributes no codes, and wrapper
modules contribute nothing of their own, so K (and the score) differs from the reference's.
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch, forward_with_hooks


def nwot(model: nn.Module, batch: Batch) -> float:
    x = batch[0]
    n = x.shape[0]
    K = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def hook(module, inputs):
        # c cᵀ + (1 − c)(1 − c)ᵀ = D − s·1ᵀ − 1·sᵀ + 2 c cᵀ with s the row sums: one matmul. The 0/1
        # matmul is exact in float32 (integer partial sums stay below 2^24), K accumulates in float64.
        c = (inputs[0].detach().reshape(n, -1) > 0).to(torch.float32)
        s = c.sum(1, dtype=torch.float64)
        K.add_(2.0 * (c @ c.t()).to(torch.float64) - s[:, None] - s[None, :] + c.shape[1])

    forward_with_hooks(model, x, hook, (nn.ReLU, nn.ReLU6), pre=True)
    return torch.linalg.slogdet(K)[1].item()
