"""jacob_cov, nwot and synflow on the 2-layer network, computed by hand (numpy, closed forms)."""
import numpy as np
import pytest

from ptnas import proxies


def test_jacob_cov_from_the_closed_form_input_jacobian(two_layer, two_layer_batch, by_hand):
    h, _, _ = by_hand.forward()
    # ∂(Σ_c z_c)/∂x = W1ᵀ (1[h > 0] ⊙ W2ᵀ 1), one row per sample.
    rows = ((h > 0) * by_hand.w2.sum(0)) @ by_hand.w1
    lam = np.linalg.eigvalsh(np.corrcoef(rows))
    expected = -np.sum(np.log(lam + 1e-5) + 1 / (lam + 1e-5))
    assert proxies.get("jacob_cov")(two_layer, two_layer_batch) == pytest.approx(expected, rel=1e-9)


def test_jacob_cov_is_nan_when_a_jacobian_row_is_constant(two_layer, two_layer_batch):
    x, y = two_layer_batch
    x = x.clone()
    x[0] = 0.0  # both conv outputs of sample 0 are 0: ReLUs off, its Jacobian row is all zeros
    with pytest.warns(RuntimeWarning, match="jacob_cov"):
        assert np.isnan(proxies.get("jacob_cov")(two_layer, (x, y)))


def test_nwot_is_the_log_determinant_of_the_hamming_kernel(two_layer, two_layer_batch, by_hand):
    # The first three samples have ReLU codes 11, 10, 01: K = [[2,1,1],[1,2,0],[1,0,2]], det 4.
    h, _, _ = by_hand.forward()
    c = (h[:3] > 0).astype(float)
    k = c @ c.T + (1 - c) @ (1 - c).T
    assert np.linalg.det(k) == pytest.approx(4)
    x, y = two_layer_batch
    assert proxies.get("nwot")(two_layer, (x[:3], y[:3])) == pytest.approx(np.log(4), rel=1e-12)


def test_synflow_of_a_positive_linear_path_is_layers_times_the_output(two_layer, two_layer_batch, by_hand):
    # With |W| and an all-ones input every ReLU is active, R = 1ᵀ|W2||W1|1 is linear in each layer's
    # weights, so Σ θ·∂R/∂θ = R for each of the two layers (Euler) and synflow = 2R.
    r = np.abs(by_hand.w2).sum(0) @ np.abs(by_hand.w1) @ np.ones(4)
    assert proxies.get("synflow")(two_layer, two_layer_batch) == pytest.approx(2 * r, rel=1e-12)
