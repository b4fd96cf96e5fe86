"""flops: multiply-accumulate operations of one forward pass per image, counted by forward hooks (a
data-free baseline proxy, Abdelfattah et al., ICLR 2021, Table 1).

Convention: Conv2d k_h·k_w·C_in/groups·C_out per output position (+ C_out per position for a bias);
Linear in·out per row (+ out for a bias); AvgPool2d/MaxPool2d k_h·k_w per output element;
AdaptiveAvgPool2d/AdaptiveMaxPool2d one per input element. Conv and linear are counted exactly as
NAS-Bench-201's counter does; that counter leaves pooling out, so our figure is the benchmark's
plus the pooling terms. BN, activations and additions are not counted. Only modules that run are
counted (ops removed from a supernet are not). Returned as a count, not millions.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ptnas.proxies.base import Batch


def flops(model: nn.Module, batch: Batch) -> float:
    x = batch[0][:1]
    total = [0]

    def count(module, inputs, output):
        total[0] += module_flops(module, inputs[0], output)

    kinds = (nn.Conv2d, nn.Linear, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return float(total[0]) / x.shape[0]


def module_flops(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    """The MACs of one call of a counted module, by the convention above."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        macs = kh * kw * (module.in_channels // module.groups) * out.numel()
        return macs + (out.numel() if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        rows = out.numel() // module.out_features
        return rows * module.in_features * module.out_features + (out.numel() if module.bias is not None else 0)
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        k = module.kernel_size
        return math.prod(k if isinstance(k, tuple) else (k, k)) * out.numel()
    return x.numel()  # adaptive pooling: every input element is read once
