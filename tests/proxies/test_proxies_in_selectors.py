"""Every proxy inside the Zero-Cost selectors on a tiny NB201 supernet (C=4, N=1, batch 8): scoring
passes on partly decided supernets, population proxies ranking the candidates of one pass, and the
direction metadata deciding which op stays."""
import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch

from ptnas import proxies, selectors, spaces
from ptnas.search_log import SearchLog
from ptnas.selectors import orders
from ptnas.selectors.proposals import Proposal
from conftest import tiny_batch
from tests.conftest import zero_cost_validation

SPACE = spaces.get("nb201")


def batches(seed=0):
    return (tiny_batch(8, seed=seed + i) for i in itertools.count())


def make(selector: str, proxy, seed=0, **kw):
    return selectors.get(selector)(proxy, batches(seed), **kw)


def validation(proxy):
    return zero_cost_validation(proxy, lambda: iter([tiny_batch(8, 100), tiny_batch(8, 101)]),
                                lambda g: SPACE.network(g, C=4, N=1))


def supernet():
    torch.manual_seed(0)
    return SPACE.supernet(C=4, N=1)


@pytest.mark.parametrize("selector", ["zc-pt", "zc-disc"])
@pytest.mark.parametrize("name", proxies.names())
def test_every_proxy_scores_a_pass_on_a_partly_decided_supernet(name, selector):
    net = supernet()
    net.discretize("3<-1", "nor_conv_3x3")  # "any order": a later edge is already decided
    proxy = proxies.get(name)
    records = []
    policy = make(selector, proxy, on_parts=records.append)
    scores = policy.score_ops(net, ["2<-0"])
    assert set(scores) == {("2<-0", o) for o in net.ops("2<-0")}
    assert all(math.isfinite(v) for v in scores.values()), scores
    assert net.candidates("2<-0") == net.ops("2<-0") and net.decisions()["ops"] == {"3<-1": "nor_conv_3x3"}
    if proxy.population:
        assert [tuple(r["key"]) for r in records] == list(scores)
        assert all(set(r["parts"]) == {p.name for p in proxy.parts} for r in records)
        assert proxy.combine([r["parts"] for r in records]) == list(scores.values())
    else:
        assert records == []  # per-model proxies have no parts beyond their score


def test_tenas_ranks_the_candidates_of_one_pass_against_each_other():
    net = supernet()
    records = []
    policy = make("zc-pt", proxies.get("tenas"), on_parts=records.append)
    scores = policy.score_ops(net, ["1<-0", "2<-1"])
    parts = {tuple(r["key"]): r["parts"] for r in records}
    ntk = sorted({p["ntk_cond"] for p in parts.values()})
    regions = sorted({p["linear_regions"] for p in parts.values()}, reverse=True)
    for key, p in parts.items():
        assert scores[key] == ntk.index(p["ntk_cond"]) + regions.index(p["linear_regions"])
    assert {r["pass"] for r in records} == {0} and {r["stage"] for r in records} == {"op"}


@pytest.mark.parametrize("name,selector,order", [("tenas", "zc-pt", "fixed"), ("vote", "zc-disc", "random")])
def test_population_proxies_drive_a_whole_search(name, selector, order):
    net = supernet()
    records = []
    policy = make(selector, proxies.get(name), on_parts=records.append)
    result = selectors.search(net, policy, orders.get(order), proposals=1, seed=0,
                              evaluator=validation(proxies.get(name)))
    assert SPACE.parse(str(result.genotype)) == result.genotype
    assert [c.record for c in result.candidates] == [None]  # one candidate: nothing to validate
    # One pass per edge, each pass ranking the ops still alive on its edge (5 on NB201).
    assert sorted({r["pass"] for r in records}) == list(range(6))
    assert all(sum(r["pass"] == k for r in records) == 5 for k in range(6))


def test_validation_sums_population_scores_over_the_batches():
    genotypes = [SPACE.parse(s) for s in (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|",
        "|nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")]
    build = lambda g: SPACE.network(g, C=4, N=1)  # noqa: E731
    tenas = proxies.get("tenas")
    totals = [r.score for r in validation(tenas).evaluate(genotypes)]
    expected = np.zeros(3)
    for b in (tiny_batch(8, 100), tiny_batch(8, 101)):
        models = []
        for g in genotypes:
            torch.manual_seed(0)
            models.append(build(g))
        expected += proxies.score_population(tenas, models, b, bn_mode="eval")  # the selectors' default
    assert totals == list(-expected)  # tenas is lower-is-better: the evaluator's score is the negated total


@pytest.mark.parametrize("selector", ["zc-pt", "zc-disc"])
def test_flipping_the_direction_flips_the_decision(selector):
    synflow = proxies.get("synflow")
    flipped = dataclasses.replace(synflow, higher_is_better=not synflow.higher_is_better)
    decided = {}
    for proxy in (synflow, flipped):
        net = supernet()
        policy = make(selector, proxy)
        scores = make(selector, proxy).score_ops(net, ["2<-1"])
        p = Proposal(0, net, policy, np.random.default_rng(0), SearchLog(None))
        p.decide_edge("2<-1")
        decided[proxy.higher_is_better] = net.candidates("2<-1")[0]
    low, high = min(scores, key=scores.get)[1], max(scores, key=scores.get)[1]
    assert low != high
    # zc-pt keeps argmin S(A − (e, o)) for a higher-is-better S; zc-disc keeps argmax S(A + (e, o)).
    if selector == "zc-pt":
        assert decided == {True: low, False: high}
    else:
        assert decided == {True: high, False: low}


def test_a_nan_candidate_never_wins():
    """NaN ranks worst in both directions (merit −inf), so a broken candidate is never kept."""
    for hib in (True, False):
        proxy = proxies.Proxy("toy", lambda m, b: 0.0, higher_is_better=hib)
        policy = make("zc-disc", proxy)
        assert policy.merit(math.nan) == -math.inf < policy.merit(-1e300)
