"""`--precision`: the autocast context of zero-cost scoring, and which proxies may use bf16."""
from __future__ import annotations

import pytest
import torch

from ptnas import precision, proxies


def test_fp32_changes_nothing_and_bf16_autocasts_a_conv_on_cpu():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 8, 8)
    with precision.autocast("cpu", "fp32"):
        assert not torch.is_autocast_enabled("cpu") and conv(x).dtype == torch.float32
    with precision.autocast(torch.device("cpu"), "bf16"):
        assert conv(x).dtype == torch.bfloat16


def test_unknown_precision_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown precision 'fp16'; choose from: fp32, bf16"):
        precision.autocast("cpu", "fp16")


def test_synflow_refuses_bf16_and_every_refusal_says_why_in_one_line():
    assert not proxies.get("synflow").bf16_reliable
    for name in proxies.names():
        proxy = proxies.get(name)
        assert proxy.bf16_reliable or (proxy.bf16_why and "\n" not in proxy.bf16_why), name
    assert "synflow" in proxies.get("vote").bf16_why  # a population proxy is as reliable as its parts


def test_nwot_under_bf16_keeps_its_exact_integer_kernel():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(288, 4),
                              torch.nn.ReLU())
    x = torch.randn(16, 3, 8, 8)
    with precision.autocast("cpu", "bf16"):
        value = proxies.get("nwot")(net, (x, None))
    assert value == value and value > 0  # finite: K stays exact (integers) under autocast
