"""`--precision fp32|bf16`: the arithmetic a zero-cost scoring forward runs in.

fp32 (the default) computes as the model is stored. bf16 runs the forward (and a proxy's backward) under
autocast with bfloat16: on CPU through oneDNN (AMX tiles where the processor has them), on CUDA through
tensor cores. A proxy's own reductions (nwot's kernel, jacob_cov's correlation, synflow's float64 copy)
are not autocast. Whether a proxy's decisions survive bf16 was measured (docs/results.md, "CPU speed");
`Proxy.bf16_reliable` records the verdict and search.py refuses bf16 for a proxy where it is False.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ptnas.settings import Setting

CHOICES = ("fp32", "bf16")
PRECISION = Setting("precision", str, "fp32", choices=CHOICES,
                    help="arithmetic of zero-cost scoring: fp32 or bf16 autocast (CPU AMX / CUDA tensor cores); "
                         "refused for proxies whose decisions change under bf16 (docs/command-line.md)")


def autocast(device: torch.device | str, precision: str = "fp32") -> ContextManager:
    """The context a scoring forward runs in: nothing for fp32, bfloat16 autocast on `device` for bf16."""
    if precision not in CHOICES:
        raise ValueError(f"unknown precision {precision!r}; choose from: {', '.join(CHOICES)}")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def check_proxy(proxy, precision: str) -> None:
    """ValueError (one line) for bf16 with a proxy whose decisions were measured to change under it."""
    if precision == "bf16" and not proxy.bf16_reliable:
        raise ValueError(f"--precision bf16 is refused for --proxy {proxy.name}: {proxy.bf16_why}; use --precision fp32")
