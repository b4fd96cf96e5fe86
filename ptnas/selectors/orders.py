"""Edge orders (Xiang et al. 2023, section 4.2): in which order a proposal decides its edges.

Each order is a function `order(proposal)` that decides every undecided edge of `proposal.net`
through `proposal.score` (one scoring pass, logged) and `proposal.decide_edge` / `proposal.decide`, choosing
with `proposal.best` (the best merit that keeps the cost limit reachable).
Merits are "higher = keep" (see `Selector.merit`), so the orders never look at a policy's direction.

The two "once" orders sort the edges by a statistic of one initial scoring pass, then decide them in
that order, re-scoring each edge when its turn comes. (In the paper's released code both "once"
orders never sort and so run in reverse edge order; we implement what the paper describes.)
"""
from __future__ import annotations

from statistics import fmean
from typing import TYPE_CHECKING, Callable

from ptnas.registry import Registry

if TYPE_CHECKING:
    from ptnas.selectors.proposals import Proposal

ORDERS: Registry[Callable[["Proposal"], None]] = Registry("order")


@ORDERS.register("fixed")
def fixed(p: "Proposal") -> None:
    """Edges in the supernet's input-to-output order."""
    for e in p.net.undecided():
        p.decide_edge(e)


@ORDERS.register("random")
def random(p: "Proposal") -> None:
    """Edges in a random order, drawn per proposal (DARTS-PT's order)."""
    p.shuffle_nodes = True
    edges = p.net.undecided()
    for i in p.rng.permutation(len(edges)):
        p.decide_edge(edges[i])


@ORDERS.register("global-op-iter")
def global_op_iter(p: "Proposal") -> None:
    """Each step scores every (edge, op) still open and makes the single best decision overall."""
    while p.net.undecided():
        p.decide(*p.best(p.score(p.net.undecided())))


@ORDERS.register("global-edge-iter")
def global_edge_iter(p: "Proposal") -> None:
    """Each step picks the edge with the best mean merit over its ops, then re-scores and decides it."""
    while p.net.undecided():
        merits = p.score(p.net.undecided(), stage="order")
        p.decide_edge(_best_edge(merits, fmean))


@ORDERS.register("global-op-once")
def global_op_once(p: "Proposal") -> None:
    """One pass ranks the edges by their best op's merit; edges are then decided in that order."""
    for e in _ranked(p.score(p.net.undecided(), stage="order"), max):
        p.decide_edge(e)


@ORDERS.register("global-edge-once")
def global_edge_once(p: "Proposal") -> None:
    """One pass ranks the edges by the mean merit of their ops; edges are then decided in that order."""
    for e in _ranked(p.score(p.net.undecided(), stage="order"), fmean):
        p.decide_edge(e)


def _per_edge(merits: dict, stat) -> dict[str, float]:
    by_edge: dict[str, list[float]] = {}
    for (e, _), m in merits.items():
        by_edge.setdefault(e, []).append(m)
    return {e: stat(ms) for e, ms in by_edge.items()}


def _best_edge(merits: dict, stat) -> str:
    per_edge = _per_edge(merits, stat)
    return max(per_edge, key=per_edge.get)


def _ranked(merits: dict, stat) -> list[str]:
    per_edge = _per_edge(merits, stat)
    return sorted(per_edge, key=per_edge.get, reverse=True)  # stable: ties keep the supernet's order


get = ORDERS.get
names = ORDERS.names
DEFAULT = "global-op-iter"  # search.py's --order
