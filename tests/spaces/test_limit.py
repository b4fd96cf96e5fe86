"""Cost limits (ptnas.spaces.limit): every search keeps them, an unreachable one is refused before any work."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import ptnas
from ptnas import spaces
from ptnas.evaluators.base import Evaluator, Record
from ptnas.evaluators.limited import Limited
from ptnas.spaces import limit
from ptnas.spaces.nb201 import EDGES, NB201Genotype

NB201 = spaces.get("nb201")
SMALL = dict(space="nb201", init_channels=4, layers=1, batch_size=8, seed=0, device="cpu")
FREE = {"none", "skip_connect", "avg_pool_3x3"}  # NB201's ops without parameters


def _limit(**kw) -> limit.Limit:
    return limit.Limit.of(NB201, 10, 32, {"C": 4, "N": 1}, **kw)


def _all_nb201():
    return [NB201Genotype(ops) for ops in itertools.product(NB201.ops, repeat=len(EDGES))]


def test_the_limit_is_measured_at_the_benchmark_size_not_the_supernet_size():
    lim = _limit(max_params=1.0)
    g = NB201Genotype(("nor_conv_3x3",) * 6)
    assert lim.cost(g) == NB201.cost(g)  # C=16, N=5: the search's C=4, N=1 does not carry over
    assert lim.max_params == 1_000_000 and lim.max_macs is None


def test_just_above_the_cheapest_network_a_search_keeps_only_parameter_free_ops(tmp_path):
    cheapest = min(NB201.cost(g).params for g in _all_nb201())
    result = ptnas.search(**SMALL, proposals=2, valid_batches=1, max_params=(cheapest + 1) / 1e6, out=str(tmp_path / "r"))
    assert set(result.genotype.edge_ops().values()) <= FREE
    saved = json.loads((tmp_path / "r" / "genotype.json").read_text())
    assert saved["limit"]["within"] and saved["limit"]["params"] <= cheapest + 1


@pytest.mark.parametrize("order", ["global-op-iter", "random"])
def test_a_selector_search_under_the_median_budget_finds_a_network_within_it(order):
    params = sorted(NB201.cost(g).params for g in _all_nb201())
    median = params[len(params) // 2]
    result = ptnas.search(**SMALL, order=order, proposals=2, valid_batches=1, max_params=median / 1e6)
    assert NB201.cost(result.genotype).params <= median
    for c in result.candidates:
        assert NB201.cost(c["genotype"]).params <= median


def test_a_limit_no_network_meets_is_refused_in_one_line_before_any_run_dir(tmp_path):
    with pytest.raises(ValueError, match=r"^no network of the nb201 space fits: the smallest has 0\.0\d+M parameters, "
                                         r"over --max-params 0\.001$"):
        ptnas.search(**SMALL, max_params=0.001, out=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match="--max-flops must be positive, got 0.0"):
        ptnas.search(**SMALL, max_flops=0)


def test_a_multi_trial_search_evaluates_only_networks_within_the_limit(tmp_path):
    params = sorted(NB201.cost(g).params for g in _all_nb201())
    quarter = params[len(params) // 4]
    ptnas.search(**SMALL, strategy="evolution", population=3, tournament=2, trials=6, valid_batches=1,
                 max_params=quarter / 1e6, out=str(tmp_path / "r"))
    rows = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    evaluated = [r["genotype"] for r in rows if r["kind"] == "evaluation"]
    assert len(evaluated) == 6
    assert all(NB201.cost(g).params <= quarter for g in evaluated)


def test_the_limited_space_samples_mutates_and_moves_within_the_limit(monkeypatch):
    lim = _limit(max_flops=50.0)
    space = lim.restrict(NB201)
    rng = np.random.default_rng(0)
    drawn = [space.sample(rng) for _ in range(100)]
    assert all(NB201.cost(g).macs <= 50_000_000 for g in drawn)
    g = drawn[0]
    assert space.neighbours(g) == [n for n in NB201.neighbours(g) if NB201.cost(n).macs <= 50_000_000]
    assert all(NB201.cost(space.mutate(g, rng)).macs <= 50_000_000 for _ in range(20))
    monkeypatch.setattr(limit, "MAX_DRAWS", 0)
    with pytest.raises(ValueError, match=r"^none of 0 random networks of the nb201 space fits --max-flops 50: "):
        space.sample(rng)


class _Length(Evaluator):
    """Scores a genotype by the length of its text; remembers what it was asked."""

    name = "length"

    def __init__(self):
        self.asked = []

    def evaluate_one(self, genotype):
        self.asked.append(str(genotype))
        return Record(str(genotype), float(len(str(genotype))))


def test_the_limited_evaluator_rejects_over_limit_genotypes_unseen_and_keeps_the_order():
    lim = _limit(max_params=0.2)
    small = NB201Genotype(("skip_connect",) * 6)
    big = NB201Genotype(("nor_conv_3x3",) * 6)  # 1,531,546 parameters
    inner = _Length()
    seen = []
    records = Limited(inner, lim).evaluate([big, small, big, small], on_record=seen.append)
    assert [r.status for r in records] == ["rejected", "ok", "rejected", "ok"]
    assert records[0].reason == "1.532M parameters, over --max-params 0.2"
    assert inner.asked == [str(small), str(small)]
    assert seen == records
