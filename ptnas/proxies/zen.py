"""Zen-score (Lin et al., "Zen-NAS", ICCV 2021, Eq. 3-5).

On a copy of the model re-initialised with Gaussian weights (conv/linear W ~ N(0, 1), biases 0, BN
γ = 1, β = 0) and with BN on batch statistics: for Gaussian inputs x and ε ~ N(0, 1) of the batch's
shape, Δ = E_n Σ_chw |f(x) − f(x + 0.01 ε)| on the pre-pooling feature map f (the input of the
last global average pooling; the output when there is none), and the score is
log Δ + Σ_BN log σ̄, σ̄ = sqrt(mean over channels of the batch variance at that BN's input on x)
(the "BN variance correction"; a BN whose input is all zeros, as after a `none` edge, passes no
signal and is skipped). Repeated with fresh draws and averaged. A network whose features do not
depend on its input (Δ = 0) scores NaN.

The draws come from a private generator seeded with `SEED`, so the score is deterministic and the
caller's random state is untouched. Only the batch's shape and device are used, not its images.
(The released Zen-NAS code reads σ̄ from BN running_var after two momentum updates; we use the
batch variance the paper defines.)
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ptnas.proxies.base import Batch

MIXUP = 0.01
REPEATS = 4
SEED = 0


def zen(model: nn.Module, batch: Batch, repeats: int = REPEATS) -> float:
    net = copy.deepcopy(model).train()
    x0 = batch[0]
    g = torch.Generator(device=x0.device).manual_seed(SEED)
    scores = []
    with torch.no_grad():
        for _ in range(repeats):
            gaussian_init(net, g)
            x = torch.randn(x0.shape, generator=g, device=x0.device, dtype=x0.dtype)
            eps = torch.randn(x0.shape, generator=g, device=x0.device, dtype=x0.dtype)
            f, log_sigma = pre_pooling_features(net, x, track_bn=True)
            f_mix, _ = pre_pooling_features(net, x + MIXUP * eps, track_bn=False)
            delta = (f - f_mix).abs().flatten(1).sum(1).mean().item()
            scores.append(math.log(delta) + log_sigma if delta > 0 else -math.inf)
    return sum(scores) / len(scores)


def gaussian_init(net: nn.Module, g: torch.Generator) -> None:
    """Zen-NAS's initialisation: conv/linear weights N(0, 1) and zero biases; BN γ = 1, β = 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, generator=g)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def pre_pooling_features(net: nn.Module, x: torch.Tensor, track_bn: bool) -> tuple[torch.Tensor, float]:
    """(input of the last global average pooling, Σ_BN log σ̄ of this forward pass if track_bn)."""
    captured: list[torch.Tensor] = []
    variances: list[torch.Tensor] = []  # read to the host once, after the forward

    def grab(module, inputs):
        captured.append(inputs[0])

    def bn_sigma(module, inputs):
        variances.append(inputs[0].transpose(0, 1).flatten(1).var(dim=1, unbiased=True).mean())

    handles = [m.register_forward_pre_hook(grab) for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if track_bn:
        handles += [m.register_forward_pre_hook(bn_sigma) for m in net.modules()
                    if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        out = net(x)
    finally:
        for h in handles:
            h.remove()
    # a BN fed only zeros (an op after a `none` edge) passes no signal: skipped
    log_sigma = sum((0.5 * math.log(v) for v in torch.stack(variances).tolist() if v > 0), 0.0) if variances else 0.0
    return (captured[-1] if captured else out), log_sigma
