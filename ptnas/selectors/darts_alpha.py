"""DARTS-α: on a trained supernet, the operation with the largest architecture weight stays.

π_darts(A, e) = argmax over o ≠ `none` of α_{e,o} (Liu et al., "DARTS", ICLR 2019, §2.4). The score
of (e, o) is softmax(α_e)_o, the weight o carries in its MixedOp, so scores of different edges are
comparable under the global orders. Deciding an edge changes no α, so every edge order gives the same
architecture. Topology (DARTS's rule): each intermediate node keeps the 2 inputs whose strongest
non-`none` operation weighs most; an edge's score is max over o ≠ `none` of softmax(α_e)_o.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ptnas.selectors.base import BILEVEL, OpScores, Selector
from ptnas.supernet import EdgeId, Supernet

NONE = "none"


class DartsAlpha(Selector):
    """π_darts: argmax of α over the alive operations other than `none`."""

    name = "darts-alpha"
    keep_high = True
    edge_keep_high = True
    trains_supernet = True
    replayable = True
    SETTINGS = BILEVEL

    @classmethod
    def check_args(cls, args) -> None:
        if args.fix_alpha:
            raise ValueError("--fix-alpha leaves α at its random initialisation, so darts-alpha would pick by noise; "
                             "use it with darts-pt")

    @classmethod
    def from_context(cls, context) -> "DartsAlpha":
        return cls()

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        out: OpScores = {}
        for e in edges:
            weights = dict(zip(net.ops(e), _softmax(net, e)))
            choices = [o for o in net.candidates(e) if o != NONE]
            if not choices:
                raise ValueError(f"edge {e!r} has no alive operation other than {NONE!r}; darts-alpha never picks it")
            out.update({(e, o): weights[o] for o in choices})
        return out

    def score_edges(self, net: Supernet, edges: Sequence[EdgeId]) -> dict[EdgeId, float]:
        out = {}
        for e in edges:
            strengths = [w for o, w in zip(net.ops(e), _softmax(net, e)) if o != NONE]
            out[e] = max(strengths) if strengths else float("nan")
        return out


def _softmax(net: Supernet, edge: EdgeId) -> list[float]:
    return torch.softmax(net.alphas[edge].detach().double(), -1).tolist()
