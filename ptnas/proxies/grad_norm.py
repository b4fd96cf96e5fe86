"""grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, Sec. 3).

S = Σ over conv/linear layers of ‖∂L/∂W‖₂ (Frobenius norm per layer), L the cross-entropy on one
labelled minibatch.
"""
from __future__ import annotations

import torch
from torch import nn

from ptnas.proxies.base import Batch
from ptnas.proxies.gradients import loss_gradients


def grad_norm(model: nn.Module, batch: Batch) -> float:
    norms = [g.norm() for _, g in loss_gradients(model, batch) if g is not None]
    return sum(torch.stack(norms).tolist()) if norms else 0.0  # one host transfer, summed as before
