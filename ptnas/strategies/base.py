"""What every multi-trial search strategy shares: the budget, the evaluated trials, the proxy that may
steer a strategy, and the settings they share.

A strategy sees only the space's `sample(rng)`, `mutate(g, rng)` and `neighbours(g)`, an evaluator
(ptnas.evaluators: table, shortreg, fear, zero-cost; higher score = better) and, optionally, a proxy
scorer (a zero-cost evaluator, or scores read from a cache) for warm-up and move proposal
(Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, §5). It never imports a space.

A strategy is ask/tell: `start(space, proxy, rng)`, then `ask()` proposes the next architecture from what
it has been told so far (None: wait for a record in flight), and `tell(genotype, record)` hands it each
record as it finishes, in any order. `Strategy.run` drives it through `executors.loop.drive` with the executor and
the number of evaluations in flight (`jobs`) that `Trials` holds: one at a time in this process by default.

`Trials` does the bookkeeping: it counts evaluations against the budget (a genotype evaluated before is
answered from memory and not counted again), keeps the best so far, and logs every evaluation (scores.jsonl
kind `evaluation`, in the order they finish; TensorBoard best-so-far against evaluations and seconds). Proxy
scores are counted apart (`proxy_evaluations`) and logged as kind `proxy`. A time budget is rank 0's clock
under torchrun, so every rank makes the same decisions.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Hashable, Sequence

import numpy as np

from ptnas.evaluators.base import Evaluator, Record
from ptnas.settings import Setting

MAX_SAMPLES, WHY_MAX = 1_000_000, "every drawn architecture is held in memory"  # cap of --warmup, --samples, --sample


def sample_cap(count: int) -> str | None:
    """The check of a count of drawn architectures (--warmup, --samples, --sample): at most MAX_SAMPLES."""
    return f"must be at most {MAX_SAMPLES:,} ({WHY_MAX}), got {count}" if count > MAX_SAMPLES else None


GIVE_UP_AFTER = 1000  # consecutive already-seen samples after which a strategy takes the space as exhausted


class BudgetSpent(Exception):
    """Raised inside a strategy when the evaluation budget is used up; the search then ends."""


@dataclass(frozen=True)
class Budget:
    """Evaluated architectures (`trials`) and/or wall time (`seconds`); the search stops at the first reached."""

    trials: int | None = None
    seconds: float | None = None

    def __post_init__(self):
        if self.trials is None and self.seconds is None:
            raise ValueError("a budget needs --trials or --time-budget")
        if self.trials is not None and self.trials < 1:
            raise ValueError(f"--trials must be at least 1, got {self.trials}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"--time-budget must be positive, got {self.seconds}")


class Trials:
    """Evaluations of one search, in order, against a budget."""

    def __init__(self, evaluator: Evaluator | None, budget: Budget, log=None, progress: bool = False, process=None,
                 executor=None, jobs: int | None = None):
        self.evaluator, self.budget, self.log, self.process = evaluator, budget, log, process
        self.executor, self.jobs = executor, jobs  # None: ptnas.executors.Local(evaluator), its workers
        self.records: list[Record] = []
        self.seen: dict[str, Record] = {}
        self.best: Record | None = None
        self.best_curve: list[float | None] = []  # best score after each evaluation
        self.seconds: list[float] = []  # wall time at each evaluation
        self.start = time.perf_counter()
        self._bar = None
        if progress and budget.trials is not None:
            from tqdm import tqdm

            self._bar = tqdm(total=budget.trials, desc="evaluations")

    @property
    def spent(self) -> bool:
        return self.budget_reached(0)

    def budget_reached(self, in_flight: int) -> bool:
        """Whether the budget allows no evaluation beyond those done and the `in_flight` ones."""
        b = self.budget
        if b.trials is not None and len(self.records) + in_flight >= b.trials:
            return True
        if b.seconds is None:
            return False
        over = time.perf_counter() - self.start >= b.seconds
        if self.process is not None and self.process.distributed:
            from ptnas.runtime.process import broadcast

            over = broadcast(over, self.process)  # rank 0's clock decides for every rank
        return over

    def evaluate(self, genotype: Hashable) -> Record:
        """The genotype's record: from memory when evaluated before, else evaluated now (and counted).
        Raises BudgetSpent when the budget does not allow another evaluation."""
        return self.evaluate_many([genotype])[0]

    def evaluate_many(self, genotypes: Sequence[Hashable]) -> list[Record]:
        """The records of `genotypes`, as `evaluate` would give them one after the other, with the new
        ones evaluated in one call of the evaluator (for a strategy that overrides `run` and evaluates
        synchronously; ask/tell strategies go through `drive`). When the budget allows only some, those are
        evaluated and recorded, then BudgetSpent is raised."""
        new = [g for g in {str(g): g for g in genotypes if str(g) not in self.seen}.values()]
        if new and self.spent:
            raise BudgetSpent
        allowed = new if self.budget.trials is None else new[:self.budget.trials - len(self.records)]
        replayed = self.log.replayed_records("evaluation", [str(g) for g in allowed]) if self.log is not None else []
        for _ in replayed:  # a resumed search: what its scores.jsonl holds is not evaluated again
            self.add(self.replayed_finish())
        if len(replayed) < len(allowed):
            for record in self.evaluator.evaluate(allowed[len(replayed):]):
                self.add(record)
        if len(allowed) < len(new):
            raise BudgetSpent
        return [self.seen[str(g)] for g in genotypes]

    def drive(self, strategy: "Strategy", proxy: "ProxyScores | None" = None) -> None:
        """Run `strategy` (started) to the end of the budget with this search's executor (see `executors.loop.drive`)."""
        from ptnas.executors.local import Local

        executor = self.executor if self.executor is not None else Local(self.evaluator)
        executor.run(strategy, self, self.jobs or executor.workers, proxy)

    def state(self) -> tuple:
        """What another rank needs to hold this search's outcome (`adopt`)."""
        return self.records, self.best_curve, self.seconds

    def adopt(self, state: tuple) -> None:
        """Take rank 0's outcome as this rank's (an asynchronous torchrun search, where rank 0 alone drives)."""
        records, self.best_curve, self.seconds = state
        self.records, self.seen = list(records), {r.genotype: r for r in records}
        self.best = max((r for r in records if r.ok), key=lambda r: r.merit(), default=None)
        if self.log is not None:
            self.log.skip_replay()

    def replayed_finish(self) -> Record | None:
        """A resumed search: the next evaluation its scores.jsonl holds (None when there is none, or the next
        replayed record is of another kind). Written again by `add`, which checks it."""
        row = self.log.next_replayed("evaluation") if self.log is not None else None
        if row is None:
            return None
        self.start -= row.get("seconds") or 0.0  # a time budget counts the replayed evaluations' time
        return Record.from_row(row)

    def add(self, record: Record) -> None:
        """Record a finished evaluation (counted, logged, the best kept)."""
        key = record.genotype
        self.seen[key] = record
        self.records.append(record)
        if record.ok and (self.best is None or record.merit() > self.best.merit()):
            self.best = record
        elapsed = time.perf_counter() - self.start
        self.best_curve.append(None if self.best is None else self.best.score)
        self.seconds.append(elapsed)
        if self.log is not None:
            self.log.evaluation(len(self.records) - 1, record, best=self.best_curve[-1], seconds=elapsed)
        if self._bar is not None:
            self._bar.update()
            if self.best is not None:
                self._bar.set_postfix(best=f"{self.best.score:.4g}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class ProxyScores:
    """Zero-cost scores that steer a strategy: `score(genotypes)` -> oriented scores (higher = better).

    From a zero-cost evaluator, or from a cache `{genotype text: raw proxy value}` (e.g. the scores of a
    whole benchmark space computed once; `higher_is_better` says the proxy's direction). Scores are
    remembered, so each genotype is scored once.
    """

    def __init__(self, evaluator: Evaluator | None = None, cache: dict[str, float] | None = None,
                 higher_is_better: bool = True, log=None, name: str = ""):
        if evaluator is None and cache is None:
            raise ValueError("ProxyScores needs an evaluator or a cache")
        self.evaluator, self.cache, self.sign = evaluator, cache, 1.0 if higher_is_better else -1.0
        self.log, self.name = log, name
        self.known: dict[str, float] = {}
        self.count = 0

    def score(self, genotypes: Sequence[Hashable]) -> list[float]:
        todo = [g for g in dict.fromkeys(str(g) for g in genotypes) if g not in self.known]
        if todo:
            if self.cache is not None:
                missing = [g for g in todo if g not in self.cache]
                if missing:
                    raise KeyError(f"the proxy cache has no score for {missing[0]}")
                for g in todo:
                    value = self.cache[g]
                    self.known[g] = -math.inf if value is None or math.isnan(value) else self.sign * value
            else:
                replayed = self.log.replayed_records("proxy", todo) if self.log is not None else []
                for row in replayed:  # a resumed search's steering scores, as its scores.jsonl holds them
                    self.known[row["genotype"]] = -math.inf if row["value"] is None else float(row["value"])
                if len(replayed) < len(todo):
                    for r in self.evaluator.evaluate(todo[len(replayed):]):
                        self.known[r.genotype] = r.merit()
            self.count += len(todo)
            if self.log is not None:
                for g in todo:
                    self.log.proxy(g, self.known[g], self.name)
        return [self.known[str(g)] for g in genotypes]


def read_proxy_cache(path: str | Path) -> dict[str, float]:
    """A cache file of raw proxy values: JSON lines `{"arch": text, "score": value}` (as written by
    benchmarks/proxy_scores.py) or one JSON object `{text: value}`; null means NaN."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"--proxy-cache {path}: cannot be read ({type(e).__name__})") from None
    n, out = 0, {}
    try:
        data = json.loads(text) if text.lstrip().startswith("{") and "\n{" not in text.strip() else None
        if data is not None and set(data) != {"arch", "score"}:  # one object of scores, not one JSON line
            out = {str(k): (math.nan if v is None else float(v)) for k, v in data.items()}
        else:
            for n, line in enumerate(text.splitlines(), 1):  # noqa: B007 - n names the line of an error
                if line.strip():
                    row = json.loads(line)
                    out[str(row["arch"])] = math.nan if row["score"] is None else float(row["score"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        where = f", line {n}" if n else ""
        why = " ".join(f"{type(e).__name__}: {e}".split())[:120]
        raise ValueError(f"--proxy-cache {path}{where}: not a proxy score cache ({why})") from None
    return _nonempty(out, path)


def _nonempty(scores: dict[str, float], path: Path) -> dict[str, float]:
    if not scores:
        raise ValueError(f"--proxy-cache {path} holds no scores (expected JSON lines {{\"arch\": ..., \"score\": ...}} "
                         "or one JSON object {arch: score})")
    return scores


@dataclass
class StrategyResult:
    genotype: Hashable | None  # the best genotype found (None if nothing could be evaluated)
    record: Record | None  # its evaluation (for naswot: its proxy score)
    trials: Trials
    details: dict[str, Any] = field(default_factory=dict)


class Strategy:
    """Base class: `run(space, trials, proxy, rng) -> StrategyResult`. Subclasses set `name`, `SETTINGS` (the
    settings it reads of its own), `uses_evaluator` (False: the proxy alone decides) and `needs_proxy`, and
    implement `start`, `ask` and `tell` (or override `run`). `finished`: set when it has nothing more to ask."""

    name: ClassVar[str] = ""
    SETTINGS: ClassVar[tuple[Setting, ...]] = ()
    uses_evaluator: ClassVar[bool] = True
    needs_proxy: ClassVar[bool] = False

    @classmethod
    def from_args(cls, args) -> "Strategy":
        return cls()

    @property
    def wants_proxy(self) -> bool:
        """Whether this configured strategy scores architectures with a proxy."""
        return self.needs_proxy

    finished: bool = False

    def start(self, space, proxy: ProxyScores | None, rng: np.random.Generator) -> None:
        """Begin a search (and forget any earlier one)."""
        raise NotImplementedError

    def ask(self) -> Hashable | None:
        """The next architecture to evaluate, or None: wait for a record in flight (or, with `finished`
        set, nothing more to ask)."""
        raise NotImplementedError

    def tell(self, genotype: Hashable, record: Record) -> None:
        """The record of an architecture it asked for (or one asked again, from memory)."""

    def details(self, proxy: ProxyScores | None) -> dict[str, Any]:
        """What the result says beyond the best record (restarts, proxy evaluations, ...)."""
        return {}

    def run(self, space, trials: Trials, proxy: ProxyScores | None, rng: np.random.Generator) -> StrategyResult:
        self.finished = False
        self.start(space, proxy, rng)
        trials.drive(self, proxy)
        return result_of(trials, **self.details(proxy))

    def describe(self) -> dict[str, Any]:
        return {"strategy": self.name}


def result_of(trials: Trials, **details) -> StrategyResult:
    best = trials.best
    return StrategyResult(None if best is None else best.genotype, best, trials, details)


def sample_unique(space, rng: np.random.Generator, count: int, avoid: Callable[[str], bool] = lambda g: False) -> list:
    """`count` distinct random genotypes (fewer if the space runs out), skipping those `avoid` rejects."""
    out, seen, misses = [], set(), 0
    while len(out) < count and misses < GIVE_UP_AFTER:
        g = space.sample(rng)
        key = str(g)
        if key in seen or avoid(key):
            misses += 1
            continue
        seen.add(key)
        out.append(g)
        misses = 0
    return out


WARMUP = Setting("warmup", int, 0, minimum=0, check=sample_cap, metavar="W",
                 help="random, evolution: score W random architectures with --proxy first, none when 0 (zero-cost "
                      "warm-up, Abdelfattah et al. §5.1)")
