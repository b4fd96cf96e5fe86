"""fisher (Theis et al. 2018; Turner et al., ICLR 2020), as a zero-cost proxy (Abdelfattah et al.,
ICLR 2021, Eq. 3).

For every output channel k of every conv/linear layer, with a = the layer's output (before BN) and
g = ∂L/∂a on one labelled minibatch: g_nk = Σ_spatial a·g for sample n, and the channel's Fisher
saliency is ½·mean_n g_nk². S = the sum over all channels of all layers. (Abdelfattah et al.'s code
spreads each channel's value over the channel's weights before summing, which multiplies it by the
layer's fan-in; we sum channels, as the definition reads.) A layer that runs several times adds one
term per call. `fisher_replicas` scores the replicas of a replicated supernet forward
(ptnas/supernet/replicas.py).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ptnas.proxies.base import Batch, weighted_layers
from ptnas.supernet.replicas import owners, tile


def fisher(model: nn.Module, batch: Batch) -> float:
    return fisher_replicas(model, batch, 1)[0]


def fisher_replicas(model: nn.Module, batch: Batch, k: int) -> list[float]:
    """fisher of each of the k replicas of a forward on `tile(x, k)` (ptnas/supernet/replicas.py): the loss
    is the sum of the replicas' mean losses, so each row's activation gradient is its replica's own."""
    activations: list[torch.Tensor] = []
    who: list[tuple[int, ...]] = []

    def keep(module, inputs, output):
        activations.append(output)
        who.append(owners(output.shape[0]))

    layers = weighted_layers(model)
    for layer in layers:
        layer.weight.requires_grad_(True)
    handles = [layer.register_forward_hook(keep) for layer in layers]
    try:
        x, y = batch
        n = x.shape[0]
        loss = F.cross_entropy(model(tile(x, k)), tile(y, k), reduction="sum") / n
    finally:
        for h in handles:
            h.remove()
    if not activations:
        return [0.0] * k
    grads = torch.autograd.grad(loss, activations, allow_unused=True)
    total = torch.zeros(k, dtype=torch.float64, device=x.device)
    for a, g, owners_ in zip(activations, grads, who):
        if g is None:
            continue
        g_nk = (a.detach() * g).flatten(2).sum(-1) if a.dim() > 2 else a.detach() * g
        per_block = (0.5 * g_nk.reshape(len(owners_), n, -1).pow(2).mean(1)).sum(1).to(torch.float64)
        live = [j for j, r in enumerate(owners_) if r >= 0]
        total.index_add_(0, torch.tensor([owners_[j] for j in live], device=x.device), per_block[live])
    return total.tolist()
