"""∂L/∂W of the cross-entropy loss on one labelled minibatch, for every conv and linear weight.

The gradient-based proxies of Abdelfattah et al. (ICLR 2021) all start from these. Gradients are
returned (torch.autograd.grad), never accumulated into `.grad`; a layer that the forward pass did
not use (an op removed from a supernet) gets None and contributes nothing to a score.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ptnas.proxies.base import Batch, weighted_layers


def loss_gradients(model: nn.Module, batch: Batch,
                   create_graph: bool = False) -> list[tuple[nn.Module, torch.Tensor | None]]:
    """(layer, ∂L/∂layer.weight) for every conv/linear layer, L = mean cross-entropy on `batch`."""
    layers = weighted_layers(model)
    for layer in layers:
        layer.weight.requires_grad_(True)
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, [layer.weight for layer in layers], allow_unused=True,
                                create_graph=create_graph)
    return list(zip(layers, grads))
