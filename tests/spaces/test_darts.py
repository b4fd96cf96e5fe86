"""DARTS space: genotype text, supernet edges and topology, standalone networks and published sizes."""
from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch

from ptnas import spaces
from ptnas.spaces.darts import CELL_EDGES, SEARCH_OPS, DartsGenotype, count_parameters
from tests.conftest import differing_positions

SPACE = spaces.get("darts")
V2 = SPACE.references()["darts_v2"]


# ---- genotypes -----------------------------------------------------------------------------------
def test_references_round_trip_through_the_printed_text():
    refs = SPACE.references()
    assert {"darts_v1", "darts_v2", "pc_darts"} <= set(refs)
    for g in refs.values():
        assert SPACE.parse(str(g)) == g and str(SPACE.parse(str(g))) == str(g)
    assert str(V2).startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ")
    assert str(V2).endswith("reduce_concat=[2, 3, 4, 5])")


def test_parse_accepts_range_concat_and_positional_fields():
    text = str(V2).replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert SPACE.parse(text) == V2
    positional = f"Genotype({list(V2.normal)}, [2, 3, 4, 5], {list(V2.reduce)}, range(2, 6))"
    assert SPACE.parse(positional) == V2
    assert SPACE.parse(str(V2)).normal[7] == ("dil_conv_3x3", 2)


@pytest.mark.parametrize("text, message", [
    ("Genotype(normal=[('sep_conv_3x3', 0)", "syntax error"),
    ("Cell(normal=[])", "reads Genotype(...)"),
    (str(V2).replace(", reduce_concat=[2, 3, 4, 5]", ""), "lacks reduce_concat"),
    (str(V2).replace("'dil_conv_3x3', 2", "'conv_7x7', 2"), "unknown DARTS op 'conv_7x7'"),
    (str(V2).replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "must be in 0..4"),
    (str(V2).replace("('dil_conv_3x3', 2)]", "]", 1), "two (op, input) pairs per node"),
    (str(V2).replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 9]"), "normal_concat [2, 3, 9]"),
    (str(V2).replace("('sep_conv_3x3', 0)", "'sep_conv_3x3'", 1), "(op, input) pair"),
    (str(V2).replace("normal_concat=[2, 3, 4, 5]", "normal_concat=x"), "must be a literal list"),
    # a huge range is refused by its length, before it is turned into a list
    (str(V2).replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 1000000)"), "has 999,998 entries"),
    (str(V2).replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 4000000000)"), "has 3,999,999,998 entries"),
])
def test_malformed_genotypes_are_rejected_with_a_message(text, message):
    with pytest.raises(ValueError) as info:
        SPACE.parse(text)
    assert message in str(info.value)


# ---- standalone networks: published sizes and interface ----------------------------------------
def test_darts_v2_counts_the_published_parameters():
    """Liu et al. 2019: 3.3 M on CIFAR-10 (C=36, 20 cells, auxiliary head excluded), 4.7 M on ImageNet."""
    cifar = SPACE.network(V2, num_classes=10, C=36, layers=20, auxiliary=True)
    assert round(count_parameters(cifar) / 1e6, 1) == 3.3
    assert count_parameters(cifar) == 3_349_342  # the DARTS code's own "param size = 3.349342MB"
    assert count_parameters(cifar, auxiliary=True) > count_parameters(cifar)  # the head exists and is excluded
    imagenet = SPACE.network(V2, num_classes=1000, C=48, layers=14, auxiliary=True, input_size=224)
    assert round(count_parameters(imagenet) / 1e6, 1) == 4.7
    assert SPACE.network(V2).classifier.in_features == cifar.classifier.in_features  # defaults C=36, 20 cells


def test_pc_darts_counts_the_published_parameters():
    """Xu et al., PC-DARTS (ICLR 2020): 3.6 M parameters on CIFAR-10."""
    net = SPACE.network(SPACE.references()["pc_darts"], num_classes=10, C=36, layers=20, auxiliary=True)
    assert round(count_parameters(net) / 1e6, 1) == 3.6


def test_training_forward_returns_auxiliary_logits_eval_returns_logits():
    torch.manual_seed(0)
    net = SPACE.network(V2, num_classes=7, C=4, layers=3, auxiliary=True)
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net.train()(x)
    assert logits.shape == aux.shape == (2, 7)
    assert net.eval()(x).shape == (2, 7)
    plain = SPACE.network(V2, num_classes=7, C=4, layers=3)
    assert isinstance(plain.train()(x), torch.Tensor) and plain.auxiliary_head is None


def test_imagenet_layout_reduces_224_to_7_before_pooling():
    torch.manual_seed(0)
    net = SPACE.network(V2, num_classes=5, C=4, layers=3, auxiliary=True, input_size=224)
    seen = []
    net.global_pooling.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[-2:]))
    logits, aux = net.train()(torch.randn(2, 3, 224, 224))
    assert seen == [(7, 7)] and logits.shape == aux.shape == (2, 5)


def test_drop_path_probability_is_read_at_every_forward():
    torch.manual_seed(0)
    net = SPACE.network(V2, num_classes=10, C=4, layers=3).train()
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(net(x), net(x))  # no drop-path: BN in train mode on the same batch is deterministic
    net.drop_path_prob = 0.5
    assert not torch.equal(net(x), net(x))  # random paths dropped per sample
    net.eval()
    assert torch.equal(net(x), net(x))  # never in eval mode


def test_candidates_at_search_size_are_the_8_cell_c16_network_without_auxiliary_head():
    net = SPACE.network(V2, num_classes=10, **SPACE.search_size)
    assert len(net.cells) == 8 and net.auxiliary_head is None and net.stem[0].out_channels == 48
    assert [c.reduction for c in net.cells] == [False, False, True, False, False, True, False, False]


# ---- supernet ------------------------------------------------------------------------------------
def test_supernet_has_14_edges_per_cell_type_and_excludes_none_by_default():
    net = SPACE.supernet(C=4, layers=3)
    assert net.edges() == [f"{t}:{e}" for t in ("normal", "reduce") for e in CELL_EDGES]
    assert net.edges()[:5] == ["normal:2<-0", "normal:2<-1", "normal:3<-0", "normal:3<-1", "normal:3<-2"]
    assert all("none" not in net.candidates(e) and len(net.candidates(e)) == 7 for e in net.edges())
    with_none = SPACE.supernet(C=4, layers=3, include_none=True)
    assert all(with_none.candidates(e)[0] == "none" and len(with_none.candidates(e)) == 8 for e in with_none.edges())
    assert [c.cell_type for c in net.cells] == ["normal", "reduce", "reduce"]
    assert [c.cell_type for c in SPACE.supernet(C=4, layers=8).cells].count("reduce") == 2


def test_robust_darts_op_sets():
    """Zela et al. 2020: S1 has two ops per edge (its released table), S2-S4 the same ops everywhere."""
    s1 = SPACE.supernet(C=4, layers=1, op_set="s1")
    assert s1.candidates("normal:2<-0") == ("skip_connect", "dil_conv_3x3")
    assert s1.candidates("reduce:5<-4") == ("skip_connect", "dil_conv_5x5")
    assert s1.candidates("normal:4<-0") == ("max_pool_3x3", "skip_connect")
    assert all(len(s1.candidates(e)) == 2 for e in s1.edges())
    assert set(SPACE.supernet(C=4, layers=1, op_set="s3").candidates("reduce:4<-1")) == {"none", "skip_connect", "sep_conv_3x3"}
    s4 = SPACE.supernet(C=4, layers=1, op_set="s4")
    s4.discretize("reduce:2<-0", "noise")
    assert s4(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown DARTS op set 's9'; choose from: s1, s2, s3, s4"):
        SPACE.supernet(op_set="s9")


def test_perturbing_an_edge_removes_the_op_from_every_cell_of_that_type():
    torch.manual_seed(0)
    net = SPACE.supernet(C=4, layers=4)  # normal, reduce, reduce, normal
    calls = {"normal": 0, "reduce": 0}
    for cell in net.cells:
        op = cell.edges["3<-1"].ops["sep_conv_5x5"]
        op.register_forward_pre_hook(lambda m, a, t=cell.cell_type: calls.__setitem__(t, calls[t] + 1))
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        full = net(x)
        with net.perturb("normal:3<-1", "sep_conv_5x5"):
            perturbed = net(x)
    assert calls == {"normal": 2 + 0, "reduce": 2 + 2}  # the removed op never ran in either normal cell
    assert not torch.allclose(full, perturbed)


def test_topology_groups_keep_two_inputs_per_node():
    net = SPACE.supernet(C=4, layers=3)
    groups = net.topology_groups()
    assert [(g[0][0], len(g[0]), g[1]) for g in groups] == [
        ("normal:3<-0", 3, 2), ("normal:4<-0", 4, 2), ("normal:5<-0", 5, 2),
        ("reduce:3<-0", 3, 2), ("reduce:4<-0", 4, 2), ("reduce:5<-0", 5, 2)]


def test_decisions_and_pruning_give_the_genotype():
    net = SPACE.supernet(C=4, layers=3)
    for t, pairs in (("normal", V2.normal), ("reduce", V2.reduce)):
        kept = {(2 + k // 2, i): op for k, (op, i) in enumerate(pairs)}
        for e in CELL_EDGES:
            j, i = map(int, e.split("<-"))
            if (j, i) in kept:
                net.discretize(f"{t}:{e}", kept[(j, i)])
            else:
                net.prune_edge(f"{t}:{e}")
    g = net.genotype()
    # DARTS-V2 lists node 4's inputs as (1, 0); the supernet lists them in input order.
    assert g.normal[4:6] == (("skip_connect", 0), ("sep_conv_3x3", 1))
    assert sorted(g.normal) == sorted(V2.normal) and sorted(g.reduce) == sorted(V2.reduce)
    assert count_parameters(SPACE.network(g)) == count_parameters(SPACE.network(V2))
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_genotype_needs_exactly_two_inputs_per_node():
    net = SPACE.supernet(C=4, layers=3)
    for e in net.edges():
        net.discretize(e, "skip_connect")
    with pytest.raises(ValueError, match="node 3 of the normal cell keeps 3 input edges"):
        net.genotype()


def test_genotype_is_hashable_plain_data():
    assert {V2: "v2"}[SPACE.parse(str(V2))] == "v2" and V2.steps == 4
    plain = json.loads(json.dumps(dataclasses.asdict(V2)))  # lists of [op, input] and ints only
    rebuilt = DartsGenotype(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v) for k, v in plain.items()})
    assert rebuilt == V2 and hash(rebuilt) == hash(V2) and str(rebuilt) == str(V2)


# ---- sample / mutate / neighbours (multi-trial strategies) ---------------------------------------
def fields(g: DartsGenotype) -> tuple:
    """A genotype's positions: every op and every input of both cells, in order."""
    return tuple(x for pair in g.normal + g.reduce for x in pair)


def assert_valid_cells(g: DartsGenotype) -> None:
    for pairs in (g.normal, g.reduce):
        for k in range(0, len(pairs), 2):
            (_, a), (_, b) = pairs[k], pairs[k + 1]
            assert a != b and a < 2 + k // 2 and b < 2 + k // 2, (g, k)


def cell_set(g: DartsGenotype) -> tuple:
    """The cells as a DARTS network computes them: the order of a node's two pairs does not matter."""
    return tuple(frozenset(pairs[k:k + 2]) for pairs in (g.normal, g.reduce) for k in range(0, len(pairs), 2))


def test_sampled_genotypes_round_trip_build_and_are_reproducible():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    g = SPACE.sample(rng)
    assert SPACE.parse(str(g)) == g
    assert SPACE.network(g, C=4, layers=3).eval()(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert [SPACE.sample(a) for _ in range(20)] == [SPACE.sample(b) for _ in range(20)]


def test_sample_picks_two_distinct_inputs_per_node_uniformly_and_search_ops():
    """NAS-Bench-301 / NASLib's random cell: node j takes 2 distinct inputs of 0..j-1 and ops without `none`."""
    rng = np.random.default_rng(0)
    draws = [SPACE.sample(rng) for _ in range(1500)]
    for g in draws:
        assert_valid_cells(g)
        assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
        assert all(op in SEARCH_OPS for op, _ in g.normal + g.reduce)
    node5 = [tuple(i for _, i in g.reduce[6:8]) for g in draws]  # 10 input pairs of 0..4, each 1/10
    assert {p: node5.count(p) for p in set(node5)} == pytest.approx(
        {p: 150 for p in itertools.combinations(range(5), 2)}, abs=4 * (1500 * 0.1 * 0.9) ** 0.5)
    ops = [op for g in draws for op, _ in g.normal]  # 8 pairs × 1500 draws, 7 ops each
    assert {o: ops.count(o) for o in SEARCH_OPS} == pytest.approx({o: 12000 / 7 for o in SEARCH_OPS},
                                                                  abs=4 * (12000 * 6 / 49) ** 0.5)


def test_neighbours_of_darts_v2_counted_by_hand():
    """16 pairs × 6 other ops = 96 op edits; input edits per cell: node j's two pairs each move to one of
    the j - 2 predecessors that are neither input, 2 × (0 + 1 + 2 + 3) = 12, so 24 for both cells."""
    near = SPACE.neighbours(V2)
    assert len(near) == 96 + 24 and len(set(near)) == len(near) and V2 not in near
    changed = []
    for n in near:
        assert_valid_cells(n)
        assert differing_positions(fields(n), fields(V2)) == 1
        assert n.normal_concat == n.reduce_concat == (2, 3, 4, 5)
        changed.append([k for k, (x, y) in enumerate(zip(fields(n), fields(V2))) if x != y][0])
    assert sum(k % 2 == 0 for k in changed) == 96 and sum(k % 2 == 1 for k in changed) == 24
    # normal node 5 is (skip_connect, 0), (dil_conv_3x3, 2): the first pair moves to input 1, 3 or 4
    assert [n.normal[6] for n in near if n.normal[7] == V2.normal[7] and n.normal[6][1] != 0] == [
        ("skip_connect", 1), ("skip_connect", 3), ("skip_connect", 4)]
    assert near == SPACE.neighbours(str(V2))


def test_neighbours_are_valid_and_distinct_cells():
    rng = np.random.default_rng(1)
    for g in [SPACE.sample(rng) for _ in range(10)] + list(SPACE.references().values()):
        near = SPACE.neighbours(g)
        assert len(near) == 120 and len(set(near)) == 120
        assert all(differing_positions(fields(n), fields(g)) == 1 for n in near)
        for n in near:
            assert_valid_cells(n)
        # no neighbour is the genotype or another neighbour with a node's two pairs swapped
        assert len({cell_set(n) for n in near} | {cell_set(g)}) == 121


def test_mutate_returns_a_neighbour():
    near = SPACE.neighbours(V2)
    assert all(SPACE.mutate(V2, np.random.default_rng(seed)) in near for seed in range(100))
