"""MixedOp: every candidate operation of one edge, summed with the weights the supernet passes in."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ptnas.supernet.replicas import ReplicaEdge


class MixedOp(nn.Module):
    """Output = Σ over the alive ops o of w_o · op_o(x).

    The op set and its weights come from the supernet at each call (`weights` lists only the alive
    ops, as `(name, w)` pairs), so one decision can drive the MixedOps of many cells and a removed op
    is never executed, nor is a `none` op next to other ops (its zeros change no sum). `w=None` means
    weight 1 (a decided edge): the op's output is used as is.
    In a replicated forward (ptnas/supernet/replicas.py) `weights` is a `ReplicaEdge` that runs each op
    on the rows of the replicas where it is alive.
    """

    def __init__(self, ops: dict[str, nn.Module]):
        super().__init__()
        self.ops = nn.ModuleDict(ops)

    def forward(self, x: torch.Tensor, weights: Sequence[tuple[str, torch.Tensor | None]] | ReplicaEdge) -> torch.Tensor:
        if isinstance(weights, ReplicaEdge):
            return weights.run(self.ops, x)
        out = None
        for name, w in weights:
            op = self.ops[name]
            if len(weights) > 1 and getattr(op, "adds_nothing", False):
                continue  # zeros (`none`) next to other ops: the sum is the same without them
            y = op(x)
            if out is None:
                out = y if w is None else w * y
            else:
                out = out + y if w is None else torch.addcmul(out, w, y)  # out + w·y in one pass
        if out is None:
            raise RuntimeError("MixedOp called with no alive operation")
        return out
