"""ZiCo from the closed-form gradients of the 2-layer network's two sub-batches."""
import math

import numpy as np
import pytest
import torch

from ptnas import proxies
from conftest import ByHand, X, Y


def by_hand(parts):
    """Σ over layers of log Σ mean|g|/std(g) over the sub-batches' gradients (np.std: population)."""
    grads = [ByHand(x=X[s], y=Y[s]).grads()[:2] for s in parts]
    total = 0.0
    for layer in range(2):
        g = np.stack([gr[layer].reshape(-1) for gr in grads])
        std = g.std(axis=0)
        ratio = np.abs(g).mean(axis=0)[std > 0] / std[std > 0]
        total += math.log(ratio.sum())
    return total


def test_zico_of_two_sub_batches_by_hand(two_layer, two_layer_batch):
    want = by_hand([slice(0, 2), slice(2, 4)])
    assert proxies.get("zico")(two_layer, two_layer_batch) == pytest.approx(want, rel=1e-10)


def test_each_sub_batch_gradient_is_its_own_not_a_running_sum(two_layer, two_layer_batch):
    # The authors' code records g1 and g1 + g2 (no zero_grad between batches); ours must not.
    grads = [ByHand(x=X[s], y=Y[s]).grads()[:2] for s in (slice(0, 2), slice(2, 4))]
    accumulated = 0.0
    for layer in range(2):
        g = np.stack([grads[0][layer].reshape(-1), (grads[0][layer] + grads[1][layer]).reshape(-1)])
        std = g.std(axis=0)
        accumulated += math.log((np.abs(g).mean(axis=0)[std > 0] / std[std > 0]).sum())
    value = proxies.get("zico")(two_layer, two_layer_batch)
    assert value != pytest.approx(accumulated, rel=1e-6)
    for p in two_layer.parameters():
        assert p.grad is None  # no .grad left behind


def test_a_single_sample_has_no_variance_and_scores_nan(two_layer, two_layer_batch):
    x, y = two_layer_batch
    with pytest.warns(RuntimeWarning, match="zico"):
        assert math.isnan(proxies.get("zico")(two_layer, (x[:1], y[:1])))


def test_more_sub_batches_split_the_batch_in_order(two_layer, two_layer_batch):
    from ptnas.proxies.zico import zico
    assert zico(two_layer, two_layer_batch, batches=4) == pytest.approx(
        by_hand([slice(0, 1), slice(1, 2), slice(2, 3), slice(3, 4)]), rel=1e-10)
    assert torch.equal(two_layer_batch[0], torch.tensor(X))
