"""Multi-trial strategies on benchmark tables (the papers' way of simulating training): budgets, the
rules each strategy is defined by, zero-cost warm-up and move proposal."""
from __future__ import annotations

import numpy as np
import pytest

from ptnas import evaluators, spaces, strategies
from ptnas.search_log import SearchLog
from ptnas.strategies import Budget, Evolution, LocalSearch, Naswot, ProxyScores, RandomSearch, Trials
from tests.conftest import shared_data

NB201, MACRO = spaces.get("nb201"), spaces.get("macro")


@pytest.fixture(scope="module")
def nb201_table():
    return evaluators.table("nb201", shared_data("nb201_test_accuracy.csv"))


@pytest.fixture(scope="module")
def macro_table():
    return evaluators.table("macro", shared_data("nas_bench_macro_cifar10.json"))


def run(strategy, space, table, trials=50, proxy=None, seed=0, dataset="cifar10", log=None):
    t = Trials(evaluators.TableEvaluator(table, dataset), Budget(trials=trials), log)
    return strategy.run(space, t, proxy, np.random.default_rng(seed)), t


def accuracy_proxy(table, dataset="cifar10", sign=1.0):
    """A proxy whose raw score is the table's accuracy (sign -1: the worst possible proxy)."""
    return ProxyScores(cache={a: sign * table.test_accuracy(a, dataset) for a in table.archs()})


def test_random_search_spends_exactly_its_budget_on_distinct_archs_and_keeps_the_best(nb201_table):
    result, trials = run(RandomSearch(), NB201, nb201_table, trials=40)
    scores = [r.score for r in trials.records]
    assert len(trials.records) == 40 and len({r.genotype for r in trials.records}) == 40
    assert result.record.score == max(scores) == nb201_table.test_accuracy(result.genotype)
    assert trials.best_curve == list(np.maximum.accumulate(scores))
    again, _ = run(RandomSearch(), NB201, nb201_table, trials=40)
    assert str(again.genotype) == str(result.genotype)  # the seed decides
    other, _ = run(RandomSearch(), NB201, nb201_table, trials=40, seed=1)
    assert [r.genotype for r in _.records] != [r.genotype for r in trials.records]


def test_warm_up_evaluates_the_pool_in_proxy_order(nb201_table):
    proxy = accuracy_proxy(nb201_table)
    result, trials = run(RandomSearch(warmup=500), NB201, nb201_table, trials=10, proxy=proxy)
    scores = [r.score for r in trials.records]
    assert scores == sorted(scores, reverse=True)  # a perfect proxy: best first
    assert trials.best_curve == [scores[0]] * 10 and result.record.score == scores[0]
    assert proxy.count <= 500  # the draws' duplicates are scored once
    # the worst proxy makes warm-up evaluate the worst of its pool first
    _, worst = run(RandomSearch(warmup=500), NB201, nb201_table, trials=10, proxy=accuracy_proxy(nb201_table, sign=-1))
    assert [r.score for r in worst.records] == sorted(r.score for r in worst.records)


def test_aging_evolution_seeds_p_mutates_tournament_winners_and_drops_the_oldest(nb201_table):
    log = SearchLog(None)
    evolution = Evolution(population=8, tournament=3)
    result, trials = run(evolution, NB201, nb201_table, trials=40, log=log)
    assert len(trials.records) == 40
    genotypes = [NB201.parse(r.genotype) for r in trials.records]
    # every child (after the first population) is one edit away from an architecture evaluated before it
    for k in range(8, 40):
        assert any(sum(a != b for a, b in zip(genotypes[k].ops, g.ops)) == 1 for g in genotypes[:k])
    assert result.record.score == max(r.score for r in trials.records)


def test_evolution_with_warm_up_starts_from_the_proxys_top_p(nb201_table):
    proxy = accuracy_proxy(nb201_table)
    _, trials = run(Evolution(population=8, tournament=3, warmup=100), NB201, nb201_table, trials=8, proxy=proxy)
    pool_best = sorted(proxy.known.values(), reverse=True)[:8]
    assert [r.score for r in trials.records] == pool_best


def test_move_proposal_adds_the_winners_best_neighbour_by_proxy(nb201_table):
    proxy = accuracy_proxy(nb201_table)
    _, trials = run(Evolution(population=6, tournament=2, move_proposal=0), NB201, nb201_table, trials=30,
                    proxy=proxy)
    evaluated = [r.genotype for r in trials.records]
    assert len(evaluated) == 30  # a re-proposed child would not be counted: the budget is spent all the same
    for k in range(6, 30):
        child = evaluated[k]
        parents = [g for g in evaluated[:k] if child in {str(n) for n in NB201.neighbours(g)}]
        # the child has the best proxy score among the not yet evaluated neighbours of a possible parent
        assert any(nb201_table.test_accuracy(child) == max(nb201_table.test_accuracy(n) for n in NB201.neighbours(p)
                                                           if str(n) not in evaluated[:k])
                   for p in parents)


def test_local_search_climbs_to_the_best_neighbour_and_stops_at_local_optima(macro_table):
    result, trials = run(LocalSearch(), MACRO, macro_table, trials=120)
    records = trials.records
    first = records[0]
    neighbours = {str(n) for n in MACRO.neighbours(first.genotype)}
    assert {r.genotype for r in records[1:17]} == neighbours  # all 16 neighbours evaluated after the start
    best = max(records[1:17], key=lambda r: r.score)
    if best.score > first.score:  # it moved: then the new architecture's neighbours not evaluated before
        new = {str(n) for n in MACRO.neighbours(best.genotype)} - {r.genotype for r in records[:17]}
        assert {r.genotype for r in records[17:17 + len(new)]} == new
    assert result.record.score == max(r.score for r in records)


def test_naswot_keeps_the_best_proxy_score_without_evaluating(nb201_table):
    proxy = accuracy_proxy(nb201_table)
    result, trials = run(Naswot(samples=20), NB201, nb201_table, proxy=proxy)
    assert trials.records == [] and proxy.count == 20
    assert result.record.score == max(proxy.known.values()) == nb201_table.test_accuracy(result.genotype)


def test_evaluations_are_flushed_to_scores_jsonl_as_they_happen(tmp_path, nb201_table):
    log = SearchLog(tmp_path)
    _, trials = run(RandomSearch(), NB201, nb201_table, trials=5, log=log)
    lines = (tmp_path / "scores.jsonl").read_text().splitlines()  # read before the log is closed
    assert len(lines) == 5 and all('"kind": "evaluation"' in line for line in lines)
    log.close()


@pytest.mark.parametrize("make, message", [
    (lambda: Budget(trials=0), "--trials must be at least 1"),
    (lambda: Budget(seconds=0), "--time-budget must be positive"),
    (lambda: Budget(), "a budget needs --trials or --time-budget"),
    (lambda: Evolution(population=10, warmup=5), "--warmup 5 is smaller than --population 10"),
    (lambda: Evolution(population=4, tournament=5), "1 <= --tournament S <= P"),
    (lambda: Naswot(samples=0), "--samples must be at least 1"),
])
def test_bad_settings_are_refused_in_one_line(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make()


def test_a_strategy_flag_of_another_strategy_is_refused():
    import argparse

    from ptnas.runtime.config import explicit

    p = argparse.ArgumentParser()
    strategies.add_flags(p)

    def args_for(argv):  # the parsed flags, with those given (`given`, as a job records them)
        args = p.parse_args(argv)
        args.given = explicit(p, argv)
        return args

    with pytest.raises(ValueError, match="--population applies to --strategy evolution, not random"):
        strategies.check_flags(args_for(["--strategy", "random", "--population", "4"]))
    with pytest.raises(ValueError, match="--population applies to --strategy evolution, not random"):
        strategies.check_flags(args_for(["--strategy", "random", "--population", "64"]))  # its default, given
    with pytest.raises(ValueError, match="--trials applies to multi-trial search"):
        strategies.check_flags(args_for(["--trials", "4"]))
    strategies.check_flags(args_for(["--strategy", "evolution", "--population", "64"]))
