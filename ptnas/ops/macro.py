"""Operations of NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree
Search", CVPR 2021), built as the benchmark's networks build them, so parameter counts match its table.

Each op is a whole layer, residual shortcut included, so a layer of the supernet is a plain weighted sum
of its ops and a decided layer is exactly the standalone layer:

- `identity` (key digit 0): the input itself; where the layer halves the resolution and doubles the
  width, a 1×1 stride-2 conv + BN instead (the benchmark's downsampling identity).
- `mb_e3_k3` (1): MobileNetV2 inverted residual, expansion 3, 3×3 depthwise kernel.
- `mb_e6_k5` (2): the same with expansion 6 and a 5×5 kernel.
The inverted residuals use ReLU and PyTorch's BatchNorm defaults (eps 1e-5), and add the input where
the layer keeps its stride and width (Sandler et al., MobileNetV2, CVPR 2018).
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.ops.mobilenet import MBConv

OPS = ("identity", "mb_e3_k3", "mb_e6_k5")  # in key-digit order: OPS[int(digit)]
MBCONVS = {"mb_e3_k3": (3, 3), "mb_e6_k5": (5, 6)}  # name -> (kernel, expansion)
BN_EPS = 1e-5


class Identity(nn.Module):
    """The layer's input; a 1×1 conv (with the stride) + BN where the layer changes stride or width."""

    def __init__(self, C_in: int, C_out: int, stride: int):
        super().__init__()
        self.downsample = None
        if stride != 1 or C_in != C_out:
            self.downsample = nn.Sequential(nn.Conv2d(C_in, C_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(C_out, eps=BN_EPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)


class InvertedResidual(nn.Module):
    """MBConv with ReLU, plus the input where stride is 1 and the width is kept."""

    def __init__(self, C_in: int, C_out: int, stride: int, kernel_size: int, expansion: int):
        super().__init__()
        self.shortcut = stride == 1 and C_in == C_out
        self.conv = MBConv(C_in, C_out, kernel_size, stride, expansion, activation=nn.ReLU, bn_eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y + x if self.shortcut else y


def build(name: str, C_in: int, C_out: int, stride: int) -> nn.Module:
    """The layer `name` from C_in to C_out channels at `stride`."""
    if name == "identity":
        return Identity(C_in, C_out, stride)
    if name not in MBCONVS:
        raise ValueError(f"unknown NAS-Bench-Macro op {name!r}; choose from: {', '.join(OPS)}")
    kernel, expansion = MBCONVS[name]
    return InvertedResidual(C_in, C_out, stride, kernel, expansion)
