"""The cell spaces' 3×3 pooling: the CPU routes (depthwise ones convolution for the average, shifted maxima
for the maximum) give the library's values, and the library's op runs wherever a graph or a cost is read."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ptnas.ops.pooling import AvgPool3x3, MaxPool3x3


def _input(shape, channels_last):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    x[0, 0, 0, 0] = float("nan")  # NaN stays where the library's pooling puts it
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@pytest.mark.parametrize("shape", [(4, 16, 32, 32), (2, 8, 15, 15), (3, 5, 8, 7), (1, 3, 1, 1), (2, 4, 2, 3)])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True])
def test_pooling_equals_the_library_pooling(shape, stride, channels_last):
    x = _input(shape, channels_last)
    with torch.no_grad():
        avg, mx = AvgPool3x3(stride)(x), MaxPool3x3(stride)(x)
    want_avg = F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)
    want_max = F.max_pool2d(x, 3, stride, 1)
    # Border windows hold 4 or 6 pixels: a count_include_pad=True average would differ there.
    torch.testing.assert_close(avg, want_avg, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert torch.equal(mx.nan_to_num(7.0), want_max.nan_to_num(7.0))
    for ours, theirs in ((avg, want_avg), (mx, want_max)):  # the library's memory format
        assert ours.is_contiguous(memory_format=torch.channels_last) == theirs.is_contiguous(
            memory_format=torch.channels_last)


def test_the_average_keeps_its_gradient():
    x = _input((2, 4, 9, 9), True).nan_to_num(0.0).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    w = torch.randn(2, 4, 9, 9)
    (AvgPool3x3(1)(x) * w).sum().backward()
    (F.avg_pool2d(x_ref, 3, 1, 1, count_include_pad=False) * w).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_the_maximum_sends_a_tie_s_gradient_to_one_input_as_the_library_does():
    x = torch.ones(1, 1, 4, 4, requires_grad=True)  # every window is a tie (synflow's all-ones input)
    MaxPool3x3(1)(x).sum().backward()
    x_ref = torch.ones(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(x_ref, 3, 1, 1).sum().backward()
    assert torch.equal(x.grad, x_ref.grad)
    assert x.grad.sum() == 16  # one unit of gradient per output, not split among tied inputs


def test_counted_costs_see_pooling_not_a_convolution():
    with FlopCounterMode(display=False) as counter:
        AvgPool3x3(1)(torch.randn(1, 8, 16, 16))
    assert counter.get_total_flops() == 0  # a depthwise convolution would count 8·16·16·9 multiply-adds


def test_float64_maps_take_the_library_s_kernel():
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert torch.equal(AvgPool3x3(1)(x), F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
    assert torch.equal(MaxPool3x3(1)(x), F.max_pool2d(x, 3, 1, 1))
