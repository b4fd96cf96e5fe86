"""Random search: sample and evaluate until the budget is spent; the best evaluated architecture wins.

With a zero-cost warm-up (Abdelfattah et al., ICLR 2021, §5.1): W random architectures (drawn with
replacement, as the authors' released example does) are scored by the proxy first, and the search
evaluates them in proxy order, best first, before it goes on with fresh random samples.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from ptnas.strategies.base import GIVE_UP_AFTER, WARMUP, ProxyScores, Strategy


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

    def start(self, space, proxy: ProxyScores | None, rng: np.random.Generator) -> None:
        self.space, self.rng, self.proxy = space, rng, proxy
        self.queue = deque(warmup_order(space, proxy, self.warmup, rng) if self.warmup else [])
        self.asked: set[str] = set()

    def ask(self):
        if self.queue:  # the warm-up pool, in proxy order
            genotype = self.queue.popleft()
            self.asked.add(str(genotype))
            return genotype
        for _ in range(GIVE_UP_AFTER):
            genotype = self.space.sample(self.rng)
            if str(genotype) not in self.asked:
                self.asked.add(str(genotype))
                return genotype
        self.finished = True  # GIVE_UP_AFTER draws in a row were asked before: the space is exhausted
        return None

    def details(self, proxy: ProxyScores | None) -> dict:
        return {"warmup": self.warmup, "proxy_evaluations": 0 if proxy is None else proxy.count}
