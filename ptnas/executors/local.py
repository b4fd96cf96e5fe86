"""The in-process executor, which is also the executor of a torchrun job: what is submitted is evaluated in
one call of the evaluator when a record is asked for and none is ready. On one process that is one
evaluation after the other; under torchrun the evaluator is `evaluators.distributed.Sharded`, so a batch of
W evaluations is split over the W ranks and every rank gets every record (each rank runs the same loop and
makes the same decisions). A batch waits for its slowest evaluation: asynchronous only between batches.
"""
from __future__ import annotations

from collections import deque
from typing import Hashable

from ptnas.evaluators.base import Evaluator, Record
from ptnas.executors.base import Executor


class Local(Executor):
    name = "local"

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        self.workers = getattr(evaluator, "world_size", 1)
        self.submitted: list = []
        self.ready: deque[tuple[str, Record]] = deque()

    @classmethod
    def from_args(cls, args, evaluator, build, process) -> "Local":
        return cls(evaluator)

    def submit(self, genotype: Hashable) -> None:
        self.submitted.append(genotype)

    def next(self) -> tuple[str, Record]:
        if not self.ready:
            batch, self.submitted = self.submitted, []
            if not batch:
                raise RuntimeError("nothing was submitted")
            self.ready.extend(zip((str(g) for g in batch), self.evaluator.evaluate(batch)))
        return self.ready.popleft()
