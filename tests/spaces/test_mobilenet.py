"""MobileNet (ProxylessNAS) space: layout, genotype text and JSON, published network sizes, supernet."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ptnas import spaces
from ptnas.ops.mobilenet import MBCONV_OPS, OPS
from ptnas.spaces.mobilenet import WIDTHS, MobileNetGenotype, block_specs, widths_for
from tests.conftest import differing_positions

SPACE = spaces.get("mobilenet")


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_layout_has_21_blocks_in_six_stages_with_zero_except_on_the_first_of_a_stage():
    specs = block_specs(WIDTHS)
    assert len(specs) == 21
    assert [s.C_out for s in specs] == [24] * 4 + [40] * 4 + [80] * 4 + [96] * 4 + [192] * 4 + [320]
    assert [i for i, s in enumerate(specs) if s.stride == 2] == [0, 4, 8, 16]
    first = [i for i, s in enumerate(specs) if s.first]
    assert first == [0, 4, 8, 12, 16, 20]
    assert first == [i for i, s in enumerate(specs) if s.stride != 1 or s.C_in != s.C_out]  # shape changes
    net = SPACE.supernet(C=8, layers=4)
    assert net.edges()[3] == "block03" and len(net.edges()) == 21
    with_zero = [e for e in net.edges() if "zero" in net.candidates(e)]
    assert len(with_zero) == 15  # every block but the first of each stage, also when widths are scaled
    assert "block00" not in with_zero and "block12" not in with_zero and "block20" not in with_zero
    assert len(net.candidates("block01")) == 7 and len(net.candidates("block00")) == 6


def test_layers_and_init_channels_scale_the_space():
    assert [len(SPACE.supernet(C=8, layers=n).edges()) for n in (1, 2, 3)] == [6, 11, 16]
    assert widths_for(32) == WIDTHS
    assert widths_for(8) == (8, 8, 8, 16, 24, 24, 48, 80, 1280)
    with pytest.raises(ValueError, match="layers .* must be in 1..4, got 5"):
        SPACE.supernet(layers=5)


@pytest.mark.parametrize("name, millions", [("proxylessnas_gpu", 7.1), ("proxylessnas_cpu", 4.4),
                                            ("proxylessnas_mobile", 4.1)])
def test_proxylessnas_networks_count_the_published_parameters(name, millions):
    """Cai et al., ProxylessNAS (ICLR 2019), Table 3: GPU 7.1 M, CPU 4.4 M, Mobile 4.1 M parameters."""
    net = SPACE.network(SPACE.references()[name], num_classes=1000, input_size=224)
    assert round(n_params(net) / 1e6, 1) == millions


def test_reference_networks_run_at_any_resolution():
    torch.manual_seed(0)
    net = SPACE.network(SPACE.references()["proxylessnas_mobile"], num_classes=1000, input_size=224).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 1000)


def test_genotype_round_trips_through_text_and_json():
    for g in SPACE.references().values():
        assert SPACE.parse(str(g)) == g
        assert SPACE.parse(json.dumps(g.to_json())) == g
    plain = MobileNetGenotype(("mb_k3_e6",) + ("zero",) * 3 + ("mb_k5_e3",) * 17)
    assert str(plain) == "mb_k3_e6,zero,zero,zero," + ",".join(["mb_k5_e3"] * 17)
    assert SPACE.parse(str(plain)) == plain and plain.widths is None and plain.layers == 4
    assert str(SPACE.references()["proxylessnas_gpu"]).endswith(";widths=40,24,32,56,112,128,256,432,1728")


@pytest.mark.parametrize("text, message", [
    ("zero," + ",".join(["mb_k3_e3"] * 20), "block 0 is the first of its stage"),
    (",".join(["mb_k3_e3"] * 20), "has 6, 11, 16, 21 blocks"),
    (",".join(["mb_k9_e3"] * 21), "unknown MobileNet op 'mb_k9_e3' at block 0"),
    (",".join(["mb_k3_e3"] * 21) + ";widths=1,2,3", "widths must be 9 positive integers"),
    (",".join(["mb_k3_e3"] * 21) + ";depth=4", "expected ';widths=W1,...,W9'"),
    ('{"blocks": "mb_k3_e3"}', '{"blocks": [op, ...]}'),
])
def test_malformed_genotypes_are_rejected_with_a_message(text, message):
    with pytest.raises(ValueError) as info:
        SPACE.parse(text)
    assert message in str(info.value)


def test_network_size_keywords():
    g = MobileNetGenotype(("mb_k3_e3",) * 6)  # layers=1
    net = SPACE.network(g, num_classes=10, C=8, layers=1)
    assert net.stem[0][0].out_channels == 8 and net.head[-1].in_features == 1280
    with pytest.raises(ValueError, match="not layers=4"):
        SPACE.network(g, **SPACE.search_size)
    with pytest.raises(ValueError, match="carries its own widths"):
        SPACE.network(SPACE.references()["proxylessnas_gpu"], C=32)


def test_a_decided_supernet_computes_its_standalone_network():
    """Same weights, same function: the supernet's decided path is the standalone network."""
    torch.manual_seed(0)
    sup = SPACE.supernet(C=8, layers=2, num_classes=10).eval()
    choice = ["mb_k7_e6", "zero", "mb_k3_e3", "zero", "mb_k5_e6", "mb_k3_e6", "mb_k5_e3",
              "zero", "mb_k3_e3", "zero", "mb_k7_e3"]  # stages of 2, 2, 2, 2, 2, 1 blocks
    for e, op in zip(sup.edges(), choice):
        sup.discretize(e, op)
    g = sup.genotype()
    assert g.blocks == tuple(choice)
    net = SPACE.network(g, num_classes=10, C=8, layers=2).eval()
    state = {}
    for k, v in sup.state_dict().items():
        if k.startswith("blocks."):
            _, i, _, _, op, rest = k.split(".", 5)  # blocks.<i>.mixed.ops.<op>.<rest>
            if op == choice[int(i)]:
                state[f"blocks.{i}.op.{rest}"] = v
        elif not k.startswith("alphas."):
            state[k] = v
    net.load_state_dict(state)  # strict: every standalone weight comes from the supernet
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(sup(x), net(x), atol=1e-6)


def test_zero_skips_the_block_in_the_supernet():
    torch.manual_seed(0)
    sup = SPACE.supernet(C=8, layers=2).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        inner = sup.stem(x)
        for e, _block in zip(sup.edges()[:2], sup.blocks[:2]):
            sup.discretize(e, "zero" if e == "block01" else "mb_k3_e3")
        h = sup.blocks[0](inner, sup.edge_weights()["block00"])
        assert torch.equal(sup.blocks[1](h, sup.edge_weights()["block01"]), h)


# ---- sample / mutate / neighbours (multi-trial strategies) ---------------------------------------
FIRST = [i for i, s in enumerate(block_specs(WIDTHS)) if s.first]  # 0, 4, 8, 12, 16, 20


def test_sampled_genotypes_round_trip_build_and_are_reproducible():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    g = SPACE.sample(rng, layers=1)
    assert len(g.blocks) == 6 and SPACE.parse(str(g)) == g
    assert SPACE.network(g, C=8, layers=1).eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    g = SPACE.sample(rng)
    assert len(g.blocks) == 21 and g.widths is None and SPACE.parse(str(g)) == g
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert [SPACE.sample(a) for _ in range(20)] == [SPACE.sample(b) for _ in range(20)]


def test_sample_never_puts_zero_on_the_first_block_of_a_stage():
    rng = np.random.default_rng(0)
    draws = [SPACE.sample(rng).blocks for _ in range(700)]
    assert not any(d[k] == "zero" for d in draws for k in FIRST)
    later = [d[k] for d in draws for k in range(21) if k not in FIRST]  # 15 blocks × 700 draws, 7 ops each
    assert {o: later.count(o) for o in OPS} == pytest.approx({o: 1500 for o in OPS}, abs=4 * (10500 * 6 / 49) ** 0.5)
    first = [d[k] for d in draws for k in FIRST]  # 6 blocks × 700 draws, 6 ops each
    assert {o: first.count(o) for o in MBCONV_OPS} == pytest.approx({o: 700 for o in MBCONV_OPS},
                                                                    abs=4 * (4200 * 5 / 36) ** 0.5)


def test_neighbours_change_one_block_to_another_allowed_op():
    """21 blocks: 6 stage-first blocks × 5 other MBConvs + 15 blocks × 6 other ops = 120."""
    rng = np.random.default_rng(1)
    genotypes = [SPACE.sample(rng) for _ in range(5)] + list(SPACE.references().values())
    for g in genotypes:
        near = SPACE.neighbours(g)
        assert len(near) == 6 * 5 + 15 * 6 == 120 and len(set(near)) == 120 and g not in near
        assert all(differing_positions(n.blocks, g.blocks) == 1 and n.widths == g.widths for n in near)
        assert not any(n.blocks[k] == "zero" for n in near for k in FIRST)
        assert near == SPACE.neighbours(str(g))
    small = SPACE.sample(rng, layers=2)  # stages of 2, 2, 2, 2, 2, 1 blocks: 6 first + 5 later blocks
    assert len(SPACE.neighbours(small)) == 6 * 5 + 5 * 6
    assert all(n.layers == 2 for n in SPACE.neighbours(small))


def test_mutate_returns_a_neighbour():
    g = SPACE.references()["proxylessnas_mobile"]
    near = SPACE.neighbours(g)
    assert all(SPACE.mutate(g, np.random.default_rng(seed)) in near for seed in range(100))
