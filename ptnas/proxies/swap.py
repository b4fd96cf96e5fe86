"""SWAP-Score (Peng et al., "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS", ICLR 2024).

Every unit of every ReLU whose input is a 4-D feature map has, over the batch's S samples, a sample-wise
activation pattern: the S bits 1[unit > 0]. `swap` is the number of distinct patterns among all units
(the cardinality of the set of the S-bit vectors). Higher is better; it is at most min(units, 2^S).
Which activations count: every `nn.ReLU` / `nn.ReLU6` module that runs, once per call (as for nwot).

`swap_reg` is the regularised SWAP-Score: swap · exp(−(Θ − μ)² / σ), Θ = the parameters of the
modules that run (the `params` proxy), in thousands, as the authors' code counts them. μ and σ set the
model size the regulariser favours; the paper tunes them per search space. Here μ = `MU` = 1,500 K and
σ = `SIGMA` = 10⁶ by default, a factor that grows monotonically over NAS-Bench-201's sizes (73 K to 1,531 K
on CIFAR-10); they are our choice, not the paper's: `swap_regularised(mu, sigma)` builds the function for
other values.

The patterns are packed into integers (62 samples a word) before counting, so a unit costs a few bytes.
`swap_replicas` / `swap_reg_replicas` score the replicas of a replicated supernet forward
(ptnas/supernet/replicas.py): each block of rows a hook sees adds its patterns (and its modules'
parameters) to its own replica.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ptnas.proxies.base import Batch, hooks_on
from ptnas.supernet.replicas import owners, tile

MU = 1500.0      # thousands of parameters
SIGMA = 1.0e6    # (thousands of parameters)²
WORD = 62        # samples packed per int64


def pack(codes: torch.Tensor) -> torch.Tensor:
    """(S, units) 0/1 codes → (units, ⌈S/62⌉) int64, one integer per 62 samples of a unit's pattern."""
    s = codes.shape[0]
    words = []
    for start in range(0, s, WORD):
        block = codes[start:start + WORD].to(torch.int64)
        shifts = torch.arange(block.shape[0], device=codes.device, dtype=torch.int64)[:, None]
        words.append((block << shifts).sum(0))
    return torch.stack(words, dim=1)


def distinct(packed: list[torch.Tensor]) -> float:
    """The number of distinct patterns among the packed units. Rows of several words are told apart word by
    word with 1-D `torch.unique` (a pattern's key: the rank of its key so far, times the number of distinct
    values of the next word, plus that word's rank), which counts exactly what `torch.unique(rows, dim=0)`
    counts at a fraction of its cost (dim=0 compared rows one pair at a time: 88 % of a swap call)."""
    if not packed:
        return 0.0
    rows = torch.cat(packed)
    key = torch.unique(rows[:, 0], return_inverse=True)[1]
    for w in range(1, rows.shape[1]):
        values, rank = torch.unique(rows[:, w], return_inverse=True)
        key = torch.unique(key * values.numel() + rank, return_inverse=True)[1]  # < units², then ranked again
    return float(torch.unique(key).numel())


def measure(model: nn.Module, batch: Batch, k: int, count_params: bool) -> tuple[list[float], list[float]]:
    """(swap of each of the k replicas, parameters (thousands) of the modules each replica runs) from one
    forward on `tile(x, k)`."""
    n = batch[0].shape[0]
    packed: list[list[torch.Tensor]] = [[] for _ in range(k)]
    ran: list[dict[int, nn.Parameter]] = [{} for _ in range(k)]

    def patterns(module, inputs, output):
        if inputs[0].dim() == 4:
            codes = (output.detach() > 0).reshape(output.shape[0], -1)
            for j, r in enumerate(owners(output.shape[0])):
                if r >= 0:
                    packed[r].append(pack(codes[j * n:(j + 1) * n]))

    def mark(module, inputs):
        for r in owners(inputs[0].shape[0]) if inputs and isinstance(inputs[0], torch.Tensor) else range(k):
            if r >= 0:
                for p in module.parameters(recurse=False):
                    ran[r].setdefault(id(p), p)

    relus = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    with hooks_on(relus, patterns), hooks_on(model.modules() if count_params else [], mark, pre=True), \
            torch.no_grad():
        model(tile(batch[0], k))
    thousands = [sum(p.numel() for p in found.values()) / 1e3 for found in ran]
    return [distinct(p) for p in packed], thousands


def swap(model: nn.Module, batch: Batch) -> float:
    return swap_replicas(model, batch, 1)[0]


def swap_replicas(model: nn.Module, batch: Batch, k: int) -> list[float]:
    """swap of each of the k replicas of a forward on `tile(x, k)`."""
    return measure(model, batch, k, count_params=False)[0]


def regular_factor(thousands: float, mu: float = MU, sigma: float = SIGMA) -> float:
    """SWAP's regulariser exp(−(Θ − μ)² / σ), Θ in thousands of parameters."""
    return math.exp(-((thousands - mu) ** 2) / sigma)


def swap_regularised(mu: float = MU, sigma: float = SIGMA) -> tuple[Callable, Callable]:
    """(fn, per_replica) of the regularised SWAP-Score with the given μ and σ."""

    def per_replica(model: nn.Module, batch: Batch, k: int) -> list[float]:
        counts, thousands = measure(model, batch, k, count_params=True)
        return [c * regular_factor(t, mu, sigma) for c, t in zip(counts, thousands)]

    def fn(model: nn.Module, batch: Batch) -> float:
        return per_replica(model, batch, 1)[0]

    return fn, per_replica


swap_reg, swap_reg_replicas = swap_regularised()
