"""The α update of bilevel DARTS (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019, §2.3).

DARTS solves min_α L_val(w*(α), α) with w*(α) = argmin_w L_train(w, α) by alternating one α step on a
validation batch with one weight step on a training batch. The α gradient is
  first order:  ∇_α L_val(w, α);
  second order: ∇_α L_val(w', α) − ξ ∇²_{α,w} L_train(w, α) · ∇_{w'} L_val(w', α),
with w' = w − ξ (μ·m + ∇_w L_train(w, α) + λ·w) one virtual step of the weight optimizer (learning rate
ξ, momentum μ with buffer m, weight decay λ) and the Hessian-vector product by central differences,
  [∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)] / 2ε,  w± = w ± ε ∇_{w'} L_val(w', α),
  ε = 0.01 / ‖∇_{w'} L_val(w', α)‖₂.
α is trained with Adam (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3), as DARTS and DARTS-PT do.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call

from ptnas.batch import Batch
from ptnas.supernet.base import Supernet

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Architect:
    """Owns α's optimizer; `step(train_batch, valid_batch, weight_optimizer)` makes one α update.

    The weight optimizer is read, never changed: its learning rate is ξ, and for the second order its
    momentum buffers and weight decay shape the virtual step w'.
    """

    def __init__(self, net: Supernet, lr: float = 3e-4, betas: tuple[float, float] = (0.5, 0.999),
                 weight_decay: float = 1e-3, second_order: bool = False,
                 loss_fn: LossFn = nn.functional.cross_entropy, fd_radius: float = 0.01):
        """fd_radius: ‖w± − w‖ of the finite difference, i.e. ε = fd_radius / ‖v‖ (DARTS: 0.01)."""
        self.net = net
        self.second_order = second_order
        self.fd_radius = fd_radius
        self.loss_fn = loss_fn
        self.optimizer = torch.optim.Adam(net.arch_parameters(), lr=lr, betas=tuple(betas),
                                          weight_decay=weight_decay)

    def step(self, train_batch: Batch, valid_batch: Batch, weight_optimizer: torch.optim.SGD) -> float:
        """One α update; returns the validation loss (at w for first order, at w' for second order)."""
        loss = self.gradient(train_batch, valid_batch, weight_optimizer)
        self.optimizer.step()
        self.net.zero_grad(set_to_none=True)
        return loss

    def gradient(self, train_batch: Batch, valid_batch: Batch, weight_optimizer: torch.optim.SGD) -> float:
        """Put the α gradient (first or second order) in each α's `.grad`, leaving the weights as they were.

        Every other gradient is cleared; an α that takes no part (a decided edge) keeps `.grad = None`,
        so Adam leaves it alone. Returns the validation loss.
        """
        self.net.zero_grad(set_to_none=True)
        if self.second_order:
            return float(self._second_order_grads(train_batch, valid_batch, weight_optimizer))
        x, y = valid_batch
        loss = self.loss_fn(self.net(x), y)
        _set_grads(self.net.arch_parameters(), torch.autograd.grad(loss, self.net.arch_parameters(), allow_unused=True))
        return float(loss.detach())

    def _second_order_grads(self, train_batch: Batch, valid_batch: Batch, weight_optimizer: torch.optim.SGD) -> torch.Tensor:
        net, alphas = self.net, self.net.arch_parameters()
        arch_ids = {id(a) for a in alphas}
        named = [(n, p) for n, p in net.named_parameters() if id(p) not in arch_ids]
        names, weights = [n for n, _ in named], [p for _, p in named]

        # w' = one virtual step of the weight optimizer on the training batch (α held fixed).
        g_train = torch.autograd.grad(self._loss(train_batch), weights, allow_unused=True)
        unrolled = _virtual_sgd_step(weights, g_train, weight_optimizer)
        xi = weight_optimizer.param_groups[0]["lr"]

        # ∇_α L_val(w', α) and v = ∇_{w'} L_val(w', α).
        x, y = valid_batch
        params = {n: w.requires_grad_() for n, w in zip(names, unrolled)}
        loss = self.loss_fn(functional_call(net, params, (x,)), y)
        grads = torch.autograd.grad(loss, [*alphas, *params.values()], allow_unused=True)
        d_alpha = grads[: len(alphas)]  # None for the α of a decided edge: it stays untouched
        v = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads[len(alphas):])]

        # Hessian-vector product ∇²_{α,w} L_train(w, α) · v by central differences.
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in v]))
        eps = float(self.fd_radius / norm.clamp_min(1e-12))
        saved = [w.detach().clone() for w in weights]
        try:
            with torch.no_grad():
                torch._foreach_add_(weights, v, alpha=eps)
            g_plus = torch.autograd.grad(self._loss(train_batch), alphas, allow_unused=True)
            with torch.no_grad():
                torch._foreach_add_(weights, v, alpha=-2 * eps)
            g_minus = torch.autograd.grad(self._loss(train_batch), alphas, allow_unused=True)
        finally:
            with torch.no_grad():
                for w, s in zip(weights, saved):
                    w.copy_(s)
        _set_grads(alphas, [None if d is None else d - xi * (gp - gm) / (2 * eps)
                            for d, gp, gm in zip(d_alpha, g_plus, g_minus)])
        return loss.detach()

    def _loss(self, batch: Batch) -> torch.Tensor:
        x, y = batch
        return self.loss_fn(self.net(x), y)

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def _virtual_sgd_step(weights: Sequence[torch.Tensor], grads: Sequence[torch.Tensor | None],
                      optimizer: torch.optim.SGD) -> list[torch.Tensor]:
    """w − ξ (μ·m + g + λ·w): what `optimizer.step()` would give, without changing w or the optimizer.

    A weight without a gradient (an op that did not run) stays, as SGD skips it.
    """
    group = optimizer.param_groups[0]
    lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
    out = []
    with torch.no_grad():
        for w, g in zip(weights, grads):
            if g is None:
                out.append(w.detach().clone())
                continue
            buf = optimizer.state.get(w, {}).get("momentum_buffer")
            d = g + decay * w
            if buf is not None:
                d = d + momentum * buf
            out.append(w - lr * d)
    return out


def _set_grads(params: Sequence[nn.Parameter], grads: Sequence[torch.Tensor | None]) -> None:
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.detach()
