"""The search loop: N proposal rounds, each deciding every edge from the undecided supernet, then a
validation stage that picks the best unique candidate (Xiang et al. 2023, Algorithm 1).

The validation stage is an evaluator (ptnas.evaluators): every selector gets one, and the candidate
with the highest evaluator score wins (rejected and failed candidates rank last). With one unique
candidate there is nothing to choose and no validation is run.

Resume: a `SearchLog` opened on the scores.jsonl of an interrupted run replays it. Every scoring pass
already in the file is served from it instead of being computed (the selector only advances its batch
stream, `Selector.skip_pass`), every record already written is not written again, and the search goes
on from the first pass the file lacks, so a resumed run ends with the genotype and the file of an
uninterrupted one. Only selectors whose passes depend on nothing but their inputs (`replayable`) resume
this way.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np
from tqdm import tqdm

from ptnas.evaluators.base import Evaluator, Record
from ptnas.search_log import SearchLog
from ptnas.selectors.base import Selector
from ptnas.supernet import EdgeId, Supernet


class Proposal:
    """One proposal round in progress: the supernet, the policy, the step counter and the log."""

    def __init__(self, index: int, net: Supernet, selector: Selector, rng: np.random.Generator, log: SearchLog):
        self.index, self.net, self.selector, self.rng, self.log = index, net, selector, rng, log
        self.step = 0
        self.shuffle_nodes = False  # the random order also visits topology nodes in random order

    def score(self, edges: list[EdgeId], stage: str = "op") -> dict[tuple[EdgeId, str], float]:
        """One scoring pass over the ops of `edges`; logs every score and returns merits."""
        scores = self.log.replayed_pass(self.index, self.step, stage)
        if scores is not None:  # already in the log of the run being resumed
            self.selector.skip_pass()
        else:
            scores = self.selector.score_ops(self.net, edges)
            for (e, o), v in scores.items():
                self.log.score(self.index, self.step, stage, e, o, v)
        if not scores:
            raise RuntimeError(f"selector {self.selector.name} scored no op on edges {edges}")
        return {k: self.selector.merit(v) for k, v in scores.items()}

    def decide_edge(self, edge: EdgeId) -> None:
        """Score the ops of one edge and keep the best."""
        merits = self.score([edge])
        (_, op), _ = max(merits.items(), key=lambda kv: kv[1])
        self.decide(edge, op)

    def decide(self, edge: EdgeId, op: str) -> None:
        self.net.discretize(edge, op)
        self.log.decision(self.index, self.step, edge, op, self.net)
        self.step += 1
        self.selector.after_decision(self.net)

    def topology(self, edges: list[EdgeId], keep: int) -> None:
        """Progressively remove the edge with the worst merit until `keep` remain (DARTS-PT, ZC-PT)."""
        alive = [e for e in edges if not self.net.is_pruned(e)]
        while len(alive) > keep:
            scores = self.log.replayed_pass(self.index, self.step, "topology")
            if scores is not None:  # already in the log of the run being resumed
                self.selector.skip_pass()
                scores = {e: v for (e, _), v in scores.items()}
            else:
                scores = self.selector.score_edges(self.net, alive)
                for e, v in scores.items():
                    self.log.score(self.index, self.step, "topology", e, None, v)
            worst = min(alive, key=lambda e: self.selector.merit(scores[e], edge_level=True))
            self.net.prune_edge(worst)
            self.log.pruned(self.index, self.step, worst)
            alive.remove(worst)
            self.step += 1
            self.selector.after_decision(self.net)


@dataclass
class Candidate:
    genotype: Hashable
    proposals: list[int] = field(default_factory=list)
    record: Record | None = None  # the validation stage's evaluation (None: not validated)

    @property
    def score(self) -> float | None:
        return None if self.record is None else self.record.score


@dataclass
class SearchResult:
    genotype: Hashable
    candidates: list[Candidate]


def search(net: Supernet, selector: Selector, order: Callable[[Proposal], None], proposals: int,
           evaluator: Evaluator | None = None, seed: int = 0, log: SearchLog | None = None,
           progress: bool = False) -> SearchResult:
    """Run `proposals` rounds of `order` with `selector` on `net`, then validate the unique candidates
    with `evaluator` (when there are several) and return the best.
    """
    if proposals < 1:
        raise ValueError(f"proposals must be at least 1, got {proposals}")
    log = log or SearchLog(None)
    if log.replaying and not selector.replayable:
        raise ValueError(f"the {selector.name} selector cannot continue a search from its scores.jsonl")
    rng = np.random.default_rng(seed)
    candidates: dict[str, Candidate] = {}
    for i in tqdm(range(proposals), desc="proposals", disable=not progress):
        net.reset_decisions()
        selector.begin_proposal(net, i)
        p = Proposal(i, net, selector, rng, log)
        order(p)
        groups = net.topology_groups()
        for j in (rng.permutation(len(groups)) if p.shuffle_nodes else range(len(groups))):
            p.topology(*groups[j])
        g = net.genotype()
        log.proposal(i, g)
        candidates.setdefault(str(g), Candidate(g)).proposals.append(i)
    net.reset_decisions()
    unique = list(candidates.values())
    if len(unique) > 1:
        if evaluator is None:
            raise ValueError(f"{len(unique)} different candidates and no evaluator to choose among them")
        done = log.replayed_validations()
        todo = [c.genotype for c in unique[len(done):]]
        index = iter(range(len(done), len(unique)))
        records = done + evaluator.evaluate(todo, on_record=lambda r: log.validation(next(index), r))
        for c, r in zip(unique, records):
            c.record = r
    best = max(unique, key=lambda c: -math.inf if c.record is None else c.record.merit())
    if len(unique) > 1 and all(c.record is not None and not c.record.ok for c in unique):
        warnings.warn(f"no candidate could be validated ({unique[0].record.reason}); keeping the first proposal's",
                      RuntimeWarning, stacklevel=2)
    log.result(best.genotype)
    return SearchResult(best.genotype, unique)
