"""Size and compute of a network: parameters and FLOPs of one inference.

FLOPs come from `torch.utils.flop_counter.FlopCounterMode`, which counts convolutions and matrix
products at 2 FLOPs per multiply-add and ignores element-wise ops (BN, activations, pooling, adds).
Papers in this field quote multiply-adds ("mult-adds", "MACs": DARTS's 574M on ImageNet, Liu et al.
2019), which are `flops / 2`; both are reported.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_flops(model: nn.Module, input_size: int, device: torch.device | str = "cpu") -> int:
    """FLOPs (2 per multiply-add) of one eval-mode forward of a 3×input_size×input_size image."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, input_size, input_size, device=device)
    try:
        with FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())
