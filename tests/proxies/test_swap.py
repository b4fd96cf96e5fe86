"""SWAP: distinct sample-wise activation patterns (by hand, and against numpy past one packed word),
and the regularised score's parameter factor."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from ptnas import proxies, spaces
from ptnas.proxies.swap import MU, SIGMA, regular_factor
from conftest import tiny_batch

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_the_two_layer_network_has_two_unit_patterns(two_layer, two_layer_batch):
    # ReLU codes per sample 11, 10, 01, 10: unit 0 has the pattern 1101 over the samples, unit 1 has 1010.
    assert proxies.get("swap")(two_layer, two_layer_batch) == 2.0


def test_equal_and_complementary_units_by_hand():
    # 1×1 conv with weights 1, 2, −1 over 2 positions: channels 0 and 1 repeat each other's patterns,
    # channel 2 has their complements. Position patterns over 3 samples: 101 and 011 → {101, 011, 010, 100}.
    conv = nn.Conv2d(1, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 2.0, -1.0]).reshape(3, 1, 1, 1))
    x = torch.tensor([[1.0, -1.0], [-2.0, 3.0], [0.5, 0.25]]).reshape(3, 1, 1, 2)
    assert proxies.get("swap")(nn.Sequential(conv, nn.ReLU()), (x, None)) == 4.0


def test_patterns_longer_than_one_packed_word_are_counted_exactly():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, padding=1), nn.ReLU())
    x = torch.randn(70, 3, 5, 5)  # 70 samples: two words per pattern
    x[40:] = x[:30]  # many repeated samples, so some units share patterns
    with torch.no_grad():
        h1 = model[1](model[0](x))
        h2 = model[3](model[2](h1))
    codes = torch.cat([h1.reshape(70, -1), h2.reshape(70, -1)], 1).t().numpy() > 0
    want = len(np.unique(codes, axis=0))
    assert proxies.get("swap")(model, (x, None)) == want
    assert want < codes.shape[0]  # duplicates exist, so a wrong packing would show


def test_swap_reg_is_swap_times_the_parameter_factor():
    torch.manual_seed(0)
    model = spaces.get("nb201").network(BEST, C=4, N=1)
    batch = tiny_batch()
    thousands = proxies.get("params")(model, batch) / 1e3
    want = proxies.get("swap")(model, batch) * math.exp(-((thousands - MU) ** 2) / SIGMA)
    assert proxies.get("swap_reg")(model, batch) == pytest.approx(want, rel=1e-12)
    assert regular_factor(MU) == 1.0 and regular_factor(MU + 1000.0) == pytest.approx(math.exp(-1.0))
    assert regular_factor(100.0) < regular_factor(1000.0) < 1.0  # larger NB201 networks are favoured


def test_distinct_counts_whole_patterns_not_words():
    from ptnas.proxies.swap import distinct

    # Each word alone takes two values, but the rows (1, 2), (2, 1), (1, 1), (2, 2) are four patterns.
    rows = torch.tensor([[1, 2], [2, 1], [1, 2], [1, 1], [2, 2]])
    assert distinct([rows[:2], rows[2:]]) == 4.0
    g = torch.Generator().manual_seed(0)
    for words, high in ((1, 5), (2, 3), (3, 2), (2, 2**62)):
        rows = torch.randint(0, high, (3000, words), generator=g)
        assert distinct([rows[:1000], rows[1000:]]) == len(np.unique(rows.numpy(), axis=0))
