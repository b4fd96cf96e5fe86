"""MeCo: Σ over layers of λ_min of one sample's channel correlation, by hand on a 1×1-conv network."""
import numpy as np
import pytest
import torch
from torch import nn

from ptnas import proxies
from ptnas.proxies.meco import channel_correlation

W = np.array([[1.0, -0.5], [0.25, 2.0], [-1.0, 1.5]])  # 1×1 conv, 2 → 3 channels
X = np.array([[[[1.0, -2.0], [0.5, 3.0]], [[2.0, 1.0], [-1.0, 0.5]]],
              [[[0.0, 1.0], [2.0, -1.0]], [[1.0, 1.0], [0.0, 2.0]]]])  # 2 samples, 2 channels, 2×2


def conv_relu():
    conv = nn.Conv2d(2, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(W).reshape(3, 2, 1, 1))
    return nn.Sequential(conv, nn.ReLU()).double()


def lam_min(f: np.ndarray) -> float:
    """λ_min of np.corrcoef of the channels, NaN entries (constant channels) set to 0."""
    corr = np.nan_to_num(np.corrcoef(f.reshape(f.shape[0], -1)), nan=0.0)
    return np.linalg.eigvalsh(corr)[0]


def test_meco_is_the_sum_of_each_layers_min_eigenvalue_for_the_first_sample():
    h = np.einsum("ci,ihw->chw", W, X[0])   # conv output of sample 0: 3 channels × 4 positions
    a = np.maximum(h, 0)                     # ReLU output
    with np.errstate(invalid="ignore", divide="ignore"):
        want = lam_min(h) + lam_min(a)
    batch = (torch.tensor(X), torch.tensor([0, 1]))
    assert proxies.get("meco")(conv_relu(), batch) == pytest.approx(want, abs=1e-12)
    # the conv's 3 channels mix 2 inputs (λ_min = 0); the ReLU breaks the linear dependence
    assert lam_min(h) == pytest.approx(0.0, abs=1e-12) and 0.1 < want < 1


def test_only_the_first_sample_is_read_and_channel_scales_do_not_matter():
    model, batch = conv_relu(), (torch.tensor(X), torch.tensor([0, 1]))
    value = proxies.get("meco")(model, batch)
    other = torch.tensor(X).clone()
    other[1] = 5 * other[1] + 1
    assert proxies.get("meco")(model, (other, batch[1])) == pytest.approx(value, abs=1e-12)
    with torch.no_grad():
        model[0].weight[1] *= 7.0  # a positive scale of one channel: same correlations
    assert proxies.get("meco")(model, batch) == pytest.approx(value, abs=1e-12)


def test_a_dead_channel_makes_its_layers_eigenvalue_zero():
    f = torch.tensor([[1.0, 2.0, 3.0, 5.0], [0.0, 0.0, 0.0, 0.0], [2.0, -1.0, 0.0, 1.0]]).reshape(3, 2, 2)
    corr = channel_correlation(f)
    assert corr[1].abs().sum() == 0 and corr[:, 1].abs().sum() == 0
    assert torch.linalg.eigvalsh(corr)[0].item() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(corr[[0, 2]][:, [0, 2]].numpy(), np.corrcoef(f[[0, 2]].reshape(2, -1).numpy()),
                               atol=1e-12)
