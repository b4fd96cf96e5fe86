"""A selection policy = a scoring function over (edge, op) pairs and whole edges, plus a direction.

Edge orders (orders.py) and the proposal driver (proposals.py) work on any `Selector`; a selector
never knows which space its supernet comes from.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable, Hashable, Iterator, Sequence

from ptnas.supernet import EdgeId, Supernet

OpScores = dict[tuple[EdgeId, str], float]


class Selector:
    """Base class. Subclasses set `name` and the directions, and implement the scoring passes.

    keep_high: within an edge, the op with the highest score stays (False: the lowest stays, as in
        π_zc-pt, which keeps the op whose removal gives the lowest score).
    edge_keep_high: in the topology step, the edge with the highest score stays.
    A NaN score always ranks worst.
    """

    name = ""
    keep_high = True
    edge_keep_high = True

    def begin_proposal(self, net: Supernet, proposal: int) -> None:
        """Called before each proposal round, with the supernet's decisions reset."""

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        """One scoring pass: a score per (edge, op) for every op the policy may choose on `edges`."""
        raise NotImplementedError

    def score_edges(self, net: Supernet, edges: Sequence[EdgeId]) -> dict[EdgeId, float]:
        """One scoring pass for the topology step: a score per edge of one node."""
        raise NotImplementedError

    def after_decision(self, net: Supernet) -> None:
        """Called after every permanent decision (DARTS-PT fine-tunes the supernet here)."""

    def validate(self, genotypes: Sequence[Hashable], build: Callable[[Hashable], object]) -> list[float] | None:
        """Scores of the unique candidates of all proposals (higher wins), or None if the policy has none."""
        return None

    def merit(self, score: float, edge_level: bool = False) -> float:
        """Score turned into 'higher = keep', with NaN as the worst."""
        if math.isnan(score):
            return -math.inf
        high = self.edge_keep_high if edge_level else self.keep_high
        return score if high else -score


@contextlib.contextmanager
def discretized(net: Supernet, edge: EdgeId, op: str) -> Iterator[None]:
    """A + (e, o) for the duration of the block (a decision snapshot restores the state after)."""
    snapshot = net.decisions()
    net.discretize(edge, op)
    try:
        yield
    finally:
        net.load_decisions(snapshot)
