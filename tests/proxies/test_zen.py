"""Zen-score by hand: the same generator draws, the formula of Lin et al. (ICCV 2021) written out."""
import math

import pytest
import torch
from torch import nn

from ptnas import proxies
from ptnas.proxies.zen import REPEATS, SEED


def test_zen_on_the_two_layer_network_matches_the_formula(two_layer, two_layer_batch):
    # No BN and no pooling: f = the logits, score = mean over repeats of log E_n Σ|f(x) − f(x + 0.01ε)|.
    x0 = two_layer_batch[0]
    g = torch.Generator().manual_seed(SEED)
    expected = []
    for _ in range(REPEATS):
        w1 = torch.randn(2, 1, 2, 2, generator=g, dtype=torch.float64)  # conv first, then linear (module order)
        w2 = torch.randn(2, 2, generator=g, dtype=torch.float64)
        x = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        f = lambda v: torch.relu(v.reshape(len(v), 4) @ w1.reshape(2, 4).T) @ w2.T  # noqa: E731
        expected.append(math.log((f(x) - f(x + 0.01 * eps)).abs().sum(1).mean().item()))
    value = proxies.get("zen")(two_layer, two_layer_batch)
    assert value == pytest.approx(sum(expected) / len(expected), rel=1e-10)


def test_zen_adds_the_log_std_of_every_bn_input_and_reads_pre_pooling_features():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3)).double()
    x0 = torch.zeros(4, 3, 2, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(SEED)
    expected = []
    for _ in range(REPEATS):
        w = torch.randn(2, 3, 1, 1, generator=g, dtype=torch.float64)
        torch.randn(3, 2, generator=g, dtype=torch.float64)  # the linear layer's draw (after pooling: unused)
        x = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)

        def pre_pool(v):
            h = nn.functional.conv2d(v, w)
            mu, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
            return torch.relu((h - mu) / torch.sqrt(var + 1e-5)), h

        f, h = pre_pool(x)
        f2, _ = pre_pool(x + 0.01 * eps)
        log_sigma = 0.5 * math.log(h.transpose(0, 1).flatten(1).var(1, unbiased=True).mean().item())
        expected.append(math.log((f - f2).abs().flatten(1).sum(1).mean().item()) + log_sigma)
    assert proxies.get("zen")(model, (x0, None)) == pytest.approx(sum(expected) / len(expected), rel=1e-9)


def test_zen_ignores_the_models_weights_and_images_and_is_deterministic(two_layer, two_layer_batch):
    other = type(two_layer)().double()
    with torch.no_grad():
        other.conv.weight.mul_(-3)
    x, y = two_layer_batch
    a = proxies.get("zen")(two_layer, (x, y))
    assert proxies.get("zen")(other, (x + 5, y)) == a
    assert proxies.get("zen")(two_layer, (x, y)) == a


def test_zen_skips_a_bn_fed_only_zeros_and_flags_a_network_cut_off_from_its_input():
    import warnings

    from ptnas import spaces

    torch.manual_seed(0)
    space = spaces.get("nb201")
    x = torch.zeros(8, 3, 8, 8)
    # Node 1 is `none`, so the 3x3 conv on edge 2<-1 (and its BN) sees only zeros: still a finite score.
    dead_branch = space.network("|none~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",
                                C=4, N=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(proxies.get("zen")(dead_branch, (x, None)))
    cut_off = space.network("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", C=4, N=1)
    with pytest.warns(RuntimeWarning, match="zen"):
        assert math.isnan(proxies.get("zen")(cut_off, (x, None)))
