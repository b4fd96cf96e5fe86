"""Conv → BatchNorm pairs run as one convolution when nothing needs them apart.

A BatchNorm in eval mode with running statistics is an affine map per channel: y = (z − μ)·γ/√(σ²+ε) + β.
After a convolution z = w∗x (+ b) it folds into the convolution's weights and bias:
w' = w·s, b' = (b − μ)·s + β with s = γ/√(σ²+ε), one convolution instead of a convolution and a pass over
its output. Zero-cost scoring of a supernet in BN eval (Zero-Cost-PT's default) spent 15 % of a call on
NB201, 11 % on DARTS in BatchNorm (docs/results.md, "Scoring without repeated work").

Folding rounds differently: the values agree to float32 rounding (relative differences of order 1e-7), not
bit for bit. It is therefore used only inside a zero-cost scoring call (`folding()`, entered by
`Proxy._scores`), so a network's ordinary forward stays bit for bit that of its layers (an exported graph
reproduces it exactly), and there only where it cannot matter for gradients or statistics: an eager forward
(ptnas/ops/eager.py) without autograd, outside autocast, with the BatchNorm in eval mode holding running
statistics, and neither module hooked (a proxy that reads a convolution's or BatchNorm's output sees both
run). Everywhere else, and always in training, the modules run one after the other as in `nn.Sequential`.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import nn

from ptnas.ops.eager import eager, global_hooks, hooked


_FOLDING: ContextVar[bool] = ContextVar("ptnas_folding", default=False)


@contextlib.contextmanager
def folding() -> Iterator[None]:
    """Inside: Conv → eval BatchNorm pairs of `FoldingSequential` modules may run folded (a scoring call)."""
    token = _FOLDING.set(True)
    try:
        yield
    finally:
        _FOLDING.reset(token)


def _autocast(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()


def foldable(conv: nn.Module, bn: nn.Module) -> bool:
    """conv → bn may run as one convolution (given an eager forward without autograd)."""
    return (type(conv) is nn.Conv2d and conv.padding_mode == "zeros" and isinstance(bn, nn.BatchNorm2d)
            and not bn.training and bn.running_mean is not None and not hooked(conv) and not hooked(bn))


def folded(conv: nn.Conv2d, bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """bn(conv(x)) as one convolution with the BatchNorm folded into its weights and bias."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale if conv.bias is None else (conv.bias - bn.running_mean) * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    return F.conv2d(x, weight, shift, conv.stride, conv.padding, conv.dilation, conv.groups)


class FoldingSequential(nn.Sequential):
    """`nn.Sequential` whose Conv2d → BatchNorm2d pairs run folded where nothing can tell (module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (not _FOLDING.get() or torch.is_grad_enabled() or not eager(x) or x.is_inference()
                or _autocast(x.device.type) or global_hooks()):
            return super().forward(x)
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            if i + 1 < len(modules) and foldable(modules[i], modules[i + 1]):
                x = folded(modules[i], modules[i + 1], x)
                i += 2
            else:
                x = modules[i](x)
                i += 1
        return x
