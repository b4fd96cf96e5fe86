"""snip (Lee et al., ICLR 2019), as a zero-cost proxy (Abdelfattah et al., ICLR 2021, Eq. 1).

Connection sensitivity summed over the network: S = Σ over conv/linear weights of |W ⊙ ∂L/∂W|, L the
cross-entropy on one labelled minibatch.
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch
from ptnas.proxies.gradients import loss_gradients


def snip(model: nn.Module, batch: Batch) -> float:
    parts = [(layer.weight.detach() * g).abs().sum() for layer, g in loss_gradients(model, batch) if g is not None]
    return sum(torch.stack(parts).tolist()) if parts else 0.0  # one host transfer, summed as before
