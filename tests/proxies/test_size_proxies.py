"""params and flops counted by hand, and checked against NAS-Bench-201's published parameter counts."""
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from ptnas import proxies, spaces

REFERENCE = Path("../shared/data/nb201_zero_cost_reference.json")


def test_params_and_flops_of_the_two_layer_network(two_layer, two_layer_batch):
    assert proxies.get("params")(two_layer, two_layer_batch) == 2 * 4 + 2 * 2
    # conv: 2·2 kernel · 1 in · 2 out at 1 position = 8 MACs; linear 2·2 = 4; per image.
    assert proxies.get("flops")(two_layer, two_layer_batch) == 8 + 4


def test_flops_convention_for_bias_pooling_and_groups():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2),   # 3·3·(2/2)·(4·4·4) + bias 4·4·4
                          nn.AvgPool2d(2),                          # 2·2 per output element, 4·2·2 outputs
                          nn.AdaptiveAvgPool2d(1),                  # one per input element: 4·2·2
                          nn.Flatten(), nn.Linear(4, 3))             # 4·3 + bias 3
    x = torch.zeros(5, 2, 4, 4)
    expected = 9 * 64 + 64 + 4 * 16 + 16 + 12 + 3
    assert proxies.get("flops")(model, (x, None)) == expected


def test_params_count_only_the_ops_a_perturbed_supernet_runs():
    torch.manual_seed(0)
    net = spaces.get("nb201").supernet(C=4, N=1)
    x = torch.zeros(1, 3, 8, 8)
    full = proxies.get("params")(net, (x, None))
    alphas = sum(a.numel() for a in net.arch_parameters())
    assert full == sum(p.numel() for p in net.parameters()) - alphas
    # Removing the 3x3 conv of edge 1<-0 removes it from each stage's cell (C = 4, 8, 16): 9·C² weights
    # and, as search cells have affine-free BN and so `bias=True` convs (NB201's rule), C biases.
    with net.perturb("1<-0", "nor_conv_3x3"):
        assert proxies.get("params")(net, (x, None)) == full - sum(9 * c * c + c for c in (4, 8, 16))


def test_params_equal_the_benchmarks_published_counts():
    if not REFERENCE.is_file():
        pytest.skip("../shared/data/nb201_zero_cost_reference.json is absent")
    reference = json.loads(REFERENCE.read_text())
    space = spaces.get("nb201")
    x = torch.zeros(1, 3, 32, 32)
    for arch in list(reference)[:5]:
        for dataset, classes in (("cifar10", 10), ("cifar100", 100)):
            net = space.network(arch, num_classes=classes, C=16, N=5)
            assert proxies.get("params")(net, (x, None)) == round(reference[arch][dataset]["params"] * 1e6)
