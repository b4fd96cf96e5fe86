"""Zero-cost scores of standalone networks: each architecture becomes a fresh network, seeded the
same way, and scored by a proxy on fixed batches.

`ZeroCost` is the registered evaluator (`evaluators.get("zero-cost")`): the proxy summed over V fixed
minibatches of the search pool, as the Zero-Cost-PT validation stage scores candidates (Xiang et al.
2023, Algorithm 1); population proxies rank the candidates against each other batch by batch. Its
score is oriented: a lower-is-better proxy's total is negated.

`ProxyScorer` serves the correlation study: several proxies on one batch, their raw parts kept.

`measure(genotype)` returns every raw part the requested proxies need (a part shared by several
proxies, e.g. synflow alone and inside `vote`, is computed once). `combine(measured)` turns the
parts of a population of architectures into each proxy's score; population proxies (tenas, vote)
rank the population's members against each other, the others pass their value through. Splitting
the two lets a long study store parts as they come and combine at the end.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Hashable, Iterator, Mapping, Sequence

import torch
from torch import nn

from ptnas.evaluators.base import Context, Evaluator, Record, Sink
from ptnas.precision import PRECISION, autocast, check_proxy
from ptnas.proxies import BN_MODE, PROXY, AnyProxy, Batch
from ptnas.settings import Setting


def parts_needed(proxies: Sequence[AnyProxy]) -> list:
    """The per-model proxies behind `proxies`, each once, in first-use order."""
    seen: dict[str, Any] = {}
    for proxy in proxies:
        for part in proxy.parts:
            seen.setdefault(part.name, part)
    return list(seen.values())


class ProxyScorer:
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


class ZeroCost(Evaluator):
    """Σ over V fixed batches of proxy(network(g), batch); the highest oriented total wins.

    batches: returns the same V batches at every call. Reads --proxy, --valid-batches (V), --bn-mode and
    --precision (fp32 or bf16 autocast, ptnas.precision; absent: fp32).
    """

    name = "zero-cost"
    VALID_BATCHES = Setting("valid_batches", int, 100, minimum=1,
                            metavar="V", help="V, fixed minibatches of the search pool a zero-cost score is summed over")
    SETTINGS = (PROXY, VALID_BATCHES, BN_MODE, PRECISION)  # declared once, offered by every program that scores
    READS = tuple(s.name for s in SETTINGS)

    def __init__(self, proxy: AnyProxy, batches: Callable[[], Iterator[Batch]], network: Callable[[Hashable], nn.Module],
                 bn_mode: str = "eval", progress: bool = False, precision: str = "fp32"):
        self.proxy, self.batches, self.network = proxy, batches, network
        self.bn_mode, self.progress, self.precision = bn_mode, progress, precision

    @classmethod
    def from_args(cls, args, context: Context) -> "ZeroCost":
        from ptnas import data, proxies

        proxy = proxies.get(args.proxy)
        check_proxy(proxy, args.precision)
        kept = []

        def batches() -> Iterator[Batch]:  # drawn at the first use: a search with one candidate never needs them
            if not kept:
                source = data.BatchSource(context.search_pool, context.batch_size, context.device, context.workers)
                kept.append(source.fixed(context.seed + 1, args.valid_batches))
            return kept[0]()

        evaluator = cls(proxy, batches, context.network, bn_mode=args.bn_mode, progress=context.progress,
                        precision=args.precision)
        evaluator.pool = lambda: context.search_pool  # loaded (and checked) by prepare, before a run dir
        return evaluator

    pool: Callable[[], Any] | None = None

    def prepare(self) -> None:
        if self.pool is not None:
            self.pool()

    def describe(self) -> dict[str, Any]:
        return {"evaluator": self.name, "proxy": self.proxy.name, "higher_is_better": self.proxy.higher_is_better,
                "bn_mode": self.bn_mode, **({"precision": self.precision} if self.precision != "fp32" else {})}

    def shardable(self, genotypes: Sequence[Hashable]) -> bool:
        return not self.proxy.population  # tenas, vote rank the candidates against each other

    def evaluate(self, genotypes: Sequence[Hashable], on_record: Sink | None = None) -> list[Record]:
        from tqdm import tqdm

        batches = list(self.batches())
        if self.proxy.population:  # scores exist only once every candidate is measured
            measured, seconds = [], []
            for g in tqdm(genotypes, desc="zero-cost", disable=not self.progress, leave=False):
                start = time.perf_counter()
                model = self.network(g)
                with autocast(self._device(batches), self.precision):
                    measured.append([self.proxy.measure(model, b, bn_mode=self.bn_mode) for b in batches])
                seconds.append(time.perf_counter() - start)
            per_batch = [self.proxy.combine([m[k] for m in measured]) for k in range(len(batches))]
            records = [self._record(g, [per_batch[k][i] for k in range(len(batches))], seconds[i])
                       for i, g in enumerate(genotypes)]
            for r in records:
                if on_record is not None:
                    on_record(r)
            return records
        records = []
        for g in tqdm(genotypes, desc="zero-cost", disable=not self.progress, leave=False):
            start = time.perf_counter()
            model = self.network(g)
            with autocast(self._device(batches), self.precision):
                values = [self.proxy(model, b, bn_mode=self.bn_mode) for b in batches]
            records.append(self._record(g, values, time.perf_counter() - start))
            if on_record is not None:
                on_record(records[-1])
        return records

    @staticmethod
    def _device(batches: list[Batch]) -> torch.device:
        return batches[0][0].device if batches else torch.device("cpu")

    def _record(self, genotype: Hashable, values: list[float], seconds: float) -> Record:
        total = float(sum(values))
        sign = 1.0 if self.proxy.higher_is_better else -1.0
        details = {"proxy": self.proxy.name, "total": total, "batches": len(values)}
        if total != total:
            return Record(str(genotype), None, "failed", seconds, details,
                          reason=f"proxy {self.proxy.name} gave NaN on {sum(v != v for v in values)} of {len(values)} batches")
        return Record(str(genotype), sign * total, "ok", seconds, details)
