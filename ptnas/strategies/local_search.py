"""Local search (White et al., "Local Search is State of the Art for Neural Architecture Search
Benchmarks", 2020): from a random architecture, evaluate all its neighbours (edit distance 1), move to
the best one while it improves; at a local optimum, restart from a new random architecture. Neighbours
evaluated before are answered from memory and cost no evaluation.
"""
from __future__ import annotations

import numpy as np

from ptnas.strategies.base import GIVE_UP_AFTER, BudgetSpent, ProxyScores, Strategy, StrategyResult, Trials, result_of


class LocalSearch(Strategy):
    name = "local"

    def run(self, space, trials: Trials, proxy: ProxyScores | None, rng: np.random.Generator) -> StrategyResult:
        restarts, misses = 0, 0
        try:
            while misses < GIVE_UP_AFTER:
                start = space.sample(rng)
                if str(start) in trials.seen:
                    misses += 1
                    continue
                misses = 0
                restarts += 1
                current, record = start, trials.evaluate(start)
                while True:
                    neighbours = space.neighbours(current)
                    order = rng.permutation(len(neighbours))
                    scored = [(neighbours[i], trials.evaluate(neighbours[i])) for i in order]
                    best, best_record = max(scored, key=lambda m: m[1].merit())
                    if best_record.merit() <= record.merit():
                        break  # a local optimum: restart
                    current, record = best, best_record
        except BudgetSpent:
            pass
        return result_of(trials, restarts=restarts)
