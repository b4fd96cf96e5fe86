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

Every proposal depends only on (seed, proposal index): the random order draws from its own generator
`proposal_rng(seed, i)` and a selector restarts its batch stream in `begin_proposal(net, i)`. So under
torchrun the rounds can be split: rank r runs proposals r, r + W, ... (W ranks), rank 0 writes their
records in proposal order, every rank gets every candidate, the validation stage is split too (a
`evaluators.distributed.Sharded` evaluator) and rank 0's winner is every rank's.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np
from tqdm import tqdm

from ptnas.evaluators.base import Evaluator, Record
from ptnas.search_log import ReplayMismatchError, SearchLog
from ptnas.selectors.base import Selector
from ptnas.spaces.limit import Limit
from ptnas.supernet import EdgeId, Supernet


class Proposal:
    """One proposal round in progress: the supernet, the policy, the step counter, the log and the cost
    limit (ptnas.spaces.limit; None: none), which every decision keeps reachable."""

    def __init__(self, index: int, net: Supernet, selector: Selector, rng: np.random.Generator, log: SearchLog,
                 limit: Limit | None = None, on_pass: Callable[[int], None] | None = None):
        self.index, self.net, self.selector, self.rng, self.log = index, net, selector, rng, log
        self.limit = limit
        self.on_pass = on_pass  # told how many networks each scoring pass scored (the progress bar)
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
        if self.on_pass is not None:
            self.on_pass(len(scores))
        return {k: self.selector.merit(v) for k, v in scores.items()}

    def best(self, merits: dict[tuple[EdgeId, str], float]) -> tuple[EdgeId, str]:
        """The (edge, op) of highest merit; under a limit, among those after which a network within it
        can still be completed (ties: the first)."""
        pairs = list(merits.items())
        if self.limit is not None:
            allowed = {e: set(self.limit.allowed(self.net, e)) for e in dict.fromkeys(e for e, _ in merits)}
            pairs = [(k, m) for k, m in pairs if k[1] in allowed[k[0]]]
            if not pairs:
                edges = ", ".join(dict.fromkeys(e for e, _ in merits))
                raise ValueError(f"no scored op of edge {edges} leaves a network within the limit "
                                 f"(the {self.selector.name} selector scores only some of its ops)")
        (edge, op), _ = max(pairs, key=lambda kv: kv[1])
        return edge, op

    def decide_edge(self, edge: EdgeId) -> None:
        """Score the ops of one edge and keep the best (within the limit)."""
        self.decide(*self.best(self.score([edge])))

    def decide(self, edge: EdgeId, op: str) -> None:
        self.net.discretize(edge, op)
        self.log.decision(self.index, self.step, edge, op, self.net)
        self.step += 1
        self.selector.after_decision(self.net)

    def topology(self, edges: list[EdgeId], keep: int) -> None:
        """Progressively remove the edge with the worst merit until `keep` remain (DARTS-PT, ZC-PT); under a
        limit, the worst of those whose removal still leaves a network within it."""
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
            if self.on_pass is not None:
                self.on_pass(len(scores))
            open_ = alive if self.limit is None else self.limit.prunable(self.net, alive)
            if not open_:
                raise ValueError(f"no edge of {', '.join(alive)} can be removed within the limit")
            worst = min(open_, key=lambda e: self.selector.merit(scores[e], edge_level=True))
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


def proposal_seed(seed: int, proposal: int) -> int:
    """The seed of proposal `proposal` of a search seeded `seed` (its batch stream, its random order)."""
    return int(np.random.SeedSequence([seed, proposal]).generate_state(1)[0])


def proposal_rng(seed: int, proposal: int) -> np.random.Generator:
    return np.random.default_rng([seed, proposal])


def propose(net: Supernet, selector: Selector, order: Callable[[Proposal], None], index: int, seed: int,
            log: SearchLog, limit: Limit | None = None, on_pass: Callable[[int], None] | None = None) -> Hashable:
    """Proposal round `index` from the undecided supernet: its genotype (logged). `on_pass(n)` is told the
    number of networks of every scoring pass."""
    net.reset_decisions()
    selector.begin_proposal(net, index)
    rng = proposal_rng(seed, index)
    p = Proposal(index, net, selector, rng, log, limit, on_pass)
    order(p)
    groups = net.topology_groups()
    for j in (rng.permutation(len(groups)) if p.shuffle_nodes else range(len(groups))):
        p.topology(*groups[j])
    g = net.genotype()
    log.proposal(index, g)
    return g


def scoring_work(net: Supernet) -> int:
    """What scoring one network on `net` costs, in rough units: every alive op plus one per edge still in
    the supernet (its input's ReLU, the sum). The progress bar counts a proposal in these units, so that
    its ETA does not take the undecided supernet's pace for the whole proposal's: measured scoring calls
    fall from the undecided supernet to the decided one about as this does (docs/results.md, "A progress
    bar weighted by work")."""
    return sum(len(net.candidates(e)) + 1 for e in net.edges() if not net.is_pruned(e))


class _Counter(Selector):
    """Scores every candidate 0.0 and computes nothing: a dry run of an order with it counts the networks a
    proposal scores (`count`) and their `scoring_work` (`work`)."""

    name = "count"

    def __init__(self):
        self.count = self.work = 0

    def _add(self, net: Supernet, n: int) -> None:
        self.count += n
        self.work += n * scoring_work(net)

    def score_ops(self, net: Supernet, edges) -> dict:
        scores = {(e, o): 0.0 for e in edges for o in net.candidates(e)}
        self._add(net, len(scores))
        return scores

    def score_edges(self, net: Supernet, edges) -> dict:
        self._add(net, len(edges))
        return {e: 0.0 for e in edges}


def _dry_run(net: Supernet, order: Callable[[Proposal], None], seed: int, limit: Limit | None) -> _Counter | None:
    counter = _Counter()
    try:
        propose(net, counter, order, 0, seed, SearchLog(None, tensorboard=False), limit)
    except ValueError:
        return None
    finally:
        net.reset_decisions()
    return counter


def planned(net: Supernet, order: Callable[[Proposal], None], seed: int = 0, limit: Limit | None = None) -> int | None:
    """The networks one proposal of `order` scores (its supernet forwards, with a zero-cost selector), by a
    dry run that decides without scoring. Exact for every order when all edges hold the same number of ops
    (NB201, DARTS, ...): then which edge a global order decides first does not change the count; an estimate
    otherwise. None where the dry run's own decisions leave no network within `limit` (the real ones may).
    The supernet's decisions are reset afterwards."""
    counter = _dry_run(net, order, seed, limit)
    return None if counter is None else counter.count


def search(net: Supernet, selector: Selector, order: Callable[[Proposal], None], proposals: int,
           evaluator: Evaluator | None = None, seed: int = 0, log: SearchLog | None = None,
           progress: bool = False, process=None, limit: Limit | None = None) -> SearchResult:
    """Run `proposals` rounds of `order` with `selector` on `net`, then validate the unique candidates
    with `evaluator` (when there are several) and return the best. `process` (runtime.process.Process):
    under torchrun, the rounds are split over the ranks and every rank returns rank 0's result. `limit`
    (ptnas.spaces.limit.Limit): every decision keeps a network within it reachable.
    """
    if proposals < 1:
        raise ValueError(f"proposals must be at least 1, got {proposals}")
    log = log or SearchLog(None)
    if log.replaying and not selector.replayable:
        raise ValueError(f"the {selector.name} selector cannot continue a search from its scores.jsonl")
    distributed = process is not None and process.distributed
    if distributed:
        found = _split_rounds(net, selector, order, proposals, seed, log, process, progress, limit)
    else:
        found = _rounds(net, selector, order, proposals, seed, log, progress, limit)
    candidates: dict[str, Candidate] = {}
    for i, g in enumerate(found):
        candidates.setdefault(str(g), Candidate(g)).proposals.append(i)
    net.reset_decisions()
    unique = list(candidates.values())
    if len(unique) > 1:
        if evaluator is None:
            raise ValueError(f"{len(unique)} different candidates and no evaluator to choose among them")
        done = log.replayed_validations()
        if distributed:
            from ptnas.runtime.process import broadcast

            done = broadcast(done, process)
        todo = [c.genotype for c in unique[len(done):]]
        index = iter(range(len(done), len(unique)))
        records = done + evaluator.evaluate(todo, on_record=lambda r: log.validation(next(index), r))
        for c, r in zip(unique, records):
            c.record = r
    best = max(unique, key=lambda c: -math.inf if c.record is None else c.record.merit())
    if distributed:
        from ptnas.runtime.process import broadcast

        best = unique[broadcast(unique.index(best), process)]  # rank 0 decides
    if len(unique) > 1 and all(c.record is not None and not c.record.ok for c in unique):
        warnings.warn(f"no candidate could be validated ({unique[0].record.reason}); keeping the first proposal's",
                      RuntimeWarning, stacklevel=2)
    log.result(best.genotype)
    return SearchResult(best.genotype, unique)


def _rounds(net: Supernet, selector: Selector, order: Callable[[Proposal], None], proposals: int, seed: int,
            log: SearchLog, progress: bool, limit: Limit | None) -> list:
    """The proposals of one process, with a bar that advances by each scored network's `scoring_work` (its
    ETA is there from the first pass) and counts the networks; by proposals where the dry run fails."""
    plan = _dry_run(net, order, seed, limit) if progress else None
    weighted = plan is not None and plan.work > 0
    per = plan.work if weighted else 1
    found, scored = [], 0

    def show() -> None:
        networks = f", {scored}/{proposals * plan.count} networks" if weighted else ""
        bar.set_postfix_str(f"proposal {i + 1}/{proposals}{networks}", refresh=False)

    def on_pass(n: int) -> None:
        nonlocal scored
        scored += n
        show()
        bar.update(n * scoring_work(net))

    with tqdm(total=proposals * per, desc=f"{proposals} proposals", disable=not progress,
              bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]" if weighted else None) as bar:
        for i in range(proposals):  # (the bar is closed before an error prints)
            show()
            found.append(propose(net, selector, order, i, seed, log, limit, on_pass=on_pass if weighted else None))
            bar.n, scored = (i + 1) * per, (i + 1) * (plan.count if weighted else 0)  # in step whatever a limit changed
            bar.refresh()
    return found


def _split_rounds(net: Supernet, selector: Selector, order: Callable[[Proposal], None], proposals: int, seed: int,
                  log: SearchLog, process, progress: bool, limit: Limit | None = None) -> list:
    """Rank r runs proposals r, r + W, ...; after each group of W rounds every rank gets every genotype
    and rank 0 writes the group's records in proposal order. A resumed run's records go to the rank
    that replays them; an error on any rank is raised on every rank."""
    from ptnas.runtime.process import broadcast, gather

    replay = broadcast(log.take_proposal_replay() if process.primary else None, process)
    world, found = process.world_size, []
    for start in tqdm(range(0, proposals, world), desc="proposals", disable=not progress):
        i = start + process.rank
        mine = None
        if i < proposals:
            local = SearchLog(None, tensorboard=False, replay=replay.get(i, []))
            try:
                mine = (i, propose(net, selector, order, i, seed, local, limit), local.records, len(replay.get(i, [])), None)
            except Exception as e:  # noqa: BLE001 - handed to every rank
                mine = (i, None, None, 0, (type(e).__name__, f"rank {process.rank}: {' '.join(str(e).split())}"))
        rounds = [r for r in gather(mine, process) if r is not None]
        errors = [r[4] for r in rounds if r[4] is not None]
        if errors:
            kind, message = errors[0]
            raise (ReplayMismatchError if kind == ReplayMismatchError.__name__ else
                   ValueError if kind in ("ValueError", "KeyError") else RuntimeError)(message)
        for index, genotype, records, replayed, _ in sorted(rounds, key=lambda r: r[0]):
            if process.primary:
                log.absorb(records, replayed, index % world)
            found.append(genotype)
    return found
