"""grad_norm, snip, grasp and fisher on the 2-layer network against the gradients written out by hand."""
import numpy as np
import pytest

from ptnas import proxies


def test_grad_norm_is_the_sum_of_per_layer_gradient_norms(two_layer, two_layer_batch, by_hand):
    dw1, dw2, _, _ = by_hand.grads()
    expected = np.linalg.norm(dw1) + np.linalg.norm(dw2)
    assert proxies.get("grad_norm")(two_layer, two_layer_batch) == pytest.approx(expected, rel=1e-12)


def test_snip_is_the_sum_of_abs_weight_times_gradient(two_layer, two_layer_batch, by_hand):
    dw1, dw2, _, _ = by_hand.grads()
    expected = np.abs(by_hand.w1 * dw1).sum() + np.abs(by_hand.w2 * dw2).sum()
    assert proxies.get("snip")(two_layer, two_layer_batch) == pytest.approx(expected, rel=1e-12)


def test_grasp_is_minus_weight_times_hessian_gradient_product(two_layer, two_layer_batch, by_hand):
    # H g by central finite differences of the hand-written gradient along g (independent of autograd).
    dw1, dw2, _, _ = by_hand.grads()
    eps = 1e-6
    p1, p2, _, _ = by_hand.grads(by_hand.w1 + eps * dw1, by_hand.w2 + eps * dw2)
    m1, m2, _, _ = by_hand.grads(by_hand.w1 - eps * dw1, by_hand.w2 - eps * dw2)
    hg1, hg2 = (p1 - m1) / (2 * eps), (p2 - m2) / (2 * eps)
    expected = -(by_hand.w1 * hg1).sum() - (by_hand.w2 * hg2).sum()
    assert expected != pytest.approx(0, abs=1e-6)
    assert proxies.get("grasp")(two_layer, two_layer_batch) == pytest.approx(expected, rel=1e-6)


def test_fisher_sums_half_mean_square_of_activation_times_gradient(two_layer, two_layer_batch, by_hand):
    h, _, z = by_hand.forward()
    _, _, dh, dz = by_hand.grads()
    # Every layer's output here has a 1×1 (conv) or no (linear) spatial extent: g_nk = a_nk · ∂L/∂a_nk.
    expected = (0.5 * ((h * dh) ** 2).mean(0)).sum() + (0.5 * ((z * dz) ** 2).mean(0)).sum()
    assert proxies.get("fisher")(two_layer, two_layer_batch) == pytest.approx(expected, rel=1e-12)


def test_fisher_sums_over_the_spatial_positions_of_a_channel():
    import torch
    from torch import nn

    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 1, bias=False).double()
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(4, 2, bias=False).double())
    x = torch.randn(3, 1, 2, 2, dtype=torch.float64)
    y = torch.tensor([0, 1, 1])
    a = conv(x)
    loss = nn.functional.cross_entropy(model[2](model[1](a)), y)
    (g,) = torch.autograd.grad(loss, a)
    z = model(x)
    (gz,) = torch.autograd.grad(nn.functional.cross_entropy(z, y), z)
    g_nk = (a * g).sum((2, 3))
    expected = (0.5 * g_nk.pow(2).mean(0)).sum() + (0.5 * (z * gz).pow(2).mean(0)).sum()
    assert proxies.get("fisher")(model, (x, y)) == pytest.approx(expected.item(), rel=1e-12)
