"""Zero-Cost-PT / Zero-Cost-DISC decisions and the proposal + validation loop on a tiny NB201 supernet."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from ptnas import proxies, spaces
from ptnas.proxies import Proxy
from ptnas.search_log import SearchLog
from ptnas.selectors import ZeroCostDISC, ZeroCostPT, discretized, orders, search
from ptnas.evaluators import Evaluator, Record
from ptnas.spaces.nb201 import NB201Supernet
from tests.conftest import zero_cost_validation


def batches(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def fixed_valid(count=2):
    return lambda: itertools.islice(batches(seed=99), count)


def make(cls, proxy_name="nwot", proxy=None, **kw):
    return cls(proxy or proxies.get(proxy_name), batches(), **kw)


def validation(proxy="nwot"):
    return zero_cost_validation(proxy, fixed_valid(), lambda g: spaces.get("nb201").network(g, C=4, N=1))


def test_zc_pt_keeps_the_op_whose_removal_lowers_the_score_most(tiny_nb201):
    nwot = proxies.get("nwot")
    batch = next(batches())
    edge = "2<-1"
    by_hand = {}
    for op in tiny_nb201.candidates(edge):
        with tiny_nb201.perturb(edge, op):
            by_hand[op] = nwot(tiny_nb201, batch, bn_mode="eval")  # the selectors' default BN mode
    scores = make(ZeroCostPT).score_ops(tiny_nb201, [edge])
    assert scores == {(edge, o): v for o, v in by_hand.items()}
    selector = make(ZeroCostPT)
    kept = max(scores, key=lambda k: selector.merit(scores[k]))[1]
    assert kept == min(by_hand, key=by_hand.get)


def test_zc_disc_keeps_the_op_whose_discretization_scores_highest(tiny_nb201):
    nwot = proxies.get("nwot")
    batch = next(batches())
    by_hand = {}
    for op in tiny_nb201.candidates("1<-0"):
        with discretized(tiny_nb201, "1<-0", op):
            by_hand[op] = nwot(tiny_nb201, batch, bn_mode="eval")  # the selectors' default BN mode
    assert not tiny_nb201.is_decided("1<-0")  # the trial discretization was undone
    selector = make(ZeroCostDISC)
    scores = selector.score_ops(tiny_nb201, ["1<-0"])
    assert scores == {("1<-0", o): v for o, v in by_hand.items()}
    assert max(scores, key=lambda k: selector.merit(scores[k]))[1] == max(by_hand, key=by_hand.get)


@pytest.mark.parametrize("cls", [ZeroCostPT, ZeroCostDISC])
def test_a_lower_is_better_proxy_flips_the_direction(cls):
    nwot = proxies.get("nwot")
    negated = Proxy("neg_nwot", lambda m, b: -nwot.fn(m, b), higher_is_better=False)
    genotypes = []
    for proxy in (nwot, negated):
        torch.manual_seed(0)
        net = NB201Supernet(C=4, N=1)
        result = search(net, make(cls, proxy=proxy), orders.get("fixed"), 1, evaluator=validation(proxy))
        genotypes.append(str(result.genotype))
    assert genotypes[0] == genotypes[1]


def test_search_validates_every_unique_candidate_and_keeps_the_best():
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1)
    log = SearchLog(None)
    build = lambda g: spaces.get("nb201").network(g, C=4, N=1)  # noqa: E731
    result = search(net, make(ZeroCostPT), orders.get("random"), 3, evaluator=validation(), seed=0, log=log)
    kinds = [r["kind"] for r in log.records]
    assert kinds.count("proposal") == 3 and kinds.count("decision") == 18
    # fixed edge count × 5 ops per edge: every op of every undecided edge scored once per step
    assert kinds.count("score") == 3 * 6 * 5
    assert sum(len(c.proposals) for c in result.candidates) == 3 and len(result.candidates) > 1
    # validation by hand: fresh init with the init seed, the same V batches, nwot summed
    for c in result.candidates:
        torch.manual_seed(0)
        model = build(c.genotype)
        total = sum(proxies.get("nwot")(model, b, bn_mode="eval") for b in fixed_valid()())
        assert c.score == pytest.approx(total, rel=0, abs=1e-9)
    assert result.genotype == max(result.candidates, key=lambda c: c.score).genotype
    assert not net.decisions()["ops"]  # the supernet is left undecided


def test_nan_validation_scores_never_win():
    class Broken(Evaluator):
        def evaluate(self, genotypes, on_record=None):
            return [Record(str(g), math.nan if i == 0 else 1.0) for i, g in enumerate(genotypes)]

    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1)
    result = search(net, make(ZeroCostPT), orders.get("random"), 4, evaluator=Broken(), seed=1)
    assert len(result.candidates) > 1
    assert result.candidates[0].record.status == "failed" and result.candidates[0].score is None
    assert result.genotype != result.candidates[0].genotype


@pytest.mark.parametrize("cls", [ZeroCostPT, ZeroCostDISC])
def test_validation_of_a_lower_is_better_proxy_keeps_the_lowest_total(cls):
    """Three proposals, a lower-is-better proxy: the candidate with the LOWEST raw total wins (the
    validation stage used to take the raw maximum, i.e. the worst candidate)."""
    nwot = proxies.get("nwot")
    negated = Proxy("neg_nwot", lambda m, b: -nwot.fn(m, b), higher_is_better=False)
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1)
    log = SearchLog(None)
    result = search(net, make(cls, proxy=negated), orders.get("random"), 3, evaluator=validation(negated),
                    seed=0, log=log)
    assert len(result.candidates) > 1
    raw = [r["details"]["total"] for r in log.records if r["kind"] == "validation"]
    assert [c.score for c in result.candidates] == [-t for t in raw]
    assert str(result.genotype) == str(result.candidates[raw.index(min(raw))].genotype)
