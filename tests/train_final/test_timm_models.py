"""Genotypes as timm models, and the parameter / FLOP counts reported for them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch
from torch import nn

from ptnas import spaces
from ptnas.spaces.cost import count_network
from ptnas.train_final.timm_models import model_name, register_genotype

from tests.train_final.conftest import GENOTYPE

NB201_REFERENCE = Path("../shared/data/nb201_zero_cost_reference.json")


def test_registered_genotype_builds_through_timm_create_model():
    name = register_genotype(model_name("nb201", GENOTYPE), "nb201", GENOTYPE)
    assert name in timm.list_models("ptnas_nb201_*")
    model = timm.create_model(name, num_classes=7, C=4, N=1)
    reference = spaces.get("nb201").network(spaces.get("nb201").parse(GENOTYPE), num_classes=7, C=4, N=1)
    assert [tuple(p.shape) for p in model.parameters()] == [tuple(p.shape) for p in reference.parameters()]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    with pytest.raises(ValueError, match="no pretrained weights"):
        timm.create_model(name, pretrained=True)


def test_reregistering_a_name_replaces_defaults_but_not_the_genotype():
    other = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    name = register_genotype("ptnas_test_clash", "nb201", GENOTYPE, C=4, N=1)
    assert register_genotype(name, "nb201", GENOTYPE, C=8, N=1) == name
    assert timm.create_model(name).stem[0].out_channels == 8  # the new default width
    with pytest.raises(ValueError, match="already registered"):
        register_genotype(name, "nb201", other)


def test_space_references_are_timm_models():
    model = timm.create_model("ptnas_nb201_best_cifar10", num_classes=10, C=4, N=1)
    assert str(model.genotype) == str(spaces.get("nb201").references()["nb201_best_cifar10"])


def test_flops_of_a_conv_and_a_linear_layer_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 10))
    mult_adds = 8 * 3 * 9 * 32 * 32 + 8 * 10  # conv and linear; BN, ReLU and pooling are not counted
    assert count_network(net, 32).macs == mult_adds
    assert count_network(net, 32).params == 8 * 27 + 8 + 2 * 8 + 8 * 10 + 10


def test_parameter_counts_match_nas_bench_201():
    if not NB201_REFERENCE.is_file():
        pytest.skip(f"{NB201_REFERENCE} not found (reference data lives next to the repository)")
    table = json.loads(NB201_REFERENCE.read_text())
    space = spaces.get("nb201")
    for arch in list(table)[:5]:
        model = timm.create_model(register_genotype(model_name("nb201", arch), "nb201", arch), num_classes=10)
        assert count_network(model, 32).params / 1e6 == pytest.approx(table[arch]["cifar10"]["params"], abs=1e-6), arch
        assert count_network(space.network(arch, num_classes=100), 32).params / 1e6 == pytest.approx(
            table[arch]["cifar100"]["params"], abs=1e-6)
