"""Asynchronous evaluations over the ranks of a torchrun job (`--executor torchrun`): every rank is a worker
that takes one evaluation at a time, and rank 0 also drives the strategy. A rank that finishes gets the
next architecture at once, without waiting for the others (the `local` executor's batches wait for their
slowest evaluation, but give the same records whatever the timing; this one's records depend on it).

Through the process group's store, as `evaluators.distributed.Sharded` does: rank 0 writes job n of rank r
under `job/r/n`, rank r writes its record under `done/r/n`; `stop` ends the workers, and rank 0's final
records (`final`) are what every rank returns. Rank 0 evaluates in a second thread; its torch work and the
driver's (a proxy that steers the search, scored on rank 0 alone meanwhile) take turns on one lock, since
both seed torch's global generator. An error of any worker ends the search with its message; a rank that
sends nothing for `PTNAS_DIST_TIMEOUT` seconds while evaluations are in flight is taken as dead (RankFailed).
"""
from __future__ import annotations

import itertools
import pickle
import threading
import time
from typing import Hashable

from ptnas.evaluators.base import Evaluator, Record
from ptnas.executors.base import Executor

POLL = 0.005  # seconds between two looks at the store
_RUNS = itertools.count()  # every rank builds its executors in the same order: their keys agree


class Torchrun(Executor):
    name = "torchrun"

    def __init__(self, evaluator: Evaluator, process, timeout: float | None = None):
        from ptnas.runtime.process import store, timeout_seconds

        if not process.distributed:
            raise ValueError("--executor torchrun runs under torchrun (torchrun --nproc_per_node W search.py ...); "
                             "on one process use --executor local")
        self.evaluator, self.process = getattr(evaluator, "evaluator", evaluator), process  # unsharded
        self.kv, self.prefix = store(), f"ptnas/async/{next(_RUNS)}/"
        self.timeout = timeout if timeout is not None else timeout_seconds()
        self.workers = process.world_size
        self.lock = threading.Lock()
        self.idle = list(range(self.workers))
        self.sent = [0] * self.workers  # jobs handed to each rank so far
        self.running: dict[int, Hashable] = {}  # rank -> the genotype it evaluates
        self.thread: threading.Thread | None = None

    @classmethod
    def from_args(cls, args, evaluator, build, process) -> "Torchrun":
        return cls(evaluator, process)

    def key(self, *parts) -> str:
        return self.prefix + "/".join(map(str, parts))

    # ---- every rank: the worker -------------------------------------------------------------------
    def serve(self) -> None:
        """Evaluate this rank's jobs, one after the other, until rank 0 says stop."""
        rank = self.process.rank
        for n in itertools.count():
            job = self.key("job", rank, n)
            while not self.kv.check([job]):
                if self.kv.check([self.key("stop")]):
                    return
                time.sleep(POLL)
            genotype = pickle.loads(self.kv.get(job))
            try:
                with self.lock:
                    record = self.evaluator.evaluate([genotype])[0]
                record.details = {**record.details, "rank": rank}  # scores.jsonl says who evaluated it
                self.kv.set(self.key("done", rank, n), pickle.dumps(record))
            except Exception as e:  # noqa: BLE001 - handed to rank 0, which ends the search with it
                message = f"rank {rank}: {' '.join(str(e).split()) or type(e).__name__}"
                self.kv.set(self.key("error"), pickle.dumps((message, isinstance(e, (ValueError, KeyError)))))
                return

    # ---- rank 0: the driver's side ----------------------------------------------------------------
    def submit(self, genotype: Hashable) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self.serve, name="ptnas-rank0-worker", daemon=True)
            self.thread.start()
        rank = self.idle.pop(0)
        self.kv.set(self.key("job", rank, self.sent[rank]), pickle.dumps(genotype))
        self.sent[rank] += 1
        self.running[rank] = genotype

    def next(self) -> tuple[str, Record]:
        from ptnas.evaluators.distributed import RankFailed

        since = time.monotonic()
        while True:
            for rank in list(self.running):
                done = self.key("done", rank, self.sent[rank] - 1)
                if self.kv.check([done]):
                    record = pickle.loads(self.kv.get(done))
                    self.kv.delete_key(done)
                    genotype = self.running.pop(rank)
                    self.idle.append(rank)
                    return str(genotype), record
            if self.kv.check([self.key("error")]):  # after the records that exist: they are kept
                message, user_error = pickle.loads(self.kv.get(self.key("error")))
                raise (ValueError if user_error else RankFailed)(message)
            if time.monotonic() - since > self.timeout:
                raise RankFailed(f"no rank finished an evaluation in {self.timeout:g} s (ranks "
                                 f"{', '.join(map(str, sorted(self.running)))} were evaluating): a rank has died or "
                                 "hangs (PTNAS_DIST_TIMEOUT sets the wait)")
            time.sleep(POLL)

    # ---- the search: rank 0 drives, the others serve ----------------------------------------------
    def run(self, strategy, trials, jobs: int, proxy=None) -> None:
        from ptnas.evaluators.distributed import RankFailed
        from ptnas.executors.loop import drive

        if not self.process.primary:
            self.serve()
            while not self.kv.check([self.key("final")]):
                time.sleep(POLL)
            outcome, value = pickle.loads(self.kv.get(self.key("final")))
            if outcome == "error":
                message, user_error = value
                raise (ValueError if user_error else RankFailed)(message)
            trials.adopt(value)
            return
        process, trials.process = trials.process, None  # rank 0 alone decides, on its own clock
        steering = proxy.evaluator if proxy is not None else None
        if steering is not None:  # scored on rank 0 alone, taking turns with its evaluations
            proxy.evaluator = _Locked(getattr(steering, "evaluator", steering), self.lock)
        outcome = ("error", ("rank 0 stopped", False))
        try:
            drive(strategy, trials, self, jobs)
            outcome = ("done", trials.state())
        except Exception as e:
            outcome = ("error", (" ".join(str(e).split()) or type(e).__name__, isinstance(e, (ValueError, KeyError))))
            raise
        finally:
            trials.process = process
            if steering is not None:
                proxy.evaluator = steering
            self.kv.set(self.key("final"), pickle.dumps(outcome))
            self.kv.set(self.key("stop"), b"1")
            if self.thread is not None and outcome[0] == "done":  # on an error, rank 0's evaluation is abandoned
                self.thread.join()


class _Locked(Evaluator):
    """`evaluator`, evaluating only while it holds `lock`."""

    def __init__(self, evaluator: Evaluator, lock: threading.Lock):
        self.evaluator, self.lock, self.name = evaluator, lock, evaluator.name

    def evaluate(self, genotypes, on_record=None):
        with self.lock:
            return self.evaluator.evaluate(genotypes, on_record)
