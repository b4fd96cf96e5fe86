"""Zero-cost scores of standalone networks: each architecture becomes a fresh network, seeded the
same way, and every requested proxy is computed on the same batch.

`measure(genotype)` returns every raw part the requested proxies need (a part shared by several
proxies, e.g. synflow alone and inside `vote`, is computed once). `combine(measured)` turns the
parts of a population of architectures into each proxy's score; population proxies (tenas, vote)
rank the population's members against each other, the others pass their value through. Splitting
the two lets a long study store parts as they come and combine at the end.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Hashable, Mapping, Sequence

import torch
from torch import nn

from ptnas.proxies import AnyProxy, Batch


def parts_needed(proxies: Sequence[AnyProxy]) -> list:
    """The per-model proxies behind `proxies`, each once, in first-use order."""
    seen: dict[str, Any] = {}
    for proxy in proxies:
        for part in proxy.parts:
            seen.setdefault(part.name, part)
    return list(seen.values())


class ZeroCostEvaluator:
    """Scores architectures of one space with zero-cost proxies on a fixed batch.

    build(genotype) -> an untrained nn.Module; `init_seed` seeds torch before every build, so an
    architecture always gets the same weights. `bn_mode` is passed to every proxy.
    """

    def __init__(self, proxies: Sequence[AnyProxy], build: Callable[[Hashable], nn.Module], batch: Batch,
                 bn_mode: str = "train", init_seed: int = 0, device: torch.device | str = "cpu"):
        self.proxies = list(proxies)
        self.parts = parts_needed(self.proxies)
        self.build = build
        self.device = torch.device(device)
        self.batch = (batch[0].to(self.device), batch[1].to(self.device))
        self.bn_mode = bn_mode
        self.init_seed = init_seed

    def network(self, genotype: Hashable) -> nn.Module:
        torch.manual_seed(self.init_seed)
        return self.build(genotype).to(self.device)

    def measure(self, genotype: Hashable) -> dict[str, dict[str, float]]:
        """{"parts": {part: value}, "seconds": {part: wall time}} for one architecture."""
        model = self.network(genotype)
        values, seconds = {}, {}
        for part in self.parts:
            start = time.perf_counter()
            values[part.name] = part(model, self.batch, bn_mode=self.bn_mode)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            seconds[part.name] = time.perf_counter() - start
        return {"parts": values, "seconds": seconds}

    def combine(self, measured: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
        """Each proxy's score for every member of the population, from the members' parts."""
        return {p.name: p.combine(measured) for p in self.proxies}
