"""Latency as the cost model's third component (ptnas.spaces.cost) and the measured lookup table
(ptnas.spaces.latency): arithmetic on hand-built tables, the table's additivity and its files. Timings are
noisy, so nothing here asserts a speed: only structure and arithmetic that holds by construction."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ptnas import spaces
from ptnas.spaces import cost, latency
from ptnas.spaces.cost import Cost, CostModel
from ptnas.spaces.mobilenet import widths_for

TINY = {"C": 4, "N": 1}  # NB201 at 4 channels, one cell per stage
NB201 = spaces.get("nb201")


# ---- Cost and CostModel with latency, by hand --------------------------------------------------------
def test_cost_adds_and_subtracts_three_components_and_two_int_costs_stay_equal():
    assert Cost(1, 2, 0.5) + Cost(3, 4, 1.25) == Cost(4, 6, 1.75)
    assert Cost(4, 6, 1.75) - Cost(3, 4, 1.25) == Cost(1, 2, 0.5)
    assert Cost(3349342, 528359040) == Cost(3349342, 528359040, 0.0)
    assert repr(Cost(1, 2)) == "Cost(params=1, macs=2, latency=0.0)"


def test_within_checks_each_given_limit():
    c = Cost(10, 100, 2.5)
    assert c.within() and c.within(10, 100, 2.5)
    assert not c.within(max_latency=2.0)
    assert c.within(max_params=10, max_latency=3.0) and not c.within(max_params=9, max_latency=3.0)
    assert not c.within(max_macs=99, max_latency=3.0)


def _hand_model(**extra) -> CostModel:
    table = {"a": {"x": Cost(10, 100, 1.0), "y": Cost(20, 50, 3.0)},
             "b": {"x": Cost(5, 10, 2.0), "y": Cost(1, 200, 0.5)}}
    return CostModel(Cost(100, 1000, 4.0), table, {"a": ("x", "y"), "b": ("x", "y")},
                     choices=lambda g: list(zip("ab", g)), direct=lambda g: Cost(0, 0, 99.0), **extra)


def test_range_is_least_and_most_latency_per_component():
    low, high = _hand_model(has_latency=True).range(None)
    # low: fixed + per edge the least of each component (a: 10, 50, 1.0; b: 1, 10, 0.5)
    assert low == Cost(111, 1060, 5.5)
    # high: fixed + per edge the most (a: 20, 100, 3.0; b: 5, 200, 2.0)
    assert high == Cost(125, 1300, 9.0)
    low, high = _hand_model().range({"ops": {"b": "x"}})
    assert (low.latency, high.latency) == (7.0, 9.0)  # 4 + {1, 3} + 2


def test_allowed_with_a_latency_limit():
    model = _hand_model(has_latency=True)
    assert model.allowed(None, "a", max_latency=6.0) == ("x",)  # x: 4 + 1 + 0.5 = 5.5; y: 4 + 3 + 0.5 = 7.5
    assert model.allowed(None, "a", max_latency=7.5) == ("x", "y")
    assert model.allowed({"ops": {"b": "x"}}, "a", max_latency=7.0) == ("x",)  # 4 + 1 + 2 = 7
    assert model.allowed(None, "a", max_latency=5.0) == ()
    # both limits: y fits the latency limit (7.5) and has fewer MACs, x the parameters
    assert model.allowed(None, "a", max_macs=1070, max_latency=8.0) == ("y",)  # x: 1000+100+10=1110; y: 1060
    assert model.allowed(None, "b", max_params=111, max_latency=5.5) == ("y",)  # b=x: 4+1+2=7 > 5.5


def test_allowed_refuses_a_latency_limit_without_latency():
    with pytest.raises(ValueError, match="with_latency"):
        _hand_model().allowed(None, "a", max_latency=1.0)


def test_range_of_a_group_keeps_the_least_latency_edges():
    table = {e: {"x": Cost(1, 1, ms)} for e, ms in (("p", 2.0), ("q", 0.5), ("r", 1.0))}
    model = CostModel(Cost(0, 0, 0.0), table, {e: ("x",) for e in table}, choices=lambda g: None,
                      direct=lambda g: Cost(0, 0), groups=((("p", "q", "r"), 2),), has_latency=True)
    low, high = model.range(None)
    assert (low.latency, high.latency) == (1.5, 3.0)
    assert model.range(None, prune=["q"])[0].latency == 3.0
    assert model.allowed({"pruned": ["q"]}, "p", max_latency=2.5) == ()


# ---- with_latency on a space's model ---------------------------------------------------------------
def _hand_table(model: CostModel, **changes) -> latency.LatencyTable:
    """A table with exactly representable entries: 0.25 × (op index + 1) + edge index."""
    ops = {e: {o: 0.25 * (k + 1) + i for k, o in enumerate(row)} for i, (e, row) in enumerate(model.table.items())}
    fields = dict(space="nb201", size=NB201.cost_arguments(**TINY), device="cpu", device_name="test", threads=1,
                  torch_version=torch.__version__, timing={"batch": 1, "repeats": 1, "warmup": 0, "statistic": "median",
                                                           "mode": "eval, no_grad", "memory_format": "channels_last"},
                  fixed=1.5, reference=0.0, ops=ops, build_seconds=0.0)
    return latency.LatencyTable(**{**fields, **changes})


def test_with_latency_adds_the_table_and_keeps_params_and_macs():
    plain = NB201.cost_model(**TINY)
    table = _hand_table(plain)
    model = plain.with_latency(table)
    g = NB201.references()["nb201_best_cifar10"]
    expected = 1.5 + sum(table.ops[e][o] for e, o in g.edge_ops().items())
    assert model.of(g) == Cost(plain.of(g).params, plain.of(g).macs, expected)
    assert table.predict(str(g)) == expected
    assert model.has_latency and not plain.has_latency
    low = model.range(None)[0]
    assert low.latency == 1.5 + sum(min(row.values()) for row in table.ops.values())
    assert low.params == plain.range(None)[0].params


def test_with_latency_refuses_a_table_of_other_edges():
    plain = NB201.cost_model(**TINY)
    ops = _hand_table(plain).ops
    ops.pop("3<-2")
    with pytest.raises(ValueError, match="not this cost model's"):
        plain.with_latency(_hand_table(plain, ops=ops))


def test_a_genotype_outside_the_table_is_measured_whole(monkeypatch):
    mobilenet = spaces.get("mobilenet")
    size = {"num_classes": 10, "input_size": 32, "layers": 1}
    plain = mobilenet.cost_model(**size)
    ops = {e: {o: 1.0 for o in row} for e, row in plain.table.items()}
    table = latency.LatencyTable(space="mobilenet", size=mobilenet.cost_arguments(**size), device="cpu",
                                 device_name="test", threads=1, torch_version="", timing={}, fixed=0.0, reference=0.0,
                                 ops=ops, build_seconds=0.0)
    measured = []
    monkeypatch.setattr(table, "measure_network", lambda net: measured.append(net) or 42.0)
    g = mobilenet.at_size(layers=1).sample(np.random.default_rng(0))
    own = mobilenet.parse(f"{g};widths={','.join(str(w) for w in widths_for(16))}")  # not the table's widths
    model = plain.with_latency(table)
    assert model.of(g).latency == len(g.blocks) * 1.0 and not measured
    assert model.of(own).latency == 42.0 and len(measured) == 1


# ---- the measured table ------------------------------------------------------------------------------
def test_each_distinct_module_is_measured_once_and_fixed_makes_the_reference_exact():
    layout = NB201.layout(**TINY)
    calls = []

    def params(module, shape):  # a deterministic stand-in for a timer: the module's parameter count
        calls.append(shape)
        return Cost(0, 0, float(sum(p.numel() for p in module.parameters())))

    fixed, table = cost.additive(layout, params, lambda net, size: params(net, (1, 3, size, size)))
    assert len(calls) == layout.distinct() + 1
    assert layout.distinct() == 5 * 3  # 5 ops at three widths (4, 8, 16 channels); the 6 edges share them
    # the parameter "latency" of the layout reproduces the cost model's parameter count exactly
    model = NB201.cost_model(**TINY)
    assert fixed.latency == model.fixed.params
    assert {e: {o: c.latency for o, c in row.items()} for e, row in table.items()} == \
        {e: {o: float(c.params) for o, c in row.items()} for e, row in model.table.items()}


def test_layout_builds_the_same_cost_model():
    g = NB201.references()["nb201_best_cifar10"]
    assert cost.cost_model(NB201.layout(**TINY)).of(g) == NB201.cost(g, **TINY)


def test_timing_of_none_is_zero_and_of_a_module_positive():
    timer = latency.Timing(repeats=2, warmup=0)
    assert timer.module(None, (1, 4, 8, 8)) == 0.0
    assert timer.module(torch.nn.Conv2d(4, 4, 3, padding=1), (1, 4, 8, 8)) > 0
    with pytest.raises(ValueError, match="repeats"):
        latency.Timing(repeats=0)
    with pytest.raises(ValueError, match="unknown statistic 'mean'"):
        latency.Timing(statistic="mean")


def test_torch_threads_are_restored():
    before = torch.get_num_threads()
    with latency.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_the_statistic_is_recorded_and_reused():
    table = latency.build("nb201", repeats=1, warmup=0, statistic="min", **TINY)
    assert table.timing["statistic"] == "min" and table.timer().statistic == "min"


@pytest.fixture(scope="module")
def tiny_table() -> latency.LatencyTable:
    return latency.build("nb201", device="cpu", repeats=2, warmup=1, threads=1, **TINY)


def test_built_table_is_additive_over_the_reference(tiny_table):
    t = tiny_table
    layout = NB201.layout(**TINY)
    assert t.space == "nb201" and t.size == {"num_classes": 10, "input_size": 32, "C": 4, "N": 1}
    assert t.device == "cpu" and t.threads == 1 and t.timing["repeats"] == 2 and t.build_seconds > 0
    assert t.fixed + sum(t.ops[e][o] for e, o in layout.choices(layout.reference)) == pytest.approx(t.reference, abs=1e-9)
    assert t.predict(layout.reference) == pytest.approx(t.reference, abs=1e-9)
    assert set(t.ops) == set(NB201.cost_model(**TINY).table)
    # one module per (op, width, shape): every edge of the cell sees the same entries
    assert all(row == t.ops["1<-0"] for row in t.ops.values())
    assert all(ms >= 0 for row in t.ops.values() for ms in row.values())


def test_saved_table_round_trips(tiny_table, tmp_path):
    path = tiny_table.save(tmp_path / "t.json")
    data = json.loads(path.read_text())
    assert (data["format"], data["version"], data["unit"]) == ("ptnas-latency-table", 1, "ms")
    loaded = latency.load(path, space="nb201", size=TINY)
    assert loaded == tiny_table
    g = NB201.references()["nb201_best_cifar10"]
    assert loaded.predict(g) == tiny_table.predict(g)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]  # no temporary file left


@pytest.mark.parametrize("content,kwargs,message", [
    (None, {}, "no such file"),
    ("{not json", {}, "not JSON"),
    ("[]", {}, "not a ptnas latency table"),
    ("TABLE", {"space": "darts"}, "is of the nb201 space, not darts"),
    ("TABLE", {"space": "nb201", "size": {"C": 8, "N": 1}}, "is of size num_classes=10, input_size=32, C=4, N=1, not"),
    ("TABLE", {"size": {"input_size": 64, **TINY}}, "not num_classes=10, input_size=64"),
])
def test_load_refuses_in_one_line(tiny_table, tmp_path, content, kwargs, message):
    path = tmp_path / "t.json"
    if content == "TABLE":
        tiny_table.save(path)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message) as e:
        latency.load(path, **kwargs)
    assert "\n" not in str(e.value)


def test_check_measures_random_networks_against_the_prediction(tiny_table):
    result = latency.check(tiny_table, 3, seed=1)
    assert result["networks"] == 3 and len(result["pairs"]) == 3
    assert [p["genotype"] for p in result["pairs"]] == [p["genotype"] for p in latency.check(tiny_table, 3, seed=1)["pairs"]]
    for p in result["pairs"]:
        assert p["predicted"] == tiny_table.predict(p["genotype"]) and p["measured"] > 0
    assert -1 <= result["spearman"] <= 1 and result["mape_percent"] <= result["max_error_percent"]


def test_errors_by_hand():
    pairs = [{"predicted": p, "measured": m} for p, m in ((1.0, 2.0), (2.0, 2.0), (3.0, 4.0))]
    e = latency.errors(pairs)  # relative errors -50 %, 0 %, -25 %
    assert e["mape_percent"] == 25.0 and e["max_error_percent"] == 50.0 and e["bias_percent"] == -25.0
    assert e["max_error_ms"] == 1.0
    assert e["spearman"] == pytest.approx(math.sqrt(3) / 2)  # ranks (1, 2, 3) against (1.5, 1.5, 3)
