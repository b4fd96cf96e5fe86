"""Zero-Cost-PT and Zero-Cost-DISC (Xiang et al., "Zero-Cost Operation Scoring in Differentiable
Architecture Search", AAAI 2023) on an untrained supernet.

π_zc-pt(A, e) = argmin_o S(A − (e, o)) for a higher-is-better proxy S: the op whose removal hurts
the score most stays. π_zc-disc(A, e) = argmax_o S(A + (e, o)). Each scoring pass draws a fresh
minibatch, shared by every perturbation of that pass (as the reference code does per decision step).
The topology step (DARTS cells) removes, per node, the edge whose removal hurts the score least.
Validation: every unique candidate becomes a fresh, randomly initialised standalone network scored
with the same proxy summed over V fixed minibatches; the highest total wins.
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterator, Sequence

import torch
from tqdm import tqdm

from ptnas.proxies import Batch, Proxy
from ptnas.selectors.base import OpScores, Selector, discretized
from ptnas.supernet import EdgeId, Supernet


class _ZeroCost(Selector):
    def __init__(self, proxy: Proxy, batches: Iterator[Batch], valid_batches: Callable[[], Iterator[Batch]],
                 bn_mode: str = "train", init_seed: int = 0, device: torch.device | str = "cpu",
                 progress: bool = False):
        """proxy: the scoring function S. batches: endless stream, one batch per scoring pass.
        valid_batches: returns the same V batches at every call (validation stage).
        init_seed: seed of each candidate's random initialisation in the validation stage."""
        self.proxy = proxy
        self.batches = batches
        self.valid_batches = valid_batches
        self.bn_mode = bn_mode
        self.init_seed = init_seed
        self.device = torch.device(device)
        self.progress = progress

    def _score(self, net: Supernet, batch: Batch) -> float:
        return self.proxy(net, batch, bn_mode=self.bn_mode)

    def score_edges(self, net: Supernet, edges: Sequence[EdgeId]) -> dict[EdgeId, float]:
        batch = next(self.batches)
        out = {}
        for e in edges:
            with net.perturb_edge(e):
                out[e] = self._score(net, batch)
        return out

    def validate(self, genotypes: Sequence[Hashable], build: Callable[[Hashable], torch.nn.Module]) -> list[float]:
        totals = []
        bar = tqdm(total=len(genotypes), desc="validation", disable=not self.progress, leave=False)
        for g in genotypes:
            torch.manual_seed(self.init_seed)
            model = build(g).to(self.device)
            totals.append(sum(self._score(model, b) for b in self.valid_batches()))
            bar.update()
        bar.close()
        return totals


class ZeroCostPT(_ZeroCost):
    """π_zc-pt: score S(A − (e, o)) for every alive op; the op whose removal hurts most stays."""

    name = "zc-pt"

    def __init__(self, proxy: Proxy, *args, **kwargs):
        super().__init__(proxy, *args, **kwargs)
        self.keep_high = not proxy.higher_is_better
        self.edge_keep_high = not proxy.higher_is_better

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        batch = next(self.batches)
        out: OpScores = {}
        for e in edges:
            for o in net.candidates(e):
                with net.perturb(e, o):
                    out[(e, o)] = self._score(net, batch)
        return out


class ZeroCostDISC(_ZeroCost):
    """π_zc-disc: score S(A + (e, o)) for every alive op; the best-scoring discretization stays."""

    name = "zc-disc"

    def __init__(self, proxy: Proxy, *args, **kwargs):
        super().__init__(proxy, *args, **kwargs)
        self.keep_high = proxy.higher_is_better
        self.edge_keep_high = not proxy.higher_is_better

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        batch = next(self.batches)
        out: OpScores = {}
        for e in edges:
            for o in net.candidates(e):
                with discretized(net, e, o):
                    out[(e, o)] = self._score(net, batch)
        return out
