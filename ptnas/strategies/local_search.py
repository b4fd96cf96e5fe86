"""Local search (White et al., "Local Search is State of the Art for Neural Architecture Search
Benchmarks", 2020): from a random architecture, evaluate all its neighbours (edit distance 1), move to
the best one while it improves; at a local optimum, restart from a new random architecture. Neighbours
evaluated before are answered from memory and cost no evaluation. The neighbours of a step are asked all
at once, so with W evaluations in flight W of them are evaluated in parallel; the step is decided when
the last one is told.
"""
from __future__ import annotations

import numpy as np

from ptnas.strategies.base import GIVE_UP_AFTER, ProxyScores, Strategy


class LocalSearch(Strategy):
    name = "local"

    def start(self, space, proxy: ProxyScores | None, rng: np.random.Generator) -> None:
        self.space, self.rng = space, rng
        self.asked: set[str] = set()
        self.restarts = 0
        self.current = None  # (genotype, record) of where the search stands; None: a start is asked
        self.starting = False  # a start is in flight
        self.queue: list = []  # this step's neighbours not asked yet, in the random order of the step
        self.step: list = []  # this step's neighbours, in that order
        self.scored: dict[str, object] = {}  # their records so far

    def ask(self):
        if self.queue:
            return self.queue.pop(0)
        if self.starting or self.current is not None:
            return None  # a start or this step's neighbours are in flight
        for _ in range(GIVE_UP_AFTER):
            start = self.space.sample(self.rng)
            if str(start) not in self.asked:
                self.asked.add(str(start))
                self.starting, self.restarts = True, self.restarts + 1
                return start
        self.finished = True
        return None

    def tell(self, genotype, record) -> None:
        if self.starting:
            self.starting = False
            self._move_to(genotype, record)
            return
        self.scored[str(genotype)] = record
        if len(self.scored) < len(self.step):
            return
        best, best_record = max(((g, self.scored[str(g)]) for g in self.step), key=lambda m: m[1].merit())
        if best_record.merit() <= self.current[1].merit():
            self.current = None  # a local optimum: restart
        else:
            self._move_to(best, best_record)

    def _move_to(self, genotype, record) -> None:
        self.current = (genotype, record)
        neighbours = self.space.neighbours(genotype)
        self.step = [neighbours[i] for i in self.rng.permutation(len(neighbours))]
        self.queue, self.scored = list(self.step), {}
        self.asked.update(str(g) for g in self.step)

    def details(self, proxy: ProxyScores | None) -> dict:
        return {"restarts": self.restarts}
