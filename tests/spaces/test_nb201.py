"""NAS-Bench-201: genotype text, the benchmark's network layer for layer, the supernet."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch import nn

from ptnas import spaces
from ptnas.ops.nb201 import OPS
from ptnas.spaces.nb201 import EDGES, NB201Genotype, NB201Network, NB201Supernet
from tests.conftest import differing_positions, shared_data

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_arch_string_round_trips():
    g = spaces.get("nb201").parse(BEST)
    assert str(g) == BEST
    assert g.ops == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_1x1")
    assert hash(g) == hash(NB201Genotype.parse(BEST))


@pytest.mark.parametrize("text, message", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "needs 3 nodes"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", "node 2 .* needs 2 inputs"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", "must be 'op~0'"),
    ("|conv_7x7~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", "unknown NAS-Bench-201 op 'conv_7x7'"),
    ("nor_conv_3x3~0+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", "not of the form"),
])
def test_malformed_arch_strings_are_rejected_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        NB201Genotype.parse(text)


def test_parameter_count_by_hand_for_a_tiny_network():
    # C=4, N=1, all 'none': stem 3·4·9 + BN 8 = 116; residual 4→8: 288+16 + 576+16 + 32 = 928;
    # residual 8→16: 1152+32 + 2304+32 + 128 = 3648; final BN 32; linear 16·10+10 = 170.
    none = NB201Genotype(("none",) * 6)
    assert n_params(NB201Network(none, C=4, N=1)) == 116 + 928 + 3648 + 32 + 170
    # Each nor_conv_3x3 edge adds C·C·9 weights (no bias, BN affine) + 2C BN parameters, 6 edges per cell.
    conv = NB201Genotype(("nor_conv_3x3",) * 6)
    assert n_params(NB201Network(conv, C=4, N=1)) == 4894 + 6 * (152 + 592 + 2336)


def test_network_has_the_benchmark_skeleton_including_the_final_bn_relu():
    net = NB201Network(NB201Genotype.parse(BEST), C=16, N=5)
    assert [type(m) for m in net.stem] == [nn.Conv2d, nn.BatchNorm2d]
    assert len(net.cells) == 17  # 3 stages × 5 cells + 2 residual reductions
    assert [type(m) for m in net.lastact] == [nn.BatchNorm2d, nn.ReLU]
    assert net.classifier.in_features == 64
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_parameter_counts_match_the_published_benchmark_values():
    """NASLib's table of NB201 parameter counts (millions, CIFAR-10 head), 491 archs."""
    reference = json.loads(shared_data("nb201_zero_cost_reference.json").read_text())
    with torch.device("meta"):
        for arch, rows in reference.items():
            net = NB201Network(NB201Genotype.parse(arch), num_classes=10)
            assert n_params(net) / 1e6 == pytest.approx(rows["cifar10"]["params"], abs=1e-6), arch
    with torch.device("meta"):
        net100 = NB201Network(NB201Genotype.parse(arch), num_classes=100)
    assert n_params(net100) / 1e6 == pytest.approx(rows["cifar100"]["params"], abs=1e-6)


def test_supernet_search_cells_use_bn_without_affine_and_every_op():
    net = NB201Supernet(C=4, N=1)
    cell = net.net.cells[0]
    mixed = cell.edges["1<-0"]
    assert list(mixed.ops) == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    bn = mixed.ops["nor_conv_3x3"][2]
    assert isinstance(bn, nn.BatchNorm2d) and not bn.affine and bn.track_running_stats
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_space_registry_and_size_flags():
    space = spaces.get("nb201")
    assert "nb201" in spaces.names()
    assert space.size_kwargs(init_channels=8, layers=2) == {"C": 8, "N": 2}
    net = space.supernet(num_classes=100, C=4, N=1)
    assert net.net.classifier.out_features == 100
    with pytest.raises(ValueError, match="unknown space 'nb999'; choose from: nb201"):
        spaces.get("nb999")
    assert str(space.references()["nb201_best_cifar10"]) == BEST


# ---- sample / mutate / neighbours (multi-trial strategies) ---------------------------------------
def test_sampled_genotypes_round_trip_and_build_a_network():
    space = spaces.get("nb201")
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    for _ in range(3):
        g = space.sample(rng)
        assert space.parse(str(g)) == g
        assert space.network(g, C=4, N=1)(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_sample_is_reproducible_given_the_seed():
    space = spaces.get("nb201")
    draws = [[space.sample(rng) for _ in range(20)] for rng in (np.random.default_rng(7), np.random.default_rng(7))]
    assert draws[0] == draws[1] and len(set(draws[0])) > 1


def test_sample_draws_every_op_on_every_edge_with_frequency_one_fifth():
    """5000 draws: per edge, Pearson's χ² against uniform over 5 ops stays below 18.47 (4 dof, p = 0.001)."""
    space, n = spaces.get("nb201"), 5000
    rng = np.random.default_rng(0)
    draws = [space.sample(rng).ops for _ in range(n)]
    for k in range(len(EDGES)):
        counts = np.array([sum(d[k] == o for d in draws) for o in OPS])
        assert counts.min() > 0
        assert ((counts - n / 5) ** 2 / (n / 5)).sum() < 18.47, (EDGES[k], counts)


def test_neighbours_are_the_24_cells_with_one_edge_changed():
    space = spaces.get("nb201")
    rng = np.random.default_rng(1)
    for g in [space.parse(BEST), NB201Genotype(("none",) * 6)] + [space.sample(rng) for _ in range(10)]:
        near = space.neighbours(g)
        assert len(near) == 24 and len(set(near)) == 24 and g not in near
        assert all(differing_positions(n.ops, g.ops) == 1 for n in near)
        assert near == space.neighbours(str(g))  # deterministic, text accepted
    g = space.parse(BEST)
    brute = {NB201Genotype(t) for t in itertools.product(OPS, repeat=6) if differing_positions(t, g.ops) == 1}
    assert set(space.neighbours(g)) == brute


def test_mutate_returns_a_neighbour_and_reaches_all_24():
    space = spaces.get("nb201")
    g = space.parse(BEST)
    near = space.neighbours(g)
    assert all(space.mutate(g, np.random.default_rng(seed)) in near for seed in range(100))
    rng = np.random.default_rng(0)
    assert {space.mutate(g, rng) for _ in range(600)} == set(near)
