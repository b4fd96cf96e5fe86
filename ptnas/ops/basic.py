"""Building blocks shared by the cell spaces (NAS-Bench-201 and DARTS)."""
from __future__ import annotations

import torch
from torch import nn

from ptnas.ops.folded import FoldingSequential
from ptnas.ops.relu import ReLU


class ReLUConvBN(FoldingSequential):
    """ReLU → Conv → BN. `bias` is explicit because NAS-Bench-201 uses `bias=not affine`."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True, track_running_stats: bool = True,
                 bias: bool = False):
        super().__init__(
            ReLU(),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=bias),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The `none` op: zeros of the output shape (x·0 when the shape is unchanged, so NaNs propagate).
    A MixedOp skips it next to other ops (`adds_nothing`): adding its zeros changes no sum."""

    adds_nothing = True

    def __init__(self, C_in: int, C_out: int, stride: int):
        super().__init__()
        self.C_in, self.C_out, self.stride = C_in, C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.C_in == self.C_out:
            return x.mul(0.0) if self.stride == 1 else x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.C_out
        shape[2] = (shape[2] + self.stride - 1) // self.stride
        shape[3] = (shape[3] + self.stride - 1) // self.stride
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """Stride-2 skip connection that changes width: two offset 1×1 stride-2 convs, concatenated, BN."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {C_out}")
        self.relu = ReLU()
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        # The second branch sees x shifted by one pixel; padding keeps odd sizes aligned and does not
        # change the result for even sizes (a 1x1 stride-2 conv never reads the padded last row/column).
        y = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(y)], dim=1))
