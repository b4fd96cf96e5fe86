"""NAS-Bench-201 operations (Dong & Yang, ICLR 2020), layer for layer as the benchmark builds them."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ptnas.ops.basic import FactorizedReduce, ReLUConvBN, Zero
from ptnas.ops.pooling import AvgPool3x3 as Pool

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class AvgPool3x3(nn.Module):
    """3×3 average pooling (count_include_pad=False), with a 1×1 ReLUConvBN first if the width changes."""

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.preprocess = (
            None if C_in == C_out
            else ReLUConvBN(C_in, C_out, 1, 1, 0, affine=affine, track_running_stats=track_running_stats, bias=not affine)
        )
        self.op = Pool(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x if self.preprocess is None else self.preprocess(x))


def _skip(C_in: int, C_out: int, stride: int, affine: bool, track: bool) -> nn.Module:
    if stride == 1 and C_in == C_out:
        return nn.Identity()
    return FactorizedReduce(C_in, C_out, affine=affine, track_running_stats=track)


BUILDERS: dict[str, Callable[[int, int, int, bool, bool], nn.Module]] = {
    "none": lambda C_in, C_out, stride, affine, track: Zero(C_in, C_out, stride),
    "skip_connect": _skip,
    "nor_conv_1x1": lambda C_in, C_out, stride, affine, track: ReLUConvBN(
        C_in, C_out, 1, stride, 0, affine=affine, track_running_stats=track, bias=not affine),
    "nor_conv_3x3": lambda C_in, C_out, stride, affine, track: ReLUConvBN(
        C_in, C_out, 3, stride, 1, affine=affine, track_running_stats=track, bias=not affine),
    "avg_pool_3x3": lambda C_in, C_out, stride, affine, track: AvgPool3x3(C_in, C_out, stride, affine, track),
}


def build(name: str, C_in: int, C_out: int, stride: int = 1, affine: bool = True,
          track_running_stats: bool = True) -> nn.Module:
    if name not in BUILDERS:
        raise ValueError(f"unknown NAS-Bench-201 op {name!r}; choose from: {', '.join(OPS)}")
    return BUILDERS[name](C_in, C_out, stride, affine, track_running_stats)


class ResNetBasicBlock(nn.Module):
    """The benchmark's stride-2 residual block between stages."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2):
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(C_in, C_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))
