"""Strategies as ask/tell, driven with W evaluations in flight: with W = 1 exactly the evaluations of the
synchronous strategies; with more, the budget counts finished evaluations, no more than W are in flight,
every decision uses only records already told, and a resumed search replays the order they finished in."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from ptnas import evaluators, spaces
from ptnas.executors import Simulated
from ptnas.search_log import SearchLog
from ptnas.strategies import Budget, Evolution, LocalSearch, ProxyScores, RandomSearch, Trials
from tests.conftest import shared_data

NB201, MACRO = spaces.get("nb201"), spaces.get("macro")


@pytest.fixture(scope="module")
def tables():
    return {"nb201": evaluators.table("nb201", shared_data("nb201_test_accuracy.csv")),
            "macro": evaluators.table("macro", shared_data("nas_bench_macro_cifar10.json"))}


def accuracy_proxy(table):
    return ProxyScores(cache={a: table.test_accuracy(a, "cifar10") for a in table.archs()})


def uneven(genotype) -> float:
    """A simulated evaluation time of 1 to 10 s that depends on the genotype alone."""
    return 1 + int(hashlib.sha256(str(genotype).encode()).hexdigest()[:8], 16) % 1000 / 111


# The sha256 (first 16 hex digits) of each search's sequence of evaluated genotypes, recorded from the
# synchronous strategies (the code before ask/tell, commit 3daf250), and the proxy scores they computed.
SYNCHRONOUS = {
    ("random", 0): ("f91989db160b2c7b", 0), ("random", 1): ("ac419eda87ea9dc9", 0),
    ("random-warmup", 0): ("e960ff4c04fc3940", 199), ("random-warmup", 1): ("bdd93ca08a62e919", 200),
    ("evolution", 0): ("1c9d0e832a6f3359", 0), ("evolution", 1): ("1c604384ab324508", 0),
    ("evolution-warmup-move", 0): ("53bcc5652a5b9bfd", 712), ("evolution-warmup-move", 1): ("e7b754e7de59eea8", 647),
    ("evolution-move5", 0): ("d013b073c72da14e", 260), ("evolution-move5", 1): ("fcf658b1a829eb7d", 252),
    ("local-nb201", 0): ("bebe2c7002249934", 0), ("local-nb201", 1): ("dc632376d9c56695", 0),
    ("local-macro", 0): ("9559e5b6c56d7033", 0), ("local-macro", 1): ("154988ac6ac2c400", 0),
    ("evolution-macro", 0): ("adb0f8956a323d35", 0), ("evolution-macro", 1): ("62c42703a7d10926", 0),
}
CASES = {  # strategy, space, trials, steered by the table's accuracy as a proxy
    "random": (lambda: RandomSearch(), "nb201", 60, False),
    "random-warmup": (lambda: RandomSearch(warmup=200), "nb201", 60, True),
    "evolution": (lambda: Evolution(population=10, tournament=3), "nb201", 80, False),
    "evolution-warmup-move": (lambda: Evolution(population=10, tournament=3, warmup=30, move_proposal=0), "nb201", 80,
                              True),
    "evolution-move5": (lambda: Evolution(population=10, tournament=3, move_proposal=5), "nb201", 80, True),
    "local-nb201": (lambda: LocalSearch(), "nb201", 120, False),
    "local-macro": (lambda: LocalSearch(), "macro", 120, False),
    "evolution-macro": (lambda: Evolution(population=10, tournament=4), "macro", 80, False),
}


def search(name, tables, seed=0, jobs=1, executor=None, log=None, trials=None):
    make, space, budget, steered = CASES[name]
    table = tables[space]
    evaluator = evaluators.TableEvaluator(table, "cifar10")
    if executor is not None:
        executor = executor(evaluator)
    t = Trials(evaluator, Budget(trials=trials or budget), log, executor=executor, jobs=jobs)
    proxy = accuracy_proxy(table) if steered else None
    result = make().run(NB201 if space == "nb201" else MACRO, t, proxy, np.random.default_rng(seed))
    return result, t, proxy


@pytest.mark.parametrize("name,seed", list(SYNCHRONOUS))
def test_with_one_evaluation_in_flight_every_strategy_makes_the_synchronous_evaluations(tables, name, seed):
    _, trials, proxy = search(name, tables, seed)
    sequence = "\n".join(r.genotype for r in trials.records)
    assert (hashlib.sha256(sequence.encode()).hexdigest()[:16], 0 if proxy is None else proxy.count) == \
        SYNCHRONOUS[(name, seed)]


@pytest.mark.parametrize("jobs", [4, 16])
def test_asynchronous_evolution_keeps_its_budget_and_breeds_only_from_told_members(tables, jobs):
    busy_at_submit = []  # workers busy when an evaluation is submitted (Simulated refuses more than W)

    class Watched(Simulated):
        def submit(self, genotype):
            busy_at_submit.append(len(self._running))
            super().submit(genotype)

    result, trials, _ = search("evolution", tables, jobs=jobs, executor=lambda e: Watched(e, jobs, uneven))
    records = trials.records
    assert len(records) == 80 and len({r.genotype for r in records}) == 80
    genotypes = [NB201.parse(r.genotype) for r in records]
    # the records arrive in the order they finish on the simulated clock: another search than W = 1
    assert [r.genotype for r in records] != [r.genotype for r in search("evolution", tables)[1].records]
    # each child has a parent one edit away among the records told before it (the first population is the
    # seed's first 10 draws, which may finish after children of the faster ones)
    rng = np.random.default_rng(0)
    first = {str(NB201.sample(rng)) for _ in range(10)}
    children = [k for k, r in enumerate(records) if r.genotype not in first]
    assert len(children) == 80 - len(first) and children[0] < 10  # a child finished before the population
    for k in children:
        assert any(sum(a != b for a, b in zip(genotypes[k].ops, g.ops)) == 1 for g in genotypes[:k]), k
    assert result.record.score == max(r.score for r in records)
    # no worker waits for a generation: after the first W, every submission refills the worker that just
    # finished, except (W = 16 > P = 10) while fewer than a tournament's 3 members of the first population are told
    assert max(busy_at_submit) == jobs - 1 and len(busy_at_submit) == 80
    refills = busy_at_submit[jobs:] if jobs <= 10 else busy_at_submit[busy_at_submit.index(jobs - 1) + 1:]
    assert set(refills) == {jobs - 1}


@pytest.mark.parametrize("name", ["random", "random-warmup", "local-nb201", "local-macro"])
def test_random_and_local_search_ask_the_same_architectures_whatever_the_number_in_flight(tables, name):
    # their proposals do not depend on the order records arrive, so W changes only that order
    _, one, _ = search(name, tables)
    for jobs in (3, 16):
        _, many, _ = search(name, tables, jobs=jobs, executor=lambda e, w=jobs: Simulated(e, w, uneven))
        assert sorted(r.genotype for r in many.records) == sorted(r.genotype for r in one.records)
        assert many.best.score == one.best.score


def test_a_cut_asynchronous_search_replays_the_order_records_finished_and_evaluates_nothing_twice(tables, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    log = SearchLog(full, tensorboard=False)
    search("evolution-move5", tables, jobs=4, executor=lambda e: Simulated(e, 4, uneven), log=log)
    log.close()
    lines = (full / "scores.jsonl").read_text().splitlines(keepends=True)
    evaluations = [json.loads(line)["genotype"] for line in lines if '"evaluation"' in line]
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "scores.jsonl").write_text("".join(lines[:len(lines) // 2]))
    kept = [json.loads(line) for line in lines[:len(lines) // 2]]
    replayed = [r["genotype"] for r in kept if r["kind"] == "evaluation"]
    submitted = []

    class Counting(Simulated):
        def submit(self, genotype):
            submitted.append(str(genotype))
            super().submit(genotype)

    resumed = SearchLog.resume(cut, tensorboard=False)
    _, trials, _ = search("evolution-move5", tables, jobs=4, executor=lambda e: Counting(e, 4, uneven), log=resumed)
    resumed.close()
    again = [r.genotype for r in trials.records]
    assert again[:len(replayed)] == replayed and len(again) == 80 and len(set(again)) == 80
    assert not set(submitted) & set(replayed) and len(submitted) == 80 - len(replayed)
    # the first submissions after the replay are what the cut run had in flight: evaluated by it soon after
    assert set(submitted[:4]) <= set(evaluations[len(replayed):len(replayed) + 8])


class Slow(evaluators.Evaluator):
    """0.1 s per evaluation; the score is the genotype's length."""

    name = "slow"

    def evaluate_one(self, genotype):
        import time

        time.sleep(0.1)
        return evaluators.Record(str(genotype), float(len(str(genotype))))


def test_a_spent_time_budget_asks_for_nothing_more_and_records_what_is_in_flight():
    from ptnas.executors import Local

    submitted = []

    class Counting(Local):
        def submit(self, genotype):
            submitted.append(str(genotype))
            super().submit(genotype)

    evaluator = Slow()
    trials = Trials(evaluator, Budget(seconds=0.25), executor=Counting(evaluator), jobs=3)
    RandomSearch().run(NB201, trials, None, np.random.default_rng(0))
    # one batch of 3 in flight (0.3 s) outlasts the 0.25 s budget: nothing more is asked, nothing is cancelled
    assert len(submitted) == 3 and [r.genotype for r in trials.records] == submitted
