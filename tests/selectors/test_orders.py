"""The six edge orders, checked against decisions worked out by hand from a fixed score table."""
from __future__ import annotations

import numpy as np
import pytest

from ptnas.search_log import SearchLog
from ptnas.selectors import Selector, orders
from ptnas.selectors.proposals import Proposal
from ptnas.spaces.nb201 import NB201Supernet

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# merit table (higher = keep), per edge, per op in OPS order
TABLE = {
    "1<-0": [0, 1, 2, 3, 4],      # best avg_pool (4), mean 2
    "2<-0": [9, 0, 0, 0, 0],      # best none (9),     mean 1.8
    "2<-1": [5, 5, 5, 5, 6],      # best avg_pool (6), mean 5.2
    "3<-0": [0, 7, 0, 0, 0],      # best skip (7),     mean 1.4
    "3<-1": [1, 1, 8, 1, 1],      # best 1x1 (8),      mean 2.4
    "3<-2": [2, 2, 2, 5, 2],      # best 3x3 (5),      mean 2.6
}


class TableSelector(Selector):
    """Scores from a fixed table; counts scoring passes. A test double of a policy, not of torch."""

    name = "table"
    keep_high = True

    def __init__(self):
        self.passes = []

    def score_ops(self, net, edges):
        self.passes.append(list(edges))
        return {(e, o): float(TABLE[e][OPS.index(o)]) for e in edges for o in net.candidates(e)}


def run(order_name: str, seed: int = 0):
    net = NB201Supernet(C=2, N=1)
    selector = TableSelector()
    log = SearchLog(None)
    orders.get(order_name)(Proposal(0, net, selector, np.random.default_rng(seed), log))
    decided = [(r["edge"], r["op"]) for r in log.records if r["kind"] == "decision"]
    return decided, selector.passes


BEST = {"1<-0": "avg_pool_3x3", "2<-0": "none", "2<-1": "avg_pool_3x3", "3<-0": "skip_connect",
        "3<-1": "nor_conv_1x1", "3<-2": "nor_conv_3x3"}


def test_fixed_goes_input_to_output_one_pass_per_edge():
    decided, passes = run("fixed")
    assert decided == [(e, BEST[e]) for e in TABLE]
    assert passes == [[e] for e in TABLE]


def test_random_is_a_seeded_permutation():
    a, _ = run("random", seed=0)
    b, _ = run("random", seed=0)
    c, _ = run("random", seed=3)
    assert a == b and sorted(a) == sorted(BEST.items())
    assert [e for e, _ in a] != [e for e, _ in c]


def test_global_op_iter_takes_the_single_best_pair_each_step_rescoring_all_open_edges():
    decided, passes = run("global-op-iter")
    # best merits: 2<-0:9, 3<-1:8, 3<-0:7, 2<-1:6, 3<-2:5, 1<-0:4
    assert [e for e, _ in decided] == ["2<-0", "3<-1", "3<-0", "2<-1", "3<-2", "1<-0"]
    assert [len(p) for p in passes] == [6, 5, 4, 3, 2, 1]


def test_global_edge_iter_picks_the_edge_with_the_best_mean_then_rescores_it():
    decided, passes = run("global-edge-iter")
    # means: 2<-1 5.2, 3<-2 2.6, 3<-1 2.4, 1<-0 2.0, 2<-0 1.8, 3<-0 1.4
    assert [e for e, _ in decided] == ["2<-1", "3<-2", "3<-1", "1<-0", "2<-0", "3<-0"]
    assert dict(decided) == BEST
    assert passes[:2] == [list(TABLE), ["2<-1"]]  # an edge-choice pass, then the op pass on that edge


def test_global_op_once_orders_edges_by_their_best_op_from_one_pass():
    decided, passes = run("global-op-once")
    assert [e for e, _ in decided] == ["2<-0", "3<-1", "3<-0", "2<-1", "3<-2", "1<-0"]
    assert passes[0] == list(TABLE) and all(len(p) == 1 for p in passes[1:]) and len(passes) == 7


def test_global_edge_once_orders_edges_by_their_mean_from_one_pass():
    decided, passes = run("global-edge-once")
    assert [e for e, _ in decided] == ["2<-1", "3<-2", "3<-1", "1<-0", "2<-0", "3<-0"]
    assert len(passes) == 7


def test_nan_scores_rank_worst():
    class NaNSelector(TableSelector):
        def score_ops(self, net, edges):
            scores = super().score_ops(net, edges)
            return {k: float("nan") if k[1] == "avg_pool_3x3" else v for k, v in scores.items()}

    net = NB201Supernet(C=2, N=1)
    p = Proposal(0, net, NaNSelector(), np.random.default_rng(0), SearchLog(None))
    p.decide_edge("1<-0")
    assert net.candidates("1<-0") == ("nor_conv_3x3",)


def test_all_six_orders_are_registered():
    assert orders.names() == ["fixed", "random", "global-op-iter", "global-edge-iter", "global-op-once",
                              "global-edge-once"]
    with pytest.raises(ValueError, match="unknown order 'greedy'; choose from: fixed, random"):
        orders.get("greedy")


# Networks a proposal scores, per order: NB201's |O| = 5 ops on |E| = 6 edges (formulas in docs/results.md,
# "Forwards per proposal"); DARTS's 7 ops on 28 edges plus the 44 topology-step forwards, as counted there.
NB201_SCORED = {"fixed": 30, "random": 30, "global-op-iter": 105, "global-edge-iter": 135,
                "global-op-once": 60, "global-edge-once": 60}


@pytest.mark.parametrize("order_name", sorted(NB201_SCORED))
def test_planned_counts_the_networks_a_proposal_scores(order_name):
    from ptnas.selectors.proposals import planned

    class Counting(TableSelector):
        def score_ops(self, net, edges):
            scores = super().score_ops(net, edges)
            self.scored = getattr(self, "scored", 0) + len(scores)
            return scores

    net = NB201Supernet(C=2, N=1)
    selector = Counting()
    orders.get(order_name)(Proposal(0, net, selector, np.random.default_rng(0), SearchLog(None)))
    net.reset_decisions()
    assert planned(net, orders.get(order_name)) == selector.scored == NB201_SCORED[order_name]
    assert net.undecided() == net.edges()  # the dry run leaves no decision behind


def test_planned_counts_the_darts_topology_step_too():
    from ptnas.selectors.proposals import planned
    from ptnas.spaces import get

    net = get("darts").supernet(num_classes=10, C=4, layers=3)
    assert planned(net, orders.get("random")) == 240
    assert planned(net, orders.get("global-op-iter")) == 2886


def test_the_progress_bar_counts_scored_networks_of_every_proposal(capsys):
    from ptnas.selectors.proposals import search

    search(NB201Supernet(C=2, N=1), TableSelector(), orders.get("random"), 2, progress=True)
    bar = capsys.readouterr().err
    assert "2 proposals" in bar and "60/60" in bar and "proposal 2/2" in bar


def test_scoring_work_counts_alive_ops_plus_one_per_edge_and_the_dry_run_sums_it():
    from ptnas.selectors.proposals import _dry_run, scoring_work

    net = NB201Supernet(C=2, N=1)
    assert scoring_work(net) == 6 * (5 + 1)
    net.discretize("1<-0", "nor_conv_3x3")
    with net.perturb("2<-0", "none"):
        assert scoring_work(net) == 4 * 6 + 2 + 5
    net.reset_decisions()
    # random order: pass d scores the 5 ops of one edge with d edges decided, each network 36 - 4d units
    plan = _dry_run(net, orders.get("random"), 0, None)
    assert (plan.count, plan.work) == (30, sum(5 * (36 - 4 * d) for d in range(6))) == (30, 780)


def test_the_progress_bar_advances_by_work_so_early_passes_weigh_more(capsys, monkeypatch):
    import functools

    from tqdm import tqdm

    from ptnas.selectors import proposals
    from ptnas.selectors.proposals import search

    monkeypatch.setattr(proposals, "tqdm", functools.partial(tqdm, mininterval=0, miniters=1))  # print every update
    search(NB201Supernet(C=2, N=1), TableSelector(), orders.get("random"), 1, progress=True)
    bar = capsys.readouterr().err
    # after the first pass: 5 of 30 networks (17 %) but 180 of 780 units of work (23 %)
    assert "23%" in bar and "5/30 networks" in bar and "17%" not in bar
    assert "100%" in bar and "30/30 networks" in bar
