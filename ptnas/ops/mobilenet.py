"""Operations of the ProxylessNAS MobileNet-like space (Cai et al., "ProxylessNAS: Direct Neural
Architecture Search on Target Task and Hardware", ICLR 2019), layer for layer as its released networks
build them: inverted-residual MBConv blocks with ReLU6 (Sandler et al., MobileNetV2, CVPR 2018).

Op names: `mb_k{3,5,7}_e{3,6}` (MBConv with kernel k and expansion e) and `zero`, which skips the
block (the residual path is all that is left; only offered where the block keeps stride 1 and width).
"""
from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

KERNELS = (3, 5, 7)
EXPANSIONS = (3, 6)
MBCONV_OPS = tuple(f"mb_k{k}_e{e}" for e in EXPANSIONS for k in KERNELS)  # mb_k3_e3, mb_k5_e3, ..., mb_k7_e6
OPS = MBCONV_OPS + ("zero",)
BN_EPS = 1e-3  # the released ProxylessNAS networks use BatchNorm eps 1e-3, momentum 0.1


class ConvBNReLU6(nn.Sequential):
    """Conv → BN → ReLU6 (the stem and the 1×1 feature-mix layer)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(C_out, eps=BN_EPS),
            nn.ReLU6(inplace=False),
        )


class MBConv(nn.Module):
    """Inverted residual conv: 1×1 expansion to round(C_in·e) (skipped for e=1), BN, ReLU6; depthwise
    k×k with the stride, BN, ReLU6; linear 1×1 projection, BN. The residual shortcut lives in the block.
    `activation` and `bn_eps` default to ProxylessNAS' (ReLU6, 1e-3); NAS-Bench-Macro uses ReLU, 1e-5."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, expansion: int, *,
                 activation: Callable[[], nn.Module] = nn.ReLU6, bn_eps: float = BN_EPS):
        super().__init__()
        mid = round(C_in * expansion)
        self.inverted_bottleneck = None if expansion == 1 else nn.Sequential(
            nn.Conv2d(C_in, mid, 1, bias=False), nn.BatchNorm2d(mid, eps=bn_eps), activation())
        self.depth_conv = nn.Sequential(
            nn.Conv2d(mid, mid, kernel_size, stride=stride, padding=kernel_size // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid, eps=bn_eps), activation())
        self.point_linear = nn.Sequential(nn.Conv2d(mid, C_out, 1, bias=False), nn.BatchNorm2d(C_out, eps=bn_eps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        return self.point_linear(self.depth_conv(x))


class ZeroBlock(nn.Module):
    """The `zero` op: contributes nothing (zeros of the input's shape); the block's shortcut remains.
    A MixedOp skips it next to other ops (`adds_nothing`)."""

    adds_nothing = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def parse_mbconv(name: str) -> tuple[int, int]:
    """(kernel, expansion) of an `mb_k{k}_e{e}` op name."""
    m = re.fullmatch(r"mb_k(\d+)_e(\d+)", name)
    if not m or name not in MBCONV_OPS:
        raise ValueError(f"unknown MobileNet op {name!r}; choose from: {', '.join(OPS)}")
    return int(m.group(1)), int(m.group(2))


def build(name: str, C_in: int, C_out: int, stride: int) -> nn.Module:
    """The op `name` from C_in to C_out channels; `zero` needs stride 1 and C_in == C_out."""
    if name == "zero":
        if stride != 1 or C_in != C_out:
            raise ValueError(f"`zero` only applies to a block with stride 1 that keeps its width, not "
                             f"{C_in}->{C_out} channels at stride {stride}")
        return ZeroBlock()
    k, e = parse_mbconv(name)
    return MBConv(C_in, C_out, k, stride, e)
