"""3×3 pooling of the cell spaces (NAS-Bench-201's and DARTS' `avg_pool_3x3`, DARTS' `max_pool_3x3`), with
faster routes on the CPU that compute the same values.

PyTorch's CPU kernels for these windows are slow at the cell spaces' sizes (64 images of 16–64 channels at
8²–32²): a scoring forward of the NB201 supernet spent 12 % of its time in `avg_pool2d`. On an ordinary
CPU tensor the modules below take another route:
- average: the window sums as a depthwise convolution with a ones kernel, divided by each position's count
  of pixels inside the image (`count_include_pad=False`); 1.1–4.4× faster forward channels_last, 3–6×
  forward + backward (docs/results.md, "Scoring without repeated work");
- max, stride 1, when no gradient is needed: the maximum of three shifted rows, then of three shifted
  columns (exact: a maximum does not round); with a gradient the library's kernel runs, since its
  backward sends a tie's gradient to one input where `torch.maximum` would split it.
Inside tracing, compilation, FLOP counting (any dispatch mode), on other devices and in float64 (synflow's
copy: there a convolution is 5× slower than the library's pooling) the library's pooling runs, so exported
graphs and counted costs see ordinary pooling layers.
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from ptnas.ops.eager import eager


def _plain_cpu(x: torch.Tensor) -> bool:
    """An ordinary 4-D CPU tensor in an eager forward."""
    return eager(x) and x.device.type == "cpu" and x.dim() == 4


_ONEDNN = (torch.float32, torch.bfloat16, torch.float16)  # the dtypes the CPU routes are measured fast for


@lru_cache(maxsize=64)
def _counts(height: int, width: int, stride: int, dtype: torch.dtype) -> torch.Tensor:
    """Pixels inside the image under each 3×3 window (padding 1) of a height × width map, as 1×1×H'×W'."""
    ones = torch.ones(1, 1, height, width, dtype=torch.float32)
    counts = F.conv2d(ones, torch.ones(1, 1, 3, 3), stride=stride, padding=1)
    return counts.to(dtype)


class AvgPool3x3(nn.AvgPool2d):
    """`nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)`, by a depthwise ones convolution on the CPU."""

    def __init__(self, stride: int = 1):
        super().__init__(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _plain_cpu(x) or x.dtype not in _ONEDNN:  # float64 convolutions are 5× slower than its pooling
            return super().forward(x)
        C, H, W = x.shape[1:]
        with torch.autocast("cpu", enabled=False):  # in x's dtype, as the library's pooling
            sums = F.conv2d(x, x.new_ones(C, 1, 3, 3), stride=self.stride, padding=1, groups=C)
        return sums / _counts(H, W, self.stride, x.dtype)


class MaxPool3x3(nn.MaxPool2d):
    """`nn.MaxPool2d(3, stride, padding=1)`, by shifted maxima on the CPU at stride 1 without a gradient."""

    def __init__(self, stride: int = 1):
        super().__init__(3, stride=stride, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.stride != 1 or (torch.is_grad_enabled() and x.requires_grad) or not _plain_cpu(x)
                or x.dtype not in _ONEDNN):
            return super().forward(x)
        p = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
        rows = torch.maximum(torch.maximum(p[:, :, :, :-2], p[:, :, :, 1:-1]), p[:, :, :, 2:])
        return torch.maximum(torch.maximum(rows[:, :, :-2], rows[:, :, 1:-1]), rows[:, :, 2:])
