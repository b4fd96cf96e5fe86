"""DARTS operations (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019), layer for
layer as the DARTS code builds them, plus the `noise` op of RobustDARTS' space S4 (Zela et al.,
"Understanding and Robustifying Differentiable Architecture Search", ICLR 2020).

Every op maps C channels to C channels; with stride 2 it halves the resolution (the reduction cell's
edges from its two inputs). `affine=False` is what search cells use, `affine=True` standalone cells.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ptnas.ops import pooling
from ptnas.ops.basic import FactorizedReduce, Zero
from ptnas.ops.folded import FoldingSequential
from ptnas.ops.relu import ReLU

# The DARTS search space (the 8 primitives of the paper, `none` first as DARTS lists it).
OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
       "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
# `noise` exists only for RobustDARTS' S4; it is not part of the DARTS space.
EXTRA_OPS = ("noise",)


class SepConv(FoldingSequential):
    """Separable conv applied twice: (ReLU, depthwise k×k, pointwise 1×1, BN) × 2, stride on the first."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True):
        super().__init__(
            ReLU(),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            ReLU(),
            nn.Conv2d(C_in, C_in, kernel_size, stride=1, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(FoldingSequential):
    """Dilated separable conv: ReLU, depthwise k×k with dilation, pointwise 1×1, BN."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, dilation: int,
                 affine: bool = True):
        super().__init__(
            ReLU(),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class Noise(nn.Module):
    """RobustDARTS' `noise` op: standard Gaussian noise of the output's shape (input values unused)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn_like(x[:, :, :: self.stride, :: self.stride])


def _skip(C: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)


BUILDERS: dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda C, stride, affine: Zero(C, C, stride),
    "max_pool_3x3": lambda C, stride, affine: pooling.MaxPool3x3(stride),
    "avg_pool_3x3": lambda C, stride, affine: pooling.AvgPool3x3(stride),
    "skip_connect": _skip,
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
    "noise": lambda C, stride, affine: Noise(stride),
}


def build(name: str, C: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """The op `name` on C channels; stride 2 halves the resolution."""
    if name not in BUILDERS:
        raise ValueError(f"unknown DARTS op {name!r}; choose from: {', '.join(OPS + EXTRA_OPS)}")
    return BUILDERS[name](C, stride, affine)


def build_search(name: str, C: int, stride: int) -> nn.Module:
    """The op as DARTS search cells hold it: BN without affine, and a BN after each pooling op."""
    op = build(name, C, stride, affine=False)
    if "pool" in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op
