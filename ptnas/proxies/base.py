"""A zero-cost proxy: S(model, batch) -> float, with the metadata selectors and evaluators need.

Calling a `Proxy` always leaves the model as it was (weights, buffers, grads, train/eval mode of
every module, requires_grad) and never returns inf: a NaN or infinite score becomes NaN with a
warning naming the proxy and the model, and selectors treat NaN as the worst score.

Some scores only exist relative to a population (TE-NAS's rank sum, Abdelfattah et al.'s pairwise
vote). A `PopulationProxy` scores a population in two steps that every caller (selector scoring
pass, evaluator, correlation study) runs the same way:
    measured = [proxy.measure(model_i, batch) for each member]   # raw parts, loggable
    scores = proxy.combine(measured)                               # one score per member
A plain `Proxy` offers the same two methods (its only part is itself), so callers need not care.
"""
from __future__ import annotations

import contextlib
import copy
import math
import warnings
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, Iterator, Mapping, Sequence

import torch
from torch import nn

from ptnas.batch import Batch
from ptnas.model_state import preserved
from ptnas.ops.folded import folding

Measured = Mapping[str, float]

BN_MODES = ("train", "eval")
BN_POLICIES = ("batch", "train", "bypass", "none")


class PopulationOnlyError(TypeError):
    """A population proxy was asked to score one model on its own."""


@dataclass(frozen=True)
class Proxy:
    """A registered scoring function and what is known about it.

    name: registry name.
    fn: `fn(model, batch) -> float`; it may change the model's modes and buffers and set grads (the
        wrapper restores them) but must work on a copy if it changes weights, dtypes or modules.
    higher_is_better: direction of the score (a better network scores higher when True).
    needs_data / needs_labels: whether the batch's inputs / targets are read (when not, only the
        input shape and device are used).
    bn: "batch" (BN runs in the mode the caller asks for with `bn_mode`, train by default),
        "train" (always batch statistics: the proxy's definition needs them, e.g. zen),
        "bypass" (BN removed, synflow) or "none" (the result does not depend on BN).
    dtype: precision the proxy computes in.
    passes: what one call costs, e.g. "1 forward", "1 forward + 1 backward".
    per_replica: `per_replica(model, batch, k) -> [score per replica]`, the same score for each of the k
        replicas of one forward of a replicated supernet (ptnas/supernet/replicas.py), for a proxy whose
        per-replica value can be read off that one forward (per-sample codes, input or activation
        gradients); None where it cannot (gradients of shared weights, own inputs, batch-1 copies).
    bf16_reliable / bf16_why: whether `--precision bf16` (autocast, ptnas.precision) may score with it, set
        from measured agreement with fp32 (docs/results.md, "CPU speed"); when not, one line saying why.
    """

    name: str
    fn: Callable[[nn.Module, Batch], float]
    higher_is_better: bool = True
    needs_data: bool = True
    needs_labels: bool = False
    bn: str = "batch"
    dtype: torch.dtype = torch.float32
    passes: str = "1 forward"
    bf16_reliable: bool = False
    bf16_why: str = "its decisions under bf16 were not measured against fp32"
    per_replica: Callable[[nn.Module, Batch, int], list[float]] | None = None

    population: ClassVar[bool] = False

    def __post_init__(self):
        if self.bn not in BN_POLICIES:
            raise ValueError(f"proxy {self.name}: unknown BN policy {self.bn!r}; choose from: {', '.join(BN_POLICIES)}")

    @property
    def parts(self) -> tuple["Proxy", ...]:
        return (self,)

    def __call__(self, model: nn.Module, batch: Batch, bn_mode: str = "train") -> float:
        return self._scores(model, bn_mode, lambda: [self.fn(model, batch)])[0]

    def measure_replicas(self, model: nn.Module, batch: Batch, k: int, bn_mode: str = "train") -> list[dict[str, float]]:
        """`measure()` of each of the k replicas of a replicated supernet, from one forward on `tile(x, k)`."""
        if self.per_replica is None:
            raise TypeError(f"proxy {self.name} cannot score replicas of one forward; measure each candidate")
        return [{self.name: v} for v in self._scores(model, bn_mode, lambda: self.per_replica(model, batch, k))]

    def _scores(self, model: nn.Module, bn_mode: str, compute: Callable[[], list]) -> list[float]:
        """`compute()` with the model in `bn_mode` and restored afterwards; non-finite values become NaN."""
        if bn_mode not in BN_MODES:
            raise ValueError(f"unknown BN mode {bn_mode!r}; choose from: {', '.join(BN_MODES)}")
        with preserved(model), folding():
            train = bn_mode == "train"
            if any(m.training != train for m in model.modules()):
                model.train(train)
            values = [float(v) for v in compute()]
        for i, value in enumerate(values):
            if not math.isfinite(value):
                warnings.warn(f"proxy {self.name} gave {value} on {type(model).__name__}; "
                              "recorded as NaN (ranked worst)", RuntimeWarning, stacklevel=3)
                values[i] = math.nan
        return values

    def measure(self, model: nn.Module, batch: Batch, bn_mode: str = "train") -> dict[str, float]:
        """The raw values this proxy's score is made of, for one model: here `{name: score}`."""
        return {self.name: self(model, batch, bn_mode)}

    def combine(self, measured: Sequence[Measured]) -> list[float]:
        """Scores of a population from each member's `measure()`: here the value itself."""
        return [float(m[self.name]) for m in measured]


@dataclass(frozen=True)
class PopulationProxy:
    """A score defined only across a population, combined from per-model parts.

    parts: the per-model proxies measured on every member (each registered on its own too).
    rule: `rule(rows, parts) -> scores`, one score per row; `rows` hold only members whose parts
        are all finite (a member with a NaN part scores NaN, ranked worst).
    Metadata (needs_data, needs_labels, bn, dtype) is that of the parts taken together.
    """

    name: str
    parts: tuple[Proxy, ...]
    rule: Callable[[list[dict[str, float]], tuple[Proxy, ...]], list[float]]
    higher_is_better: bool = True
    passes: str = ""

    population: ClassVar[bool] = True

    @property
    def needs_data(self) -> bool:
        return any(p.needs_data for p in self.parts)

    @property
    def needs_labels(self) -> bool:
        return any(p.needs_labels for p in self.parts)

    @property
    def bn(self) -> str:
        return "+".join(dict.fromkeys(p.bn for p in self.parts))

    @property
    def dtype(self) -> torch.dtype:
        return torch.float64 if any(p.dtype == torch.float64 for p in self.parts) else torch.float32

    @property
    def bf16_reliable(self) -> bool:
        return all(p.bf16_reliable for p in self.parts)

    @property
    def bf16_why(self) -> str:
        return next((f"its part {p.name}: {p.bf16_why}" for p in self.parts if not p.bf16_reliable), "")

    def __call__(self, model: nn.Module, batch: Batch, bn_mode: str = "train") -> float:
        raise PopulationOnlyError(
            f"proxy {self.name} scores a population, not one model: use "
            f"proxies.score_population(proxy, models, batch), or proxy.measure(model, batch) for its parts "
            f"({', '.join(p.name for p in self.parts)})")

    def measure(self, model: nn.Module, batch: Batch, bn_mode: str = "train") -> dict[str, float]:
        """Every part's value on one model (each part restores the model and flags NaN itself)."""
        return {p.name: p(model, batch, bn_mode) for p in self.parts}

    def combine(self, measured: Sequence[Measured]) -> list[float]:
        names = [p.name for p in self.parts]
        rows = [{n: float(m[n]) for n in names} for m in measured]
        finite = [i for i, r in enumerate(rows) if all(math.isfinite(v) for v in r.values())]
        scores = [math.nan] * len(rows)
        if finite:
            for i, s in zip(finite, self.rule([rows[i] for i in finite], self.parts)):
                scores[i] = float(s)
        return scores


AnyProxy = Proxy | PopulationProxy


def score_population(proxy: AnyProxy, models: Sequence[nn.Module], batch: Batch,
                     bn_mode: str = "train") -> list[float]:
    """Score every model on the same batch; population proxies rank them against each other."""
    return proxy.combine([proxy.measure(m, batch, bn_mode) for m in models])


def without_batchnorm(model: nn.Module) -> nn.Module:
    """A deep copy of `model` in which every BatchNorm layer is the identity."""
    clone = copy.deepcopy(model)
    for module in list(clone.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
    return clone


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and linear layers: the layers whose weights gradient-based proxies score."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@contextlib.contextmanager
def hooks_on(modules: Iterable[nn.Module], hook: Callable, *, pre: bool = False) -> Iterator[None]:
    """`hook` on each of `modules` (a forward pre-hook with `pre`, else a forward hook) for the block;
    removed afterwards, also on error. Blocks nest, for proxies that watch two kinds of module."""
    handles = [m.register_forward_pre_hook(hook) if pre else m.register_forward_hook(hook) for m in modules]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def forward_with_hooks(model: nn.Module, x: torch.Tensor, hook: Callable, kinds: type | tuple[type, ...] = nn.Module,
                       *, pre: bool = False) -> None:
    """One no-grad forward of `model` on `x` with `hook` on every module of the given kinds."""
    with hooks_on((m for m in model.modules() if isinstance(m, kinds)), hook, pre=pre), torch.no_grad():
        model(x)
