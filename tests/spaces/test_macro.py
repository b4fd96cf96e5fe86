"""NAS-Bench-Macro space: layout, genotype key, the benchmark's parameter counts for all 6,561
architectures, the supernet's decided path and its perturbations."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from ptnas import proxies, spaces
from ptnas.ops import macro as ops
from ptnas.spaces.macro import STEM, MacroGenotype, MacroNetwork, layer_specs
from tests.conftest import differing_positions, shared_data

SPACE = spaces.get("macro")


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_layout_is_8_layers_in_stages_of_2_3_3_each_first_halving_resolution_and_doubling_width():
    specs = layer_specs()
    assert [(s.C_in, s.C_out, s.stride) for s in specs] == [
        (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 256, 2), (256, 256, 1),
        (256, 256, 1)]
    net = SPACE.supernet(C=4)
    assert net.edges() == [f"layer{k}" for k in range(8)]
    assert all(net.candidates(e) == ("identity", "mb_e3_k3", "mb_e6_k5") for e in net.edges())
    assert SPACE.ops == ops.OPS and STEM == 32


def test_standalone_network_is_the_benchmark_skeleton():
    net = SPACE.network("21002220")
    stem_conv, head_conv, classifier = net.stem[0], net.head[0], net.head[-1]
    assert (stem_conv.in_channels, stem_conv.out_channels, stem_conv.stride, stem_conv.kernel_size) == (3, 32, (1, 1), (3, 3))
    assert (head_conv.in_channels, head_conv.out_channels) == (256, 1280) and classifier.in_features == 1280
    assert all(m.eps == 1e-5 for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not any(isinstance(m, torch.nn.ReLU6) for m in net.modules())  # ReLU everywhere, not ReLU6
    # layer 2 is a stride-2 identity: the benchmark's 1×1 stride-2 conv + BN; layer 3 a true identity
    assert n_params(net.layers[2]) == 64 * 128 + 2 * 128 and n_params(net.layers[3]) == 0
    # mb_e3_k3 at layer 1 (64 -> 64): 1×1 to 192, 3×3 depthwise, 1×1 back, each with BN
    assert n_params(net.layers[1]) == 64 * 192 + 2 * 192 + 192 * 9 + 2 * 192 + 192 * 64 + 2 * 64
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_the_best_architecture_has_the_published_parameter_count():
    """NAS-Bench-Macro's best CIFAR-10 architecture 22212220 has 1,985,514 parameters (Su et al. 2021)."""
    assert SPACE.references()["macro_best"] == SPACE.parse("22212220")
    assert n_params(SPACE.network("22212220")) == 1_985_514


def test_every_architecture_has_the_benchmarks_parameter_count():
    """All 6,561 archs: stem + head + each layer's module, every part counted from the real modules
    (each distinct (layer, op) module is built once); two whole networks check that sum."""
    table = json.loads(shared_data("nas_bench_macro_cifar10.json").read_text())
    assert len(table) == 3 ** 8
    whole = MacroNetwork(MacroGenotype(("identity",) * 8))
    fixed = n_params(whole.stem) + n_params(whole.head)
    layer = [{op: n_params(ops.build(op, *spec)) for op in ops.OPS} for spec in layer_specs()]
    wrong = {key: row["params"] for key, row in table.items()
             if fixed + sum(layer[k][ops.OPS[int(d)]] for k, d in enumerate(key)) != row["params"]}
    assert not wrong, f"{len(wrong)} archs differ, e.g. {next(iter(wrong.items()))}"
    for key in ("02012100", "12021102"):
        assert n_params(SPACE.network(key)) == table[key]["params"]


def test_keys_with_identity_at_a_stride_2_layer_are_in_the_benchmark():
    table = json.loads(shared_data("nas_bench_macro_cifar10.json").read_text())
    for k in (0, 2, 5):  # the three stride-2 layers
        assert sum(key[k] == "0" for key in table) == 3 ** 7
    assert set("".join(table)) == set("012")


def test_genotype_text_is_the_benchmark_key_and_round_trips():
    for key in ("22212220", "00000000", "01201201"):
        g = SPACE.parse(key)
        assert str(g) == key and SPACE.parse(str(g)) == g
    g = SPACE.parse(" 10000002\n")
    assert g.layers == ("mb_e3_k3",) + ("identity",) * 6 + ("mb_e6_k5",)
    assert SPACE.network(g).genotype == g and SPACE.network("10000002").genotype == g


@pytest.mark.parametrize("text, message", [
    ("2221222", "8-character key"),
    ("222122200", "got '222122200' (9 characters)"),
    ("22212a20", "character 5 is 'a'"),
    ("2221232-", "character 5 is '3'"),
    ("", "8-character key"),
])
def test_malformed_keys_are_rejected_with_a_message(text, message):
    with pytest.raises(ValueError) as info:
        SPACE.parse(text)
    assert message in str(info.value)


def test_bad_genotypes_and_sizes_are_rejected():
    with pytest.raises(ValueError, match="has 8 layers, got 7"):
        MacroGenotype(("identity",) * 7)
    with pytest.raises(ValueError, match="unknown NAS-Bench-Macro op 'skip' at layer 0"):
        MacroGenotype(("skip",) + ("identity",) * 7)
    with pytest.raises(ValueError, match="positive integer"):
        SPACE.supernet(C=0)


def test_every_key_is_a_distinct_genotype():
    keys = ["".join(p) for p in itertools.product("012", repeat=8)]
    assert len({SPACE.parse(k) for k in keys}) == 6561


def transplant(sup, net, choice) -> None:
    """Load the decided supernet's weights into the standalone network (strict: every weight used)."""
    state = {}
    for k, v in sup.state_dict().items():
        if k.startswith("blocks."):
            _, i, _, _, op, rest = k.split(".", 5)  # blocks.<i>.mixed.ops.<op>.<rest>
            if op == choice[int(i)]:
                state[f"layers.{i}.{rest}"] = v
        elif not k.startswith("alphas."):
            state[k] = v
    net.load_state_dict(state)


def test_a_decided_supernet_computes_its_standalone_network():
    """Same weights, same function: each op carries its own shortcut, so a decided layer is the layer."""
    torch.manual_seed(0)
    sup = SPACE.supernet(C=4).eval()
    choice = ["identity", "mb_e6_k5", "mb_e3_k3", "identity", "mb_e6_k5", "identity", "mb_e3_k3", "mb_e6_k5"]
    for e, op in zip(sup.edges(), choice):
        sup.discretize(e, op)
    g = sup.genotype()
    assert str(g) == "02102012"
    net = SPACE.network(g, C=4).eval()
    transplant(sup, net, choice)
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(sup(x), net(x), atol=1e-6)


def test_perturb_restores_the_supernet_bit_for_bit_and_removes_the_op_from_the_sum():
    torch.manual_seed(0)
    sup = SPACE.supernet(C=4).eval()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        before = sup(x)
        layer = sup.blocks[3]
        h = sup.blocks[2](sup.blocks[1](sup.blocks[0](sup.stem(x), sup.edge_weights()["layer0"]),
                                        sup.edge_weights()["layer1"]), sup.edge_weights()["layer2"])
        w = dict(sup.edge_weights()["layer3"])
        with sup.perturb("layer3", "identity"):
            assert sup.candidates("layer3") == ("mb_e3_k3", "mb_e6_k5")
            expected = sum(w[o] * layer.mixed.ops[o](h) for o in ("mb_e3_k3", "mb_e6_k5"))
            assert torch.allclose(layer(h, sup.edge_weights()["layer3"]), expected, atol=1e-6)
            assert not torch.equal(sup(x), before)
        assert sup.candidates("layer3") == ops.OPS
        assert torch.equal(sup(x), before)


def test_cached_perturbation_scores_equal_uncached_ones():
    """nwot of A − (e, o) for every (e, o), with and without the prefix cache: the same floats."""
    scores = []
    for cache in (True, False):
        torch.manual_seed(0)
        sup = SPACE.supernet(C=4, prefix_cache=cache)
        x = torch.randn(8, 3, 16, 16)
        row = []
        for e in sup.edges():
            for o in sup.candidates(e):
                with sup.perturb(e, o):
                    row.append(proxies.get("nwot")(sup, (x, None), bn_mode="eval"))
        scores.append(row)
        if cache:
            assert sup.prefix_cache.stages_reused > 0
    assert scores[0] == scores[1] and len(set(scores[1])) > 1


# ---- sample / mutate / neighbours (multi-trial strategies) ---------------------------------------
def test_sampled_genotypes_round_trip_build_and_are_reproducible():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    for _ in range(2):
        g = SPACE.sample(rng)
        assert SPACE.parse(str(g)) == g
        assert SPACE.network(g, C=8).eval()(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert [SPACE.sample(a) for _ in range(20)] == [SPACE.sample(b) for _ in range(20)]


def test_sample_draws_every_op_in_every_layer():
    rng = np.random.default_rng(0)
    keys = [str(SPACE.sample(rng)) for _ in range(600)]
    for k in range(8):
        counts = [sum(key[k] == d for key in keys) for d in "012"]
        assert all(abs(c - 200) < 4 * (600 * 2 / 9) ** 0.5 for c in counts), (k, counts)  # ±4σ around 1/3


def test_neighbours_are_the_16_keys_with_one_layer_changed():
    rng = np.random.default_rng(1)
    for g in [SPACE.parse("22212220"), SPACE.parse("00000000")] + [SPACE.sample(rng) for _ in range(10)]:
        near = SPACE.neighbours(g)
        assert len(near) == 16 and len(set(near)) == 16 and g not in near
        assert all(differing_positions(str(n), str(g)) == 1 for n in near)
        assert near == SPACE.neighbours(str(g))
    brute = {SPACE.parse("".join(p)) for p in itertools.product("012", repeat=8)
             if differing_positions(p, "22212220") == 1}
    assert set(SPACE.neighbours("22212220")) == brute
    assert [str(n) for n in SPACE.neighbours("22212220")[:3]] == ["02212220", "12212220", "20212220"]


def test_mutate_returns_a_neighbour():
    g = SPACE.parse("22212220")
    near = SPACE.neighbours(g)
    assert all(SPACE.mutate(g, np.random.default_rng(seed)) in near for seed in range(100))
    rng = np.random.default_rng(0)
    assert {SPACE.mutate(g, rng) for _ in range(400)} == set(near)
