"""A ReLU computed once per input tensor when no gradient is recorded.

In a supernet many ReLUs read the same tensor: every conv op of an edge starts with one, and the edges
leaving a node all read it (an undecided NB201 cell makes 12 ReLU calls on 3 tensors, a DARTS supernet
forward 698 on 272). Without autograd (a forward-only proxy's scoring call: nwot, meco, swap, ...) the first
call on a tensor keeps its result and the others return it: the same values, computed once.

The result is reused only while the input is the same object (a weak reference, so nothing outlives it)
with the same version (no in-place change since), and the stored result has not been changed in place
either. With autograd, in-place ReLUs, inference tensors, and under tracing, compilation or a dispatch mode
(ptnas/ops/eager.py), it is an ordinary `nn.ReLU`. Module hooks run on every call as usual (nwot's hook
sees every ReLU's input).
"""
from __future__ import annotations

import weakref

import torch
from torch import nn

from ptnas.ops.eager import eager

# id(input) -> (weak reference to the input, its version, relu(input), that result's version)
_results: dict[int, tuple[weakref.ref, int, torch.Tensor, int]] = {}


def _forget(key: int) -> None:
    _results.pop(key, None)


class ReLU(nn.ReLU):
    """`nn.ReLU` that, without autograd, reuses its result for an input another ReLU already saw."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inplace or torch.is_grad_enabled() or not eager(x) or x.is_inference():
            return super().forward(x)
        key = id(x)
        known = _results.get(key)
        if known is not None and known[0]() is x and known[1] == x._version and known[2]._version == known[3]:
            return known[2]
        y = torch.relu(x)
        _results[key] = (weakref.ref(x, lambda _, key=key: _forget(key)), x._version, y, y._version)
        return y
