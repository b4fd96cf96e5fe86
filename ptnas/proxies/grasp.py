"""grasp (Wang et al., ICLR 2020), as a zero-cost proxy (Abdelfattah et al., ICLR 2021, Eq. 2).

S = Σ over conv/linear weights of −(W ⊙ H g), g = ∂L/∂W and H the Hessian of L, on one labelled
minibatch. H g is a Hessian-vector product by double backward: z = Σ g_const · ∂L/∂W (with graph),
H g = ∂z/∂W; no Hessian is ever formed. Costs 2 forwards, 2 backwards and 1 double backward.
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch
from ptnas.proxies.gradients import loss_gradients


def grasp(model: nn.Module, batch: Batch) -> float:
    g = [grad for _, grad in loss_gradients(model, batch)]
    pairs = loss_gradients(model, batch, create_graph=True)
    z = sum((gc.detach() * gf).sum() for gc, (_, gf) in zip(g, pairs) if gc is not None and gf is not None)
    if not torch.is_tensor(z) or not z.requires_grad:
        return 0.0  # no weight takes part in the loss
    layers = [layer for layer, _ in pairs]
    hg = torch.autograd.grad(z, [layer.weight for layer in layers], allow_unused=True)
    parts = [(layer.weight.detach() * h).sum() for layer, h in zip(layers, hg) if h is not None]
    return sum(-v for v in torch.stack(parts).tolist()) if parts else 0.0  # one host transfer, summed as before
