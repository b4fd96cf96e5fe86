"""Zero-Cost-PT and Zero-Cost-DISC (Xiang et al., "Zero-Cost Operation Scoring in Differentiable
Architecture Search", AAAI 2023) on an untrained supernet.

π_zc-pt(A, e) = argmin_o S(A − (e, o)) for a higher-is-better proxy S: the op whose removal hurts
the score most stays. π_zc-disc(A, e) = argmax_o S(A + (e, o)). Each scoring pass draws a fresh
minibatch, shared by every perturbation of that pass (as the reference code does per decision step).
The topology step (DARTS cells) removes, per node, the edge whose removal hurts the score least.
Validation (the search's evaluator, by default `zero-cost`): every unique candidate becomes a fresh,
randomly initialised standalone network scored with the same proxy summed over V fixed minibatches.

A scoring pass is a population: every candidate (perturbation) is measured on the pass's batch,
then `proxy.combine` turns the measurements into scores, so population proxies (TE-NAS's rank sum,
the pairwise vote) rank the candidates of one pass against each other, and per-model proxies pass
through unchanged. For population proxies, `on_parts(record)` receives every candidate's raw parts.

Replicas: a proxy (or population part) with `per_replica` measures up to `replicas` candidates in one
forward of the batch tiled that many times (ptnas/supernet/replicas.py), with the same scores as one
forward per candidate up to the kernels' rounding; other parts measure candidate by candidate.
`replicas=0` (auto) puts every candidate of a pass in one forward on CUDA, halving the chunk when
memory runs out, and keeps one forward per candidate on CPU, where batching was measured not to pay
(docs/results.md, "Replicated scoring").
"""
from __future__ import annotations

from typing import Callable, ContextManager, Hashable, Iterable, Iterator, Sequence, Union

from tqdm import tqdm

from ptnas.precision import autocast
from ptnas.proxies import AnyProxy, Batch
from ptnas.selectors.base import REPLICAS, OpScores, SearchContext, Selector, discretized
from ptnas.supernet import EdgeId, Supernet
from ptnas.supernet.replicas import Chunks, replicated

PartsSink = Callable[[dict], None]
Streams = Union[Iterator[Batch], Callable[[int], Iterator[Batch]]]


class _ZeroCost(Selector):
    replayable = True
    SETTINGS = (REPLICAS,)

    def __init__(self, proxy: AnyProxy, batches: Streams, bn_mode: str = "eval", progress: bool = False,
                 on_parts: PartsSink | None = None, precision: str = "fp32", replicas: int = 0):
        """proxy: the scoring function S. batches: one batch per scoring pass, from `batches(i)`, a fresh
        endless stream for proposal i (so a proposal depends only on its index), or from one endless
        stream shared by every proposal.
        bn_mode: BatchNorm mode while scoring; eval (default, as search.py) or train.
        on_parts: called with {stage, proposal, pass, key, parts, value} for every candidate of a
        population proxy's scoring pass (the raw parts behind each combined score).
        precision: fp32 (default) or bf16, the autocast every scoring forward runs under (ptnas.precision).
        replicas: candidates measured per forward by proxies that can (see the module docstring); 0 = auto."""
        self.chunks = Chunks(replicas)
        self.proxy = proxy
        self.streams = batches if callable(batches) and not hasattr(batches, "__next__") else None
        self.batches = None if self.streams is not None else batches
        self.bn_mode = bn_mode
        self.progress = progress
        self.on_parts = on_parts
        self.precision = precision
        self._proposal = 0
        self._passes = 0

    @classmethod
    def from_context(cls, context: SearchContext) -> "_ZeroCost":
        """--proxy scores, in proposal i, a stream of the search pool seeded by (--seed, i); population
        proxies' parts go to the sink `context.on_parts` when given."""
        from ptnas import proxies
        from ptnas.selectors.proposals import proposal_seed

        args, source = context.args, context.sources[0]
        return cls(proxies.get(args.proxy), lambda i: source.stream(proposal_seed(args.seed, i)), bn_mode=args.bn_mode,
                   progress=True, on_parts=context.on_parts, precision=args.precision,
                   replicas=getattr(args, "replicas", 0))

    def skip_pass(self) -> None:
        next(self.batches)
        self._passes += 1

    def begin_proposal(self, net: Supernet, proposal: int) -> None:
        self._proposal = proposal
        if self.streams is not None:
            self.batches = self.streams(proposal)

    def _scoring_pass(self, net: Supernet, stage: str,
                      candidates: Iterable[tuple[Hashable, Callable[[], ContextManager]]]) -> dict:
        """Measure every candidate (key, context that sets it up) on one batch, then combine."""
        batch = next(self.batches)
        candidates = list(candidates)
        with tqdm(total=len(candidates), desc=f"{stage} scores", disable=not self.progress, leave=False) as bar:
            measured = self._measure(net, batch, candidates, bar)
        scores = dict(zip(measured, self.proxy.combine(list(measured.values()))))
        if self.on_parts is not None and self.proxy.population:
            for key, parts in measured.items():
                self.on_parts({"stage": stage, "proposal": self._proposal, "pass": self._passes,
                               "key": list(key) if isinstance(key, tuple) else key,
                               "parts": parts, "value": scores[key]})
        self._passes += 1
        return scores

    def _measure(self, net: Supernet, batch, candidates: list, bar: tqdm) -> dict:
        """Every candidate's parts on `batch`, part by part: replicated where a part can be and the chunk
        size is above one, one forward per candidate otherwise."""
        device, n = batch[0].device, batch[0].shape[0]
        replicate = self.chunks.size(len(candidates), device) > 1
        measured = {key: {} for key, _ in candidates}
        bar.total = len(candidates) * len(self.proxy.parts)
        for part in self.proxy.parts:
            if replicate and part.per_replica:
                def measure(chunk, part=part):
                    with replicated(net, [setup for _, setup in chunk], n, device), autocast(device, self.precision):
                        rows = part.measure_replicas(net, batch, len(chunk), bn_mode=self.bn_mode)
                    bar.update(len(chunk))
                    return rows
                rows = self.chunks.run(candidates, device, measure)
            else:
                rows = []
                for _, setup in candidates:
                    with setup(), autocast(device, self.precision):
                        rows.append(part.measure(net, batch, bn_mode=self.bn_mode))
                    bar.update()
            for (key, _), row in zip(candidates, rows):
                measured[key].update(row)
        return measured

    def score_edges(self, net: Supernet, edges: Sequence[EdgeId]) -> dict[EdgeId, float]:
        return self._scoring_pass(net, "topology", ((e, lambda e=e: net.perturb_edge(e)) for e in edges))


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
