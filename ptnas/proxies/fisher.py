"""fisher (Theis et al. 2018; Turner et al., ICLR 2020), as a zero-cost proxy (Abdelfattah et al.,
ICLR 2021, Eq. 3).

For every output channel k of every conv/linear layer, with a = the layer's output (before BN) and
g = ∂L/∂a on one labelled minibatch: g_nk = Σ_spatial a·g for sample n, and the channel's Fisher
saliency is ½·mean_n g_nk². S = the sum over all channels of all layers. (Abdelfattah et al.'s code
spreads each channel's value over the channel's weights before summing, which multiplies it by the
layer's fan-in; we sum channels, as the definition reads.) A layer that runs several times adds one
term per call.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ptnas.proxies.base import Batch, weighted_layers


def fisher(model: nn.Module, batch: Batch) -> float:
    activations: list[torch.Tensor] = []

    def keep(module, inputs, output):
        activations.append(output)

    layers = weighted_layers(model)
    for layer in layers:
        layer.weight.requires_grad_(True)
    handles = [layer.register_forward_hook(keep) for layer in layers]
    try:
        x, y = batch
        loss = F.cross_entropy(model(x), y)
    finally:
        for h in handles:
            h.remove()
    if not activations:
        return 0.0
    grads = torch.autograd.grad(loss, activations, allow_unused=True)
    total = 0.0
    for a, g in zip(activations, grads):
        if g is None:
            continue
        g_nk = (a.detach() * g).flatten(2).sum(-1) if a.dim() > 2 else a.detach() * g
        total += (0.5 * g_nk.pow(2).mean(0)).sum().item()
    return total
