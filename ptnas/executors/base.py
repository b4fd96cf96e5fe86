"""What every executor of a multi-trial search does: run the evaluations a strategy asks for, several at
once, and hand back each record as it finishes.

    executor.submit(genotype)          start evaluating (the loop never has more than `jobs` in flight)
    key, record = executor.next()      the next evaluation to finish (blocks); key is str(genotype)
    executor.close()

`workers` is how many evaluations it runs at the same time, the default of `--jobs`. The loop that drives
a strategy with an executor is `ptnas.executors.loop.drive`.
"""
from __future__ import annotations

from typing import Callable, ClassVar, Hashable

from ptnas.evaluators.base import Evaluator, Record
from ptnas.settings import Setting


class Executor:
    name: ClassVar[str] = ""
    SETTINGS: ClassVar[tuple[Setting, ...]] = ()  # its own settings, with their defaults
    workers: int = 1

    @classmethod
    def from_args(cls, args, evaluator: Evaluator, build: Callable[[], Evaluator], process) -> "Executor":
        """`evaluator`: this process's evaluator; `build`: a picklable function that builds an equal one
        elsewhere (in another process or on another machine)."""
        raise NotImplementedError

    def submit(self, genotype: Hashable) -> None:
        raise NotImplementedError

    def next(self) -> tuple[str, Record]:
        raise NotImplementedError

    def run(self, strategy, trials, jobs: int, proxy=None) -> None:
        """Drive the started `strategy` to the end of `trials`' budget with `jobs` evaluations in flight
        (`proxy`: the scores that steer it, for an executor that must place them)."""
        from ptnas.executors.loop import drive

        drive(strategy, trials, self, jobs)

    def close(self) -> None:
        """Stop what is still running and free the workers."""

    def describe(self) -> dict:
        return {"executor": self.name, "workers": self.workers}
