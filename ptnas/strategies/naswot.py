"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021): score N random
architectures with a zero-cost proxy (nwot by default) and keep the best. Nothing is trained and the
evaluator is not used; the result's record is the winner's proxy score.
"""
from __future__ import annotations

import math

import numpy as np

from ptnas.evaluators.base import Record
from ptnas.settings import Setting
from ptnas.strategies.base import ProxyScores, Strategy, StrategyResult, Trials, sample_cap, sample_unique

SAMPLES = 100


class Naswot(Strategy):
    name = "naswot"
    uses_evaluator = False
    needs_proxy = True
    SETTINGS = (Setting("samples", int, SAMPLES, minimum=1, check=sample_cap, metavar="N",
                        help="naswot: random architectures scored by --proxy"),)

    def __init__(self, samples: int = SAMPLES):
        if samples < 1:
            raise ValueError(f"--samples must be at least 1, got {samples}")
        self.samples = samples

    @classmethod
    def from_args(cls, args) -> "Naswot":
        return cls(args.samples)

    def describe(self) -> dict:
        return {"strategy": self.name, "samples": self.samples}

    def run(self, space, trials: Trials, proxy: ProxyScores | None, rng: np.random.Generator) -> StrategyResult:
        pool = sample_unique(space, rng, self.samples)
        scores = proxy.score(pool)
        best = max(range(len(pool)), key=lambda i: scores[i])
        record = Record(str(pool[best]), scores[best], "ok", details={"proxy": proxy.name, "samples": len(pool)})
        details = {"samples": len(pool), "proxy_evaluations": proxy.count}
        if all(s == -math.inf for s in scores):  # every score NaN (or the proxy failed): the winner is the first drawn
            details["warnings"] = [f"every {proxy.name} score of the {len(pool)} sampled architectures was NaN; the "
                                   "genotype is the first one drawn and says nothing about the architectures"]
        return StrategyResult(pool[best], record, trials, details)
