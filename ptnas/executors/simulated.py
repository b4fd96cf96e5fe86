"""An executor on a simulated clock, for studying asynchronous search on benchmark tables: W workers, each
evaluation takes `duration(genotype)` simulated seconds (its record comes from the evaluator at once), and
`next()` hands back the evaluation that finishes first on the simulated clock. Not a `--executor` choice:
benchmarks/async_evolution.py and the tests use it.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Callable, Hashable

from ptnas.evaluators.base import Evaluator, Record
from ptnas.executors.base import Executor


class Simulated(Executor):
    name = "simulated"

    def __init__(self, evaluator: Evaluator, workers: int, duration: Callable[[Hashable], float]):
        self.evaluator, self.workers, self.duration = evaluator, workers, duration
        self.clock = 0.0  # simulated seconds
        self.busy = 0.0  # simulated worker-seconds spent evaluating
        self._running: list[tuple[float, int, str, Record]] = []
        self._order = itertools.count()  # equal finishing times: the earlier submitted first

    def submit(self, genotype: Hashable) -> None:
        if len(self._running) >= self.workers:
            raise RuntimeError(f"{self.workers} workers are busy")
        seconds = float(self.duration(genotype))
        record = self.evaluator.evaluate([genotype])[0]
        self.busy += seconds
        heapq.heappush(self._running, (self.clock + seconds, next(self._order), str(genotype), record))

    def next(self) -> tuple[str, Record]:
        self.clock, _, key, record = heapq.heappop(self._running)
        return key, record
