"""nwot and synflow against hand-computed values, their numerics, and the untouched-model contract."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ptnas import proxies
from ptnas.spaces.nb201 import NB201Genotype, NB201Network, NB201Supernet


def _two_layer(W1, W2, bn: bool = False) -> nn.Module:
    first = nn.Linear(2, 3, bias=False)
    last = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.tensor(W1, dtype=torch.float32))
        last.weight.copy_(torch.tensor(W2, dtype=torch.float32))
    middle = [nn.BatchNorm1d(3)] if bn else []
    return nn.Sequential(first, *middle, nn.ReLU(), last)


def test_nwot_is_logdet_of_the_hand_computed_code_agreement_kernel():
    net = _two_layer([[1, 0], [0, 1], [1, 1]], [[1, 1, 1]])
    x = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    # ReLU inputs W1·x: (1,1,2) (1,-1,0) (-1,1,0) (-1,-1,-2) → codes 111, 100, 010, 000.
    # K_ij = number of the 3 units on which samples i and j agree.
    K = np.array([[3, 1, 1, 0], [1, 3, 1, 2], [1, 1, 3, 2], [0, 2, 2, 3]], dtype=float)
    expected = np.linalg.slogdet(K)[1]
    assert proxies.get("nwot")(net, (x, torch.zeros(4, dtype=torch.long))) == pytest.approx(expected, abs=1e-12)


def test_synflow_of_a_bias_free_relu_net_is_depth_times_the_path_sum():
    # With |W| and an all-ones input every ReLU passes; for a bias-free net each layer's Σ θ·∂R/∂θ = R,
    # so synflow = 2R with R = 1ᵀ|W2||W1|1 = (1+2+3)·… computed by hand below.
    W1 = [[1.0, -2.0], [0.5, 0.0], [-1.0, 1.0]]   # |W1|·1 = (3, 0.5, 2)
    W2 = [[2.0, -1.0, 0.5]]                        # R = 2·3 + 1·0.5 + 0.5·2 = 7.5
    x = torch.randn(5, 2)
    assert proxies.get("synflow")(_two_layer(W1, W2), (x, None)) == pytest.approx(15.0, abs=1e-12)
    # BatchNorm is bypassed: the same net with a BN layer scores the same.
    assert proxies.get("synflow")(_two_layer(W1, W2, bn=True), (x, None)) == pytest.approx(15.0, abs=1e-12)


def test_synflow_stays_finite_on_the_full_size_networks():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    best = NB201Genotype.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    for model in (NB201Network(best), NB201Supernet()):
        value = proxies.get("synflow")(model, (x, None))
        assert math.isfinite(value) and value > 1e30  # far beyond float32's range of products


def _state(model: nn.Module):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [m.training for m in model.modules()],
            [p.requires_grad for p in model.parameters()],
            [None if p.grad is None else p.grad.clone() for p in model.parameters()])


def _assert_same(before, after):
    sd0, modes0, flags0, grads0 = before
    sd1, modes1, flags1, grads1 = after
    assert sd0.keys() == sd1.keys()
    for k in sd0:
        assert torch.equal(sd0[k], sd1[k]), k
    assert modes0 == modes1 and flags0 == flags1
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(grads0, grads1))


@pytest.mark.parametrize("name", ["nwot", "synflow"])
@pytest.mark.parametrize("bn_mode", ["train", "eval"])
def test_scoring_leaves_the_model_untouched(name, bn_mode, tiny_nb201, batch):
    tiny_nb201.eval()
    tiny_nb201.net.cells[0].train()          # mixed modes must come back as they were
    first = tiny_nb201.weight_parameters()[0]
    first.grad = torch.ones_like(first)      # an existing grad must survive
    tiny_nb201.alphas["1<-0"].requires_grad_(False)
    before = _state(tiny_nb201)
    with tiny_nb201.perturb("2<-1", "nor_conv_1x1"):
        proxies.get(name)(tiny_nb201, batch, bn_mode=bn_mode)
    _assert_same(before, _state(tiny_nb201))


def test_nan_scores_are_flagged_and_never_inf():
    net = _two_layer([[1, 0], [0, 1], [1, 1]], [[1, 1, 1]])
    x = torch.full((4, 2), float("nan"))
    with pytest.warns(RuntimeWarning, match="proxy nwot gave"):
        value = proxies.get("nwot")(net, (x, None))
    assert math.isnan(value)


def test_unknown_proxy_and_bn_mode_are_clear_errors(tiny_nb201, batch):
    with pytest.raises(ValueError, match="unknown proxy 'nwt'; choose from: .*nwot"):
        proxies.get("nwt")
    with pytest.raises(ValueError, match="unknown BN mode 'test'"):
        proxies.get("nwot")(tiny_nb201, batch, bn_mode="test")


def _nwot_float64_reference(model: nn.Module, x: torch.Tensor) -> float:
    """nwot as first written: K accumulated in float64, one (1 − c)(1 − c)ᵀ term per ReLU."""
    K = torch.zeros(x.shape[0], x.shape[0], dtype=torch.float64)

    def hook(module, inputs):
        c = (inputs[0].reshape(x.shape[0], -1) > 0).to(torch.float64)
        K.add_(c @ c.t() + (1 - c) @ (1 - c).t())

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return torch.linalg.slogdet(K)[1].item()


@pytest.mark.parametrize("n", [7, 16])
def test_nwot_integer_kernel_equals_the_float64_kernel(n):
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1).eval()
    x = torch.randn(n, 3, 32, 32)
    assert proxies.get("nwot")(net, (x, None), bn_mode="eval") == _nwot_float64_reference(net, x)


def test_nwot_counts_every_relu_of_a_shared_input_and_sees_in_place_changes():
    class Shared(nn.Module):
        """Three ReLUs read one tensor (as the ops of an edge do); it changes in place after the first."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.a, self.b, self.c = nn.ReLU(), nn.ReLU(), nn.ReLU()

        def forward(self, x):
            h = self.conv(x)
            first = self.a(h)
            h.add_(0.3)
            return first + self.b(h) + self.c(h)

    torch.manual_seed(0)
    net, x = Shared(), torch.randn(8, 3, 6, 6)
    assert proxies.get("nwot")(net, (x, None)) == _nwot_float64_reference(net, x)


@pytest.mark.parametrize("units", [1, 2, 15, 16, 100])
def test_nwot_gram_matrix_is_exact_at_every_width(units):
    from ptnas.proxies.nwot import gram

    c = (torch.randn(9, units, generator=torch.Generator().manual_seed(units)) > 0).view(torch.int8)
    assert torch.equal(gram(c).to(torch.int64), c.to(torch.int64) @ c.to(torch.int64).t())
