"""AZ-NAS: the four parts on the 2-layer network by hand (stages: the conv and the ReLU), and the
log-rank-sum combination over a population."""
import math

import numpy as np
import pytest
import torch

from ptnas import proxies, spaces
from ptnas.proxies.az_nas import SEED, SIGMA_EPS, stages
from conftest import tiny_batch

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def entropy(f: np.ndarray) -> float:
    """Eigen-entropy of the channel covariance of (observations, channels) features."""
    f = f - f.mean(0)
    lam = np.clip(np.linalg.eigvalsh(f.T @ f / len(f)), 0, None)
    p = lam / lam.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def test_expressivity_and_progressivity_by_hand(two_layer, two_layer_batch, by_hand):
    assert stages(two_layer) == [two_layer.conv, two_layer.relu, two_layer.fc]  # fc's 2-D output is no feature
    h, a, _ = by_hand.forward()  # conv and ReLU outputs, (4 samples × 1 × 1 positions, 2 channels)
    assert proxies.get("az_expressivity")(two_layer, two_layer_batch) == pytest.approx(entropy(h) + entropy(a), rel=1e-10)
    assert proxies.get("az_progressivity")(two_layer, two_layer_batch) == pytest.approx(entropy(a) - entropy(h), rel=1e-9)


def test_trainability_by_hand(two_layer, two_layer_batch, by_hand):
    h, _, _ = by_hand.forward()
    g = torch.Generator().manual_seed(SEED)  # the proxy's one draw: a Rademacher gradient at the ReLU output
    g_out = (torch.randint(0, 2, (4, 2, 1, 1), generator=g).double() * 2 - 1).reshape(4, 2).numpy()
    g_in = g_out * (h > 0)  # backpropagated through the ReLU to the conv output
    sigma = np.linalg.svd(g_in.T @ g_out / 4, compute_uv=False).max()
    want = 2 - sigma - 1 / (sigma + SIGMA_EPS)
    assert proxies.get("az_trainability")(two_layer, two_layer_batch) == pytest.approx(want, rel=1e-10)
    assert want < 0  # 2 − σ − 1/σ is at most 0 (at σ = 1), up to the ε


def test_complexity_is_the_flops_proxy_and_nb201_stages_are_stem_and_cells():
    torch.manual_seed(0)
    model = spaces.get("nb201").network(BEST, C=4, N=1)
    batch = tiny_batch()
    assert proxies.get("az_complexity")(model, batch) == proxies.get("flops")(model, batch)
    assert stages(model) == [model.stem, *model.cells]
    net = spaces.get("nb201").supernet(C=4, N=1)
    assert stages(net) == [net.net.stem, *net.net.cells]


def test_az_nas_sums_the_log_ranks_of_its_four_parts():
    az = proxies.get("az_nas")
    assert [p.name for p in az.parts] == ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    rows = [{"az_expressivity": 3.0, "az_progressivity": 0.1, "az_trainability": -1.0, "az_complexity": 10.0},
            {"az_expressivity": 1.0, "az_progressivity": 0.1, "az_trainability": -0.5, "az_complexity": 30.0},
            {"az_expressivity": 2.0, "az_progressivity": 0.3, "az_trainability": -2.0, "az_complexity": 20.0},
            {"az_expressivity": math.nan, "az_progressivity": 0.3, "az_trainability": -2.0, "az_complexity": 20.0}]
    # ranks among the 3 finite members (N = best = 3; the tie in progressivity shares rank 1.5)
    want = [math.log(3 / 3) + math.log(1.5 / 3) + math.log(2 / 3) + math.log(1 / 3),
            math.log(1 / 3) + math.log(1.5 / 3) + math.log(3 / 3) + math.log(3 / 3),
            math.log(2 / 3) + math.log(3 / 3) + math.log(1 / 3) + math.log(2 / 3)]
    scores = az.combine(rows)
    assert scores[:3] == pytest.approx(want) and math.isnan(scores[3])
    assert az.higher_is_better


def test_az_nas_ranks_a_population_of_models(two_layer, two_layer_batch):
    az = proxies.get("az_nas")
    with pytest.raises(proxies.PopulationOnlyError):
        az(two_layer, two_layer_batch)
    torch.manual_seed(0)
    models = [spaces.get("nb201").network(g, C=4, N=1) for g in (
        BEST, "|nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
        "|skip_connect~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|skip_connect~2|")]
    batch = tiny_batch()
    parts = [az.measure(m, batch) for m in models]
    scores = proxies.score_population(az, models, batch)
    assert scores == az.combine(parts) and len(set(scores)) == 3
    assert all(math.isfinite(v) for p in parts for v in p.values())


def test_an_identity_stage_scores_as_badly_as_a_blocking_one():
    from torch import nn
    from ptnas.proxies.az_nas import IDENTITY

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Identity(), nn.ReLU())
    x = torch.randn(4, 3, 6, 6)
    value = proxies.get("az_trainability")(model, (x, None))
    conv_out = model[0](x)
    g = torch.Generator().manual_seed(SEED)
    g_relu = torch.randint(0, 2, conv_out.shape, generator=g).double() * 2 - 1  # ReLU ← Identity, drawn first
    g_in = (g_relu * (conv_out > 0)).reshape(4, 4, 36).permute(0, 2, 1).reshape(-1, 4)
    g_out = g_relu.reshape(4, 4, 36).permute(0, 2, 1).reshape(-1, 4)
    sigma = np.linalg.svd(g_in.T.numpy() @ g_out.numpy() / len(g_out), compute_uv=False).max()
    assert value == pytest.approx((2 - sigma - 1 / (sigma + SIGMA_EPS) + IDENTITY) / 2, rel=1e-9)
