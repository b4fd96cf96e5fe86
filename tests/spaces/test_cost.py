"""Cost models: the additive form equals counting the built network, published counts are reproduced, and
the range of a partial decision is that of its cheapest and dearest completions (brute force)."""
from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from ptnas import spaces
from ptnas.spaces.cost import Cost, count, count_network
from ptnas.spaces.darts import STEPS, DartsGenotype
from ptnas.spaces.nb201 import EDGES, NB201Genotype

DATA = Path("../shared/data")
NB201_REFERENCE = DATA / "nb201_zero_cost_reference.json"
MACRO_TABLE = DATA / "nas_bench_macro_cifar10.json"


def _table(path: Path) -> dict:
    if not path.is_file():
        pytest.skip(f"{path} not found (reference data lives next to the repository, ../shared/data)")
    return json.loads(path.read_text())


def test_a_conv_and_a_linear_layer_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 10))
    macs = 8 * 3 * 9 * 32 * 32 + 8 * 10  # multiply-adds of conv and linear; biases, BN, ReLU, pooling not counted
    assert count_network(net, 32) == Cost(8 * 27 + 8 + 2 * 8 + 8 * 10 + 10, macs)
    assert count(None, (1, 3, 32, 32)) == Cost(0, 0)


@pytest.mark.parametrize("name,size,n", [
    ("nb201", {}, 4), ("macro", {}, 4), ("mobilenet", {}, 3), ("darts", {}, 3),
    ("darts", {"num_classes": 1000, "input_size": 224}, 2)])
def test_the_additive_cost_equals_counting_the_built_network(name, size, n):
    space = spaces.get(name)
    model = space.cost_model(**size)
    rng = np.random.default_rng(7)
    for _ in range(n):
        g = space.sample(rng)
        net = space.network(g, size.get("num_classes", space.cost_input["num_classes"]),
                            **({"input_size": size["input_size"]} if "input_size" in size else {}))
        assert model.of(g) == count_network(net, size.get("input_size", space.cost_input["input_size"])), str(g)


def test_the_model_is_built_once_per_size():
    space = spaces.get("macro")
    assert space.cost_model() is space.cost_model(num_classes=10, input_size=32, C=32)
    assert space.cost_model(C=16) is not space.cost_model()


def test_darts_v2_has_the_darts_papers_parameter_count_without_the_auxiliary_head():
    darts = spaces.get("darts")
    v2 = darts.references()["darts_v2"]
    assert darts.cost(v2).params == 3_349_342  # C=36, 20 cells, CIFAR-10 (DARTS' count_parameters_in_MB)
    with_aux = darts.network(v2, auxiliary=True)
    assert sum(p.numel() for p in with_aux.parameters()) == 3_349_342 + 476_426  # the CIFAR auxiliary head


def test_proxylessnas_mobile_has_its_published_parameter_count():
    mobilenet = spaces.get("mobilenet")
    mobile = mobilenet.references()["proxylessnas_mobile"]  # its own widths: counted from its network
    assert mobilenet.cost(mobile) == Cost(4_080_512, 320_427_584)  # 1000 classes, 224×224


def test_nas_bench_macro_params_and_flops_are_our_params_and_macs():
    table = _table(MACRO_TABLE)
    macro = spaces.get("macro")
    keys = ["22212220", *list(table)[::97]]
    for key in keys:
        assert macro.cost(key) == Cost(table[key]["params"], table[key]["flops"]), key


def test_nas_bench_201_params_match_for_every_reference_arch():
    table = _table(NB201_REFERENCE)
    nb201 = spaces.get("nb201")
    for arch, row in table.items():
        assert nb201.cost(arch).params == round(row["cifar10"]["params"] * 1e6), arch
        assert nb201.cost(arch, num_classes=100).params == round(row["cifar100"]["params"] * 1e6), arch


def _elementwise_terms(net: nn.Module) -> int:
    """What NASLib's NB201 `flops` add to MACs: linear bias, 1 per ReLU output, 2 per affine-BN element,
    k² per pooling output, 1 per global-pooling input (found by fitting; see docs/costs.md)."""
    total = [0]

    def hook(m, args, out):
        if isinstance(m, nn.Linear):
            total[0] += out.numel()
        elif isinstance(m, nn.ReLU):
            total[0] += out.numel()
        elif isinstance(m, nn.BatchNorm2d):
            total[0] += 2 * args[0].numel()
        elif isinstance(m, nn.AvgPool2d):
            total[0] += m.kernel_size ** 2 * out.numel() if isinstance(m.kernel_size, int) else 0
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            total[0] += args[0].numel()

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    count_network(net, 32)
    for h in handles:
        h.remove()
    return total[0]


def test_nas_bench_201_reference_flops_are_macs_plus_elementwise_terms():
    table = _table(NB201_REFERENCE)
    nb201 = spaces.get("nb201")
    for arch in list(table)[:12]:
        gap = round(table[arch]["cifar10"]["flops"] * 1e6) - nb201.cost(arch).macs
        assert gap == _elementwise_terms(nb201.network(arch)) + 1078, arch  # 1,078: a constant we cannot explain


# ---- ranges ------------------------------------------------------------------------------------
def _brute_force(costs: list[Cost]) -> tuple[Cost, Cost]:
    return (Cost(min(c.params for c in costs), min(c.macs for c in costs)),
            Cost(max(c.params for c in costs), max(c.macs for c in costs)))


def test_nb201_range_is_that_of_the_cheapest_and_dearest_completion():
    nb201 = spaces.get("nb201")
    model = nb201.cost_model()
    net = nb201.supernet(C=4, N=1)
    net.discretize("1<-0", "nor_conv_3x3")
    net.discretize("2<-1", "skip_connect")
    net.discretize("3<-2", "none")
    with net.perturb("2<-0", "nor_conv_3x3"), net.perturb("3<-0", "avg_pool_3x3"), net.perturb("3<-0", "none"):
        completions = [NB201Genotype(ops) for ops in itertools.product(*(net.candidates(e) for e in EDGES))]
        assert len(completions) == 4 * 3 * 5
        assert model.range(net) == _brute_force([model.of(g) for g in completions])
        budget = sorted(model.of(g).params for g in completions)[20]
        expected = tuple(o for o in net.candidates("3<-0")
                         if any(model.of(g).params <= budget for g in completions if g.edge_ops()["3<-0"] == o))
        assert model.allowed(net, "3<-0", max_params=budget) == expected
        assert expected != net.candidates("3<-0")  # the budget rules an op out
    undecided = [NB201Genotype(ops) for ops in itertools.product(
        *(((net.decisions()["ops"][e],) if net.is_decided(e) else nb201.ops) for e in EDGES))]
    assert model.range(net.decisions()) == model.range(net) == _brute_force([model.of(g) for g in undecided])


def test_nb201_range_of_a_full_decision_is_its_cost_and_nothing_decided_spans_the_space():
    nb201 = spaces.get("nb201")
    model = nb201.cost_model()
    g = nb201.references()["nb201_best_cifar10"]
    assert model.range({"ops": g.edge_ops()}) == (model.of(g), model.of(g))
    low, high = model.range()
    assert low == model.of(NB201Genotype(("none",) * 6)) and high == model.of(NB201Genotype(("nor_conv_3x3",) * 6))
    with pytest.raises(ValueError, match="not alive"):
        model.range({"ops": {"1<-0": "none"}}, assume={"1<-0": "skip_connect"})


def test_darts_range_chooses_the_cheapest_and_dearest_two_inputs_per_node():
    """A reduced DARTS network (C=4, 3 cells): the reduction cell fully decided, the normal cell with every
    node's two inputs still to choose and two edges with two alive ops; brute force over every completion."""
    darts = spaces.get("darts")
    model = darts.cost_model(C=4, layers=3)
    net = darts.supernet(C=4, layers=2)
    v2 = darts.references()["darts_v2"]
    for k, (op, i) in enumerate(v2.reduce):  # the reduction cell: DARTS-V2's, after the topology step
        net.discretize(f"reduce:{2 + k // 2}<-{i}", op)
    for j in range(2, STEPS + 2):
        for i in range(j):
            e = f"reduce:{j}<-{i}"
            if not net.is_decided(e):
                net.prune_edge(e)
    open_edges = {"normal:3<-2": ("sep_conv_3x3", "max_pool_3x3"), "normal:5<-0": ("dil_conv_5x5", "skip_connect")}
    rng = np.random.default_rng(0)
    for j in range(2, STEPS + 2):
        for i in range(j):
            e = f"normal:{j}<-{i}"
            if e not in open_edges:
                net.discretize(e, net.candidates(e)[int(rng.integers(len(net.candidates(e))))])
    net.prune_edge("normal:4<-1")
    completions = []
    per_node = [list(itertools.combinations([i for i in range(j) if not net.is_pruned(f"normal:{j}<-{i}")], 2))
                for j in range(2, STEPS + 2)]
    with contextlib.ExitStack() as stack:
        for e, keep in open_edges.items():
            for o in net.candidates(e):
                if o not in keep:
                    stack.enter_context(net.perturb(e, o))
        for pairs in itertools.product(*per_node):
            kept = [(f"normal:{j}<-{i}", i) for j, pair in zip(range(2, STEPS + 2), pairs) for i in pair]
            for ops in itertools.product(*(net.candidates(e) for e, _ in kept)):
                normal = tuple((o, i) for o, (_, i) in zip(ops, kept))
                completions.append(DartsGenotype(normal, v2.normal_concat, v2.reduce, v2.reduce_concat))
        assert len(completions) == 5 * 3 * 14  # node 3: 1 + 2 + 2 (3<-2 open); node 4: 3 pairs; node 5: 6 + 2·4
        costs = [model.of(g) for g in completions]
        assert model.range(net) == _brute_force(costs)
    cheapest = completions[costs.index(min(costs, key=lambda c: c.params))]
    assert model.of(cheapest) == count_network(darts.network(cheapest, C=4, layers=3), 32)


def test_darts_range_needs_two_unpruned_inputs_per_node():
    darts = spaces.get("darts")
    model = darts.cost_model(C=4, layers=3)
    with pytest.raises(ValueError, match="2 must stay"):
        model.range({"pruned": ["normal:3<-0", "normal:3<-1"]})
    assert model.range(prune=["normal:5<-4"])[1].params <= model.range()[1].params


def test_genotypes_the_table_does_not_describe_are_counted_from_their_network():
    darts = spaces.get("darts")
    model = darts.cost_model(C=4, layers=3)
    v2 = darts.references()["darts_v2"]
    narrow = DartsGenotype(v2.normal, (4, 5), v2.reduce, v2.reduce_concat)
    assert model.of(narrow) == count_network(darts.network(narrow, C=4, layers=3), 32)
    assert model.of(narrow).params < model.of(v2).params
