"""What every registered proxy promises: the model comes back bit-identical, metadata is complete,
NaN/inf become a flagged NaN, and population proxies combine per-model parts."""
import math

import pytest
import torch
from torch import nn

from ptnas import proxies, spaces
from conftest import tiny_batch

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "flags": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
    }


def assert_identical(before: dict, after: dict) -> None:
    assert before["state"].keys() == after["state"].keys()
    for k in before["state"]:
        assert torch.equal(before["state"][k], after["state"][k]), k
    assert before["modes"] == after["modes"]
    assert before["flags"] == after["flags"]
    for a, b in zip(before["grads"], after["grads"]):
        assert (a is None and b is None) or torch.equal(a, b)


def prepare(model: nn.Module) -> nn.Module:
    """Unusual but legal state: mixed train/eval modes, a frozen layer, stale grads, used BN stats."""
    with torch.no_grad():
        model.train()(tiny_batch(4, seed=3)[0])  # running stats away from their initial values
    params = list(model.parameters())
    params[0].requires_grad_(False)
    params[1].grad = torch.full_like(params[1], 0.5)
    next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d)).eval()
    return model


ALL = proxies.names()


def test_every_proxy_has_complete_metadata():
    for name in ALL:
        p = proxies.get(name)
        assert p.name == name
        assert isinstance(p.higher_is_better, bool) and p.passes
        assert p.dtype in (torch.float32, torch.float64)
    expected = {"nwot", "synflow", "grad_norm", "snip", "grasp", "fisher", "jacob_cov", "zen", "ntk_cond",
                "linear_regions", "tenas", "params", "flops", "vote", "meco", "swap", "swap_reg", "zico",
                "az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "az_nas"}
    assert expected <= set(ALL)
    assert not proxies.get("ntk_cond").higher_is_better and not proxies.get("tenas").higher_is_better


@pytest.mark.parametrize("name", ALL)
def test_proxy_leaves_a_standalone_network_bit_identical(name):
    torch.manual_seed(0)
    model = prepare(spaces.get("nb201").network(BEST, C=4, N=1))
    before = snapshot(model)
    parts = proxies.get(name).measure(model, tiny_batch())
    assert all(math.isfinite(v) for v in parts.values()), parts
    assert_identical(before, snapshot(model))


@pytest.mark.parametrize("name", ALL)
def test_proxy_leaves_a_perturbed_supernet_bit_identical(name):
    torch.manual_seed(0)
    net = prepare(spaces.get("nb201").supernet(C=4, N=1))
    net.discretize("2<-0", "nor_conv_1x1")
    decisions = net.decisions()
    before = snapshot(net)
    with net.perturb("1<-0", "nor_conv_3x3"):
        parts = proxies.get(name).measure(net, tiny_batch())
    assert all(math.isfinite(v) for v in parts.values()), parts
    assert_identical(before, snapshot(net))
    assert net.decisions() == decisions and net.candidates("1<-0") == net.ops("1<-0")


class NaNNet(nn.Module):
    """A conv + linear network whose output is NaN."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1)) * math.nan


# params, flops, linear_regions, nwot and swap never read output values; zen, meco and AZ-NAS's parts read
# feature maps (AZ-NAS's trainability backpropagates from them, not from the output).
FEATURE_ONLY = ("params", "flops", "linear_regions", "nwot", "zen", "meco", "swap", "swap_reg", "az_expressivity",
                "az_progressivity", "az_trainability", "az_complexity", "az_nas")


@pytest.mark.parametrize("name", [n for n in ALL if n not in FEATURE_ONLY])
def test_a_nan_network_scores_a_flagged_nan(name):
    """Scores that read the output become NaN with a warning naming the proxy (never inf, never best)."""
    torch.manual_seed(0)
    proxy = proxies.get(name)
    with pytest.warns(RuntimeWarning, match=proxy.parts[0].name):
        parts = proxy.measure(NaNNet(), tiny_batch(4))
    assert any(math.isnan(v) for v in parts.values())
    if proxy.population:
        assert math.isnan(proxy.combine([parts])[0])


def test_infinite_values_become_nan_with_a_warning():
    proxy = proxies.Proxy("inf", lambda m, b: math.inf)
    with pytest.warns(RuntimeWarning, match="proxy inf gave inf on Linear"):
        assert math.isnan(proxy(nn.Linear(2, 2), tiny_batch(2)))


def test_a_proxy_that_raises_still_restores_the_model():
    model = prepare(spaces.get("nb201").network(BEST, C=4, N=1))
    before = snapshot(model)

    def broken(m, batch):
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        proxies.Proxy("broken", broken)(model, tiny_batch(2))
    assert_identical(before, snapshot(model))


def test_score_population_equals_plain_scores_for_per_model_proxies():
    torch.manual_seed(0)
    models = [spaces.get("nb201").network(BEST, C=4, N=1) for _ in range(2)]
    batch = tiny_batch()
    synflow = proxies.get("synflow")
    assert proxies.score_population(synflow, models, batch) == [synflow(m, batch) for m in models]


def test_unknown_proxy_lists_the_valid_names():
    with pytest.raises(ValueError, match="choose from: .*tenas.*vote"):
        proxies.get("nope")


def test_a_proxy_with_an_unknown_bn_policy_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"proxy odd: unknown BN policy 'frozen'; choose from: batch, train, bypass, none"):
        proxies.Proxy("odd", lambda m, b: 0.0, bn="frozen")


def test_bn_policy_of_a_population_proxy_lists_its_parts_policies_once_each():
    synflow, nwot = proxies.get("synflow"), proxies.get("nwot")
    pair = proxies.PopulationProxy("pair", (synflow, nwot, synflow), rule=lambda rows, parts: [])
    assert pair.bn == "bypass+batch"
