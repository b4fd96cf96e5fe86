"""TE-NAS: NTK condition number and linear regions on the 2-layer network, and the rank sum."""
import math

import numpy as np
import pytest
import torch

from ptnas import proxies
from ptnas.proxies.tenas import dense_ranks


def test_ntk_cond_from_the_closed_form_jacobian(two_layer, two_layer_batch, by_hand):
    # J_n = ∂(Σ_c z_nc)/∂(W1, W2): ∂/∂W2 has every row equal to a_n; ∂/∂W1 = (1[h>0] ⊙ W2ᵀ1) x_nᵀ.
    h, a, _ = by_hand.forward()
    d_w1 = ((h > 0) * by_hand.w2.sum(0))[:, :, None] * by_hand.x[:, None, :]
    d_w2 = np.repeat(a[:, None, :], 2, axis=1)
    jac = np.concatenate([d_w1.reshape(4, -1), d_w2.reshape(4, -1)], axis=1)
    lam = np.linalg.eigvalsh(jac @ jac.T)
    assert proxies.get("ntk_cond")(two_layer, two_layer_batch) == pytest.approx(lam[-1] / lam[0], rel=1e-9)


def test_ntk_cond_of_a_singular_ntk_is_flagged_nan(two_layer, two_layer_batch):
    x, y = two_layer_batch
    x = x.clone()
    x[1] = x[0]  # two equal samples: equal NTK rows, λ_min = 0
    with pytest.warns(RuntimeWarning, match="ntk_cond"):
        assert math.isnan(proxies.get("ntk_cond")(two_layer, (x, y)))


def test_linear_regions_counts_distinct_relu_patterns(two_layer, two_layer_batch):
    # Codes 11, 10, 01, 10: three distinct patterns among four samples.
    assert proxies.get("linear_regions")(two_layer, two_layer_batch) == 3.0
    x, y = two_layer_batch
    assert proxies.get("linear_regions")(two_layer, (x[:3], y[:3])) == 3.0
    assert proxies.get("linear_regions")(two_layer, (x[[1, 3]], y[[1, 3]])) == 1.0


def test_dense_ranks_share_ties_and_take_the_next_integer():
    assert dense_ranks([5.0, 1.0, 5.0, 3.0], higher_is_better=True) == [0, 2, 0, 1]
    assert dense_ranks([5.0, 1.0, 5.0, 3.0], higher_is_better=False) == [2, 0, 2, 1]


def test_tenas_sums_the_ntk_rank_ascending_and_the_regions_rank_descending():
    tenas = proxies.get("tenas")
    rows = [{"ntk_cond": 10.0, "linear_regions": 5.0},   # ntk rank 1, lr rank 1 -> 2
            {"ntk_cond": 2.0, "linear_regions": 4.0},    # ntk rank 0, lr rank 2 -> 2
            {"ntk_cond": 30.0, "linear_regions": 8.0},   # ntk rank 2, lr rank 0 -> 2
            {"ntk_cond": 2.0, "linear_regions": 8.0},    # ntk rank 0, lr rank 0 -> 0
            {"ntk_cond": math.nan, "linear_regions": 9.0}]  # a NaN part: NaN, left out of the ranking
    scores = tenas.combine(rows)
    assert scores[:4] == [2.0, 2.0, 2.0, 0.0] and math.isnan(scores[4])
    assert tenas.higher_is_better is False
    assert [p.name for p in tenas.parts] == ["ntk_cond", "linear_regions"]


def test_tenas_scores_a_population_of_models_not_one(two_layer, two_layer_batch):
    tenas = proxies.get("tenas")
    with pytest.raises(proxies.PopulationOnlyError, match="population"):
        tenas(two_layer, two_layer_batch)
    other = type(two_layer)().double()
    with torch.no_grad():
        other.fc.weight.mul_(3)
    parts = [tenas.measure(m, two_layer_batch) for m in (two_layer, other)]
    assert proxies.score_population(tenas, [two_layer, other], two_layer_batch) == tenas.combine(parts)
