"""One evaluator over every rank of a torchrun job: `Sharded(evaluator, process)`.

`evaluate(genotypes, on_record)` keeps `Evaluator.evaluate`'s contract on every rank: rank r evaluates
the candidates whose index is r modulo the world size, on its own device; rank 0 hands every record to
`on_record` in the original order as soon as it and all before it exist (so evaluations.jsonl and
scores.jsonl are written as they finish), and every rank returns the same list of records. Records
travel through the process group's store, so a rank that finishes early does not wait on a collective.
A candidate whose evaluator scores the population as a whole (a population proxy: tenas, vote) cannot
be split: rank 0 evaluates all of them.

An error on any rank ends the call on every rank with the same exception (`RankFailed`, or ValueError
for a user error), raised after rank 0 has handed on the records that exist. A rank that sends nothing
for `timeout` seconds (no record from any rank in that time) is taken as dead: `RankFailed` again.
On a single process `Sharded` is the evaluator itself.

`SharedMinimum` is a float that every rank lowers and reads (FEAR's fastest time to threshold).
"""
from __future__ import annotations

import itertools
import pickle
import time
from typing import Any, Hashable, Sequence

from ptnas.evaluators.base import Evaluator, Record, Sink
from ptnas.runtime.process import Process, store, timeout_seconds

POLL = 0.01  # seconds between two looks at the store while waiting
_CALLS = itertools.count()  # every rank makes the same calls in the same order: a call's keys agree


class RankFailed(RuntimeError):
    """A rank could not finish its share of an evaluation (the message names the rank and the error)."""


class SharedMinimum:
    """The smallest value any rank has offered so far, kept in the store under `key`."""

    def __init__(self, kv, key: str):
        self.kv, self.key = kv, key

    def value(self) -> float | None:
        return float(self.kv.get(self.key)) if self.kv.check([self.key]) else None

    def offer(self, value: float) -> None:
        desired = repr(float(value)).encode()
        while True:
            current = self.kv.get(self.key) if self.kv.check([self.key]) else b""
            if current and float(current) <= value:
                return
            if self.kv.compare_set(self.key, current, desired) == desired:
                return


class Sharded(Evaluator):
    """`evaluator` with its candidates split over the ranks of `process` (see the module docstring)."""

    def __init__(self, evaluator: Evaluator, process: Process, timeout: float | None = None):
        self.evaluator, self.process = evaluator, process
        self.timeout = timeout if timeout is not None else timeout_seconds()
        self.name = evaluator.name
        self.deterministic = evaluator.deterministic
        if process.distributed:
            evaluator.share_minimum(SharedMinimum(store(), f"ptnas/shared/{evaluator.name}/{next(_CALLS)}"))

    @property
    def world_size(self) -> int:
        return self.process.world_size

    def describe(self) -> dict[str, Any]:
        return self.evaluator.describe()

    def prepare(self) -> None:
        self.evaluator.prepare()

    def timed(self, genotype: Hashable) -> Record:
        return self.evaluate([genotype])[0]

    def evaluate(self, genotypes: Sequence[Hashable], on_record: Sink | None = None) -> list[Record]:
        if not self.process.distributed:
            return self.evaluator.evaluate(genotypes, on_record)
        return _Call(self, list(genotypes), on_record).run()


class _Call:
    """One distributed `evaluate`: its store keys, the records so far and rank 0's writing position."""

    def __init__(self, sharded: Sharded, genotypes: list, on_record: Sink | None):
        self.kv = store()
        self.prefix = f"ptnas/sharded/{next(_CALLS)}/"
        self.genotypes, self.on_record, self.timeout = genotypes, on_record, sharded.timeout
        self.evaluator, self.process = sharded.evaluator, sharded.process
        rank, world, n = self.process.rank, self.process.world_size, len(genotypes)
        self.owner = ([i % world for i in range(n)] if self.evaluator.shardable(genotypes) else [0] * n)
        self.mine = [i for i in range(n) if self.owner[i] == rank]
        self.records: list[Record | None] = [None] * n
        self.written = 0
        self.progress, self.since = -1, time.monotonic()

    def key(self, name: Any) -> str:
        return f"{self.prefix}{name}"

    def run(self) -> list[Record]:
        primary, error = self.process.primary, None
        own = iter(self.mine)

        def done(record: Record) -> None:
            i = next(own)
            self.kv.add(self.key("progress"), 1)
            if primary:
                self.records[i] = record
                self._flush(block=False)
            else:
                self.kv.set(self.key(i), pickle.dumps(record))
            if self.kv.check([self.key("error")]):
                raise _Stop

        try:
            self.evaluator.evaluate([self.genotypes[i] for i in self.mine], on_record=done)
            if primary:
                self._flush(block=True)
        except _Stop:
            pass
        except Exception as e:  # noqa: BLE001 - every error is handed to every rank
            error = (f"rank {self.process.rank}: {' '.join(str(e).split()) or type(e).__name__}",
                     isinstance(e, (ValueError, KeyError)))
            self.kv.set(self.key("error"), pickle.dumps(error))
        if primary:
            if error is None and self.kv.check([self.key("error")]):
                error = pickle.loads(self.kv.get(self.key("error")))
            self.kv.set(self.key("result"), pickle.dumps((self.records, error)))
            self._delete(range(len(self.genotypes)))
        else:
            self._wait(self.key("result"), "rank 0's results", watch_error=False)
            self.records, error = pickle.loads(self.kv.get(self.key("result")))
        if error is not None:
            message, user_error = error
            raise (ValueError if user_error else RankFailed)(message)
        return list(self.records)

    def _flush(self, block: bool) -> None:
        """Rank 0: hand on every record that exists, in order; with `block`, wait for all of them."""
        while self.written < len(self.genotypes):
            i = self.written
            if self.records[i] is None:
                if self.owner[i] == 0 or not (block or self.kv.check([self.key(i)])):
                    return
                self._wait(self.key(i), f"rank {self.owner[i]}'s record of candidate {i}", watch_error=True)
                self.records[i] = pickle.loads(self.kv.get(self.key(i)))
            if self.on_record is not None:
                self.on_record(self.records[i])
            self.written += 1

    def _wait(self, key: str, what: str, watch_error: bool) -> None:
        """Until `key` exists; _Stop when another rank failed; RankFailed after `timeout` s without progress."""
        while not self.kv.check([key]):
            if watch_error and self.kv.check([self.key("error")]):
                raise _Stop
            progress = self.kv.add(self.key("progress"), 0)
            if progress != self.progress:
                self.progress, self.since = progress, time.monotonic()
            elif time.monotonic() - self.since > self.timeout:
                raise RankFailed(f"rank {self.process.rank} waited {self.timeout:g} s for {what} and no rank "
                                 f"finished an evaluation meanwhile: a rank has died or hangs "
                                 f"(PTNAS_DIST_TIMEOUT sets the wait)")
            time.sleep(POLL)

    def _delete(self, indices) -> None:
        for i in indices:
            if self.owner[i] != 0:
                self.kv.delete_key(self.key(i))


class _Stop(Exception):
    """Another rank failed: stop evaluating and take its error."""
