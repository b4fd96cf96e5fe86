"""The supernet ops' ReLU: computed once per input tensor without autograd, and never a stale result."""
import gc

import torch
from torch.utils.flop_counter import FlopCounterMode

from ptnas.ops import relu as relu_module
from ptnas.ops.relu import ReLU


def _x():
    return torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))


def test_relus_of_one_tensor_share_one_result():
    x = _x()
    a, b = ReLU(), ReLU()
    with torch.no_grad():
        y1, y2 = a(x), b(x)
    assert y2 is y1  # computed once
    assert torch.equal(y1, x.clamp_min(0))


def test_an_input_changed_in_place_is_computed_again():
    x = _x()
    with torch.no_grad():
        y1 = ReLU()(x)
        x.neg_()
        y2 = ReLU()(x)
    assert y2 is not y1
    assert torch.equal(y2, x.clamp_min(0))  # fails if the version counter is not checked


def test_a_result_changed_in_place_is_not_handed_out():
    x = _x()
    with torch.no_grad():
        y1 = ReLU()(x)
        y1.add_(5.0)
        y2 = ReLU()(x)
    assert torch.equal(y2, x.clamp_min(0))


def test_the_result_is_forgotten_with_its_input():
    with torch.no_grad():
        x = _x()
        ReLU()(x)
        assert id(x) in relu_module._results
        key = id(x)
        del x
        gc.collect()
    assert key not in relu_module._results  # the stored result does not outlive its input


def test_with_autograd_each_call_is_its_own():
    x = _x().requires_grad_()
    a, b = ReLU(), ReLU()
    y1, y2 = a(x), b(x)
    assert y2 is not y1
    (2 * y1 + 3 * y2).sum().backward()
    assert torch.equal(x.grad, 5.0 * (x > 0).float())


def test_under_a_dispatch_mode_the_library_op_runs():
    x = _x()
    with torch.no_grad(), FlopCounterMode(display=False):
        y1, y2 = ReLU()(x), ReLU()(x)
    assert y2 is not y1
