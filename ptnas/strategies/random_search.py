"""Random search: sample and evaluate until the budget is spent; the best evaluated architecture wins.

With a zero-cost warm-up (Abdelfattah et al., ICLR 2021, §5.1): W random architectures (drawn with
replacement, as the authors' released example does) are scored by the proxy first, and the search
evaluates them in proxy order, best first, before it goes on with fresh random samples.
"""
from __future__ import annotations

import numpy as np

from ptnas.strategies.base import (GIVE_UP_AFTER, WARMUP, BudgetSpent, ProxyScores, Strategy, StrategyResult, Trials,
                                   result_of)


def warmup_order(space, proxy: ProxyScores, count: int, rng: np.random.Generator) -> list:
    """`count` random draws, duplicates dropped, sorted by proxy score (best first; ties keep draw order)."""
    pool = list({str(g): g for g in (space.sample(rng) for _ in range(count))}.values())
    scores = proxy.score(pool)
    return [pool[i] for i in sorted(range(len(pool)), key=lambda i: -scores[i])]


class RandomSearch(Strategy):
    name = "random"
    SETTINGS = (WARMUP,)

    def __init__(self, warmup: int = 0):
        if warmup < 0:
            raise ValueError(f"--warmup must be at least 0, got {warmup}")
        self.warmup = warmup

    @classmethod
    def from_args(cls, args) -> "RandomSearch":
        return cls(args.warmup)

    @property
    def wants_proxy(self) -> bool:
        return self.warmup > 0

    def describe(self) -> dict:
        return {"strategy": self.name, "warmup": self.warmup}

    def run(self, space, trials: Trials, proxy: ProxyScores | None, rng: np.random.Generator) -> StrategyResult:
        queue = warmup_order(space, proxy, self.warmup, rng) if self.warmup else []
        misses, size = 0, trials.batch  # one evaluation per rank at a time; the same draws on any number
        try:
            for k in range(0, len(queue), size):
                trials.evaluate_many(queue[k:k + size])
            while misses < GIVE_UP_AFTER:
                batch: dict[str, object] = {}
                while len(batch) < size and misses < GIVE_UP_AFTER:
                    g = space.sample(rng)
                    if str(g) in trials.seen or str(g) in batch:
                        misses += 1
                        continue
                    misses = 0
                    batch[str(g)] = g
                trials.evaluate_many(list(batch.values()))
        except BudgetSpent:
            pass
        return result_of(trials, warmup=self.warmup, proxy_evaluations=0 if proxy is None else proxy.count)
