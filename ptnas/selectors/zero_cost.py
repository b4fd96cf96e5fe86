"""Zero-Cost-PT and Zero-Cost-DISC (Xiang et al., "Zero-Cost Operation Scoring in Differentiable
Architecture Search", AAAI 2023) on an untrained supernet.

π_zc-pt(A, e) = argmin_o S(A − (e, o)) for a higher-is-better proxy S: the op whose removal hurts
the score most stays. π_zc-disc(A, e) = argmax_o S(A + (e, o)). Each scoring pass draws a fresh
minibatch, shared by every perturbation of that pass (as the reference code does per decision step).
The topology step (DARTS cells) removes, per node, the edge whose removal hurts the score least.
Validation: every unique candidate becomes a fresh, randomly initialised standalone network scored
with the same proxy summed over V fixed minibatches; the highest total wins.

A scoring pass is a population: every candidate (perturbation) is measured on the pass's batch,
then `proxy.combine` turns the measurements into scores, so population proxies (TE-NAS's rank sum,
the pairwise vote) rank the candidates of one pass against each other, and per-model proxies pass
through unchanged. For population proxies, `on_parts(record)` receives every candidate's raw parts.
"""
from __future__ import annotations

from typing import Callable, ContextManager, Hashable, Iterable, Iterator, Sequence

import torch
from tqdm import tqdm

from ptnas.proxies import AnyProxy, Batch
from ptnas.selectors.base import OpScores, Selector, discretized
from ptnas.supernet import EdgeId, Supernet

PartsSink = Callable[[dict], None]


class _ZeroCost(Selector):
    def __init__(self, proxy: AnyProxy, batches: Iterator[Batch], valid_batches: Callable[[], Iterator[Batch]],
                 bn_mode: str = "eval", init_seed: int = 0, device: torch.device | str = "cpu",
                 progress: bool = False, on_parts: PartsSink | None = None):
        """proxy: the scoring function S. batches: endless stream, one batch per scoring pass.
        bn_mode: BatchNorm mode while scoring; eval (default, as search.py) or train.
        valid_batches: returns the same V batches at every call (validation stage).
        init_seed: seed of each candidate's random initialisation in the validation stage.
        on_parts: called with {stage, proposal, pass, key, parts, value} for every candidate of a
        population proxy's scoring pass (the raw parts behind each combined score)."""
        self.proxy = proxy
        self.batches = batches
        self.valid_batches = valid_batches
        self.bn_mode = bn_mode
        self.init_seed = init_seed
        self.device = torch.device(device)
        self.progress = progress
        self.on_parts = on_parts
        self._proposal = 0
        self._passes = 0

    def begin_proposal(self, net: Supernet, proposal: int) -> None:
        self._proposal = proposal

    def _scoring_pass(self, net: Supernet, stage: str,
                      candidates: Iterable[tuple[Hashable, Callable[[], ContextManager]]]) -> dict:
        """Measure every candidate (key, context that sets it up) on one batch, then combine."""
        batch = next(self.batches)
        measured = {}
        candidates = list(candidates)
        for key, setup in tqdm(candidates, desc=f"{stage} scores", disable=not self.progress, leave=False):
            with setup():
                measured[key] = self.proxy.measure(net, batch, bn_mode=self.bn_mode)
        scores = dict(zip(measured, self.proxy.combine(list(measured.values()))))
        if self.on_parts is not None and self.proxy.population:
            for key, parts in measured.items():
                self.on_parts({"stage": stage, "proposal": self._proposal, "pass": self._passes,
                               "key": list(key) if isinstance(key, tuple) else key,
                               "parts": parts, "value": scores[key]})
        self._passes += 1
        return scores

    def score_edges(self, net: Supernet, edges: Sequence[EdgeId]) -> dict[EdgeId, float]:
        return self._scoring_pass(net, "topology", ((e, lambda e=e: net.perturb_edge(e)) for e in edges))

    def validate(self, genotypes: Sequence[Hashable], build: Callable[[Hashable], torch.nn.Module]) -> list[float]:
        """Σ over the V batches of each candidate's score; population proxies rank per batch."""
        batches = list(self.valid_batches())
        measured: list[list[dict]] = []  # [candidate][batch]
        bar = tqdm(total=len(genotypes), desc="validation", disable=not self.progress, leave=False)
        for g in genotypes:
            torch.manual_seed(self.init_seed)
            model = build(g).to(self.device)
            measured.append([self.proxy.measure(model, b, bn_mode=self.bn_mode) for b in batches])
            bar.update()
        bar.close()
        totals = [0.0] * len(genotypes)
        for k in range(len(batches)):
            for i, s in enumerate(self.proxy.combine([m[k] for m in measured])):
                totals[i] += s
        return totals


class ZeroCostPT(_ZeroCost):
    """π_zc-pt: score S(A − (e, o)) for every alive op; the op whose removal hurts most stays."""

    name = "zc-pt"

    def __init__(self, proxy: AnyProxy, *args, **kwargs):
        super().__init__(proxy, *args, **kwargs)
        self.keep_high = not proxy.higher_is_better
        self.edge_keep_high = not proxy.higher_is_better

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        return self._scoring_pass(net, "op", (((e, o), lambda e=e, o=o: net.perturb(e, o))
                                              for e in edges for o in net.candidates(e)))


class ZeroCostDISC(_ZeroCost):
    """π_zc-disc: score S(A + (e, o)) for every alive op; the best-scoring discretization stays."""

    name = "zc-disc"

    def __init__(self, proxy: AnyProxy, *args, **kwargs):
        super().__init__(proxy, *args, **kwargs)
        self.keep_high = proxy.higher_is_better
        self.edge_keep_high = not proxy.higher_is_better

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        return self._scoring_pass(net, "op", (((e, o), lambda e=e, o=o: discretized(net, e, o))
                                              for e in edges for o in net.candidates(e)))
