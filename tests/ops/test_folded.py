"""Conv → BatchNorm pairs folded into one convolution: the same values to float32 rounding, only inside a
scoring call, and only where no gradient, statistic or hook can tell."""
import pytest
import torch
from torch import nn

from ptnas.ops.basic import ReLUConvBN
from ptnas.ops.darts import DilConv, SepConv
from ptnas.ops.folded import folding
from ptnas import proxies


def _randomised(module: nn.Module) -> nn.Module:
    """Non-trivial statistics and affine parameters (a fresh BN folds to a scale of 1/√(1+ε))."""
    g = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.randn(m.num_features, generator=g))
                m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return module.eval()


def _never_called(*args):
    raise AssertionError("the BatchNorm ran on its own")


@pytest.mark.parametrize("make", [
    lambda: ReLUConvBN(4, 6, 3, 1, 1, affine=True),
    lambda: ReLUConvBN(4, 6, 1, 2, 0, affine=False, bias=True),  # NB201's supernet op: conv bias, no affine
    lambda: SepConv(4, 6, 3, 1, 1, affine=True),
    lambda: DilConv(4, 4, 5, 2, 4, 2, affine=False),
])
def test_folded_equals_the_modules_one_after_the_other(make):
    torch.manual_seed(0)
    op = _randomised(make())
    x = torch.randn(3, 4, 9, 9)
    with torch.no_grad():
        want = nn.Sequential.forward(op, x)
        for m in op.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.forward = _never_called  # folded: the BatchNorm is not run
        with folding():
            got = op(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_outside_a_scoring_call_a_forward_is_its_layers_bit_for_bit():
    torch.manual_seed(0)
    op = _randomised(SepConv(4, 6, 3, 1, 1))
    x = torch.randn(3, 4, 9, 9) * 1e4  # large values: folding would round differently somewhere
    with torch.no_grad():
        assert torch.equal(op(x), nn.Sequential.forward(op, x))  # what an exported graph reproduces


def test_a_proxy_call_folds():
    torch.manual_seed(0)
    net = nn.Sequential(_randomised(ReLUConvBN(3, 6, 3, 1, 1)), nn.ReLU())
    bn = net[0][2]
    calls = []
    bn.register_forward_pre_hook(lambda m, i: calls.append(1))
    batch = (torch.randn(4, 3, 8, 8), torch.zeros(4, dtype=torch.long))
    proxies.get("nwot")(net, batch, bn_mode="eval")
    assert calls  # hooked: it ran
    bn._forward_pre_hooks.clear()
    bn.forward = _never_called
    proxies.get("nwot")(net, batch, bn_mode="eval")  # not hooked: folded inside the call


def test_training_and_gradients_run_every_module():
    torch.manual_seed(0)
    op = _randomised(ReLUConvBN(4, 6, 3, 1, 1))
    x = torch.randn(3, 4, 9, 9)
    want = nn.Sequential.forward(op, x)
    with folding():
        assert torch.equal(op(x), want)  # autograd records: bit for bit the unfolded modules
        op.train()
        with torch.no_grad():
            assert torch.equal(op(x), nn.Sequential.forward(op, x))  # batch statistics cannot fold


def test_a_hooked_batchnorm_runs_and_its_hook_sees_it():
    torch.manual_seed(0)
    op = _randomised(ReLUConvBN(4, 6, 3, 1, 1))
    seen = []
    op[2].register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad(), folding():
        y = op(torch.randn(3, 4, 9, 9))
    assert len(seen) == 1 and seen[0] is y


def test_without_running_statistics_nothing_folds():
    torch.manual_seed(0)
    op = ReLUConvBN(4, 6, 3, 1, 1, track_running_stats=False).eval()  # eval uses the batch's statistics
    x = torch.randn(3, 4, 9, 9)
    with torch.no_grad(), folding():
        assert torch.equal(op(x), nn.Sequential.forward(op, x))
