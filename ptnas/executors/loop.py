"""The loop that drives an ask/tell strategy (`Strategy.start / ask / tell`) with an executor, keeping up to
`jobs` evaluations in flight.

    fill:  while fewer than `jobs` are in flight and the budget allows another: ask the strategy.
           An architecture evaluated before is told from memory at once (no evaluation, not counted); one
           already in flight is told when that evaluation finishes; None means "wait for a record".
    wait:  the next evaluation to finish is recorded (Trials) and told to the strategy; fill again.

The budget counts finished evaluations: with `--trials N` the loop asks for no more than N new ones; once a
time budget is spent it asks for nothing more and waits for the evaluations in flight, which are recorded
(nothing is cancelled, so the search may end up to one evaluation's time past its budget).

With jobs = 1 this is the sequential search: ask, evaluate, tell. With more, what the strategy is told, and
so what it asks next, depends on the order evaluations finish; that order is what scores.jsonl holds, so a
resumed search replays it (the replayed records are told in file order, and the loop asks exactly what the
interrupted one asked), then submits what was in flight when it stopped and goes on.
"""
from __future__ import annotations

from typing import Hashable

from ptnas.search_log import ReplayMismatchError


def drive(strategy, trials, executor, jobs: int) -> None:
    in_flight: dict[str, Hashable] = {}
    repeats: dict[str, int] = {}  # asked again while in flight: told that many times more
    unsent: list = []  # in flight but not submitted: held back while a resumed search replays its records
    asking = True
    while True:
        while asking and len(in_flight) < jobs:
            if trials.budget_reached(len(in_flight)):
                asking = False
                break
            genotype = strategy.ask()
            if genotype is None:  # the strategy waits for a record, or has nothing more to ask
                asking = bool(in_flight) and not strategy.finished
                break
            key = str(genotype)
            if key in trials.seen:
                strategy.tell(genotype, trials.seen[key])
            elif key in in_flight:
                repeats[key] = repeats.get(key, 0) + 1
            else:
                in_flight[key] = genotype
                unsent.append(genotype)
        if not in_flight:
            return
        record = trials.replayed_finish()
        if record is None:
            for genotype in unsent:
                executor.submit(genotype)
            unsent.clear()
            key, record = executor.next()
        else:
            key = record.genotype
            if key not in in_flight:
                raise ReplayMismatchError(f"the resumed search diverges from its scores.jsonl: it holds an evaluation "
                                          f"of {key}, which the search has not asked for (in flight: "
                                          f"{', '.join(in_flight)})")
            unsent = [g for g in unsent if str(g) != key]
        genotype = in_flight.pop(key)
        trials.add(record)
        for _ in range(1 + repeats.pop(key, 0)):
            strategy.tell(genotype, record)
