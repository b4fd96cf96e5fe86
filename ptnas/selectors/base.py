"""A selection policy = a scoring function over (edge, op) pairs and whole edges, plus a direction.

Edge orders (orders.py) and the proposal driver (proposals.py) work on any `Selector`; a selector
never knows which space its supernet comes from.
"""
from __future__ import annotations

import argparse
import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import torch

from ptnas.settings import Setting
from ptnas.supernet import EdgeId, Supernet
from ptnas.supernet.training import SETTINGS as BILEVEL  # noqa: F401 - the trained selectors' shared settings

OpScores = dict[tuple[EdgeId, str], float]
# Candidates of a scoring pass measured in one forward: read by zc-pt, zc-disc and darts-pt.
REPLICAS = Setting("replicas", int, 0, minimum=0, metavar="R",
                   help="candidates of a scoring pass measured in one forward (zc-pt, zc-disc with nwot, jacob_cov, "
                        "fisher or linear_regions; darts-pt's V): 0 = auto (all of a pass on CUDA, chunked to fit "
                        "memory; 1 on CPU, where it was measured not to pay), 1 = one forward per candidate")


@dataclass
class SearchContext:
    """What a search program has built before its selector: the resolved flags, the supernet, the device,
    the batch sources (`(pool,)` for zero-cost selectors, `(train, valid)` for those that train a
    supernet), the run dir and, for trained selectors, the trained supernet's state."""

    args: argparse.Namespace
    net: Supernet
    device: torch.device
    sources: tuple = ()
    run_dir: Path | None = None
    trained_state: dict[str, Any] | None = None
    bilevel: Any = None  # supernet.training.BilevelConfig: the bilevel settings (DARTS-PT fine-tunes with them)
    on_parts: Callable[[dict], None] | None = None  # a sink for population proxies' raw parts (parts.jsonl)


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
    trains_supernet: ClassVar[bool] = False  # decides on a supernet trained by bilevel DARTS first
    replayable: ClassVar[bool] = False  # a pass's scores depend only on the decisions and the pass's batch
    SETTINGS: ClassVar[tuple[Setting, ...]] = ()  # the search settings this selector reads of its own
    reads: ClassVar[tuple[str, ...]] = ()  # their names (set from SETTINGS)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reads = tuple(s.name for s in cls.SETTINGS)

    @classmethod
    def check_args(cls, args: argparse.Namespace) -> None:
        """Refuse settings this selector cannot work with (ValueError, one line), before anything is built."""

    @classmethod
    def from_context(cls, context: SearchContext) -> "Selector":
        """The selector a search program asks for, built from its resolved flags and what it has built."""
        raise NotImplementedError(f"selector {cls.name} cannot be built from the command line")

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

    def skip_pass(self) -> None:
        """A scoring pass is replayed from a resumed run's log: advance whatever the pass would have used."""

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
