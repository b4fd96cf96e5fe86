"""Cost limits on the networks a search may find: `--max-params M` and `--max-flops M` (millions), and
`--max-latency MS` (milliseconds, predicted by a `--latency-table` of ptnas.spaces.latency).

A `Limit` is a space's additive cost model (ptnas.spaces.cost) at the size the found network is trained at,
plus the limits. Every search honours it in its own way, through three questions:
- `allowed(state, edge)`: the ops of an edge that, decided, still leave a completion within the limit. The
  selectors keep the best-scored of these (Proposal.best), so a proposal never takes a decision after which
  nothing fits; `prunable(state, edges)` is the same for the topology step.
- `restrict(space)`: the space whose `sample`, `mutate` and `neighbours` give only networks within the limit,
  for the multi-trial strategies.
- `excess(genotype)`: why a genotype is over the limit (None: it fits); `Limited` turns that into a
  `rejected` record before any evaluator sees the genotype (the validation stage, ptnas-evaluate).
`check_reachable()` refuses a limit that no network of the space meets, before any work. `costs(...)` is the
cost model every search's networks are costed by, with or without a limit (also for the Pareto pictures).

"FLOPs" are multiply-adds, as in the DARTS, ProxylessNAS and mobile NAS papers (and NAS-Bench-Macro's
`flops`). With both limits, each is met by some completion when a decision is taken (CostModel.range's
per-component rule); the two may be met by different completions, so the final genotype is checked again.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ptnas.settings import Setting
from ptnas.spaces import latency
from ptnas.spaces.cost import Cost, CostModel, State

MILLION = 1_000_000
MAX_DRAWS = 10_000  # random genotypes drawn for one within the limit before `sample` gives up


def _positive(value: float) -> str | None:
    return None if value > 0 else f"must be positive, got {value}"


MAX_PARAMS = Setting("max_params", float, None, metavar="M", check=_positive,
                     help="only networks of at most M million parameters (the standalone network at its "
                          "final-training size, docs/costs.md)")
MAX_FLOPS = Setting("max_flops", float, None, metavar="M", check=_positive,
                    help="only networks of at most M million multiply-adds per image (the FLOPs of the DARTS and "
                         "mobile NAS papers)")
MAX_LATENCY = Setting("max_latency", float, None, metavar="MS", check=_positive,
                      help="only networks whose latency, predicted by --latency-table, is at most MS milliseconds "
                           "(one batch-1 forward on the table's device)")
LATENCY_TABLE = Setting("latency_table", str, None, metavar="FILE",
                        help="a ptnas-latency table of the space at the final-training size: what --max-latency "
                             "predicts with, and the latency axis of the Pareto pictures")
SETTINGS = (MAX_PARAMS, MAX_FLOPS, MAX_LATENCY, LATENCY_TABLE)


def check_settings(max_latency: float | None, latency_table: str | None) -> None:
    """ValueError (one line) for limit settings that cannot go together; needs no work."""
    if max_latency is not None and latency_table is None:
        raise ValueError("--max-latency needs --latency-table FILE, the ptnas-latency table that predicts a "
                         "network's latency (docs/costs.md)")


def costs(space, num_classes: int, image_size: int, size: dict[str, Any] | None = None,
          latency_table: str | None = None) -> CostModel:
    """The cost model of a search's networks on `num_classes` classes of `image_size` images: the network at
    the space's final-training size (`cost_model()`), with the search's classes where the space trains its
    networks at the search's image size (the cell spaces on CIFAR), else the space's own (`cost_input`:
    MobileNet on ImageNet, 1000 classes at 224). Of the search's `size`, only what shapes the genotype
    (`space.genotype_size`, MobileNet's layers) carries over: the widths and depths of a supernet are not
    those of the network it yields. With `latency_table` (a file), latency is its third component; a table
    of another space or size is refused in one line (`latency.load`)."""
    same = image_size == space.cost_input["input_size"]
    arguments = {"num_classes": num_classes if same else None,
                 **{k: v for k, v in (size or {}).items() if k in space.genotype_size}}
    table = latency.load(latency_table, space.name, arguments) if latency_table is not None else None
    model = space.cost_model(**arguments)
    return model if table is None else model.with_latency(table)


def _millions(value: int) -> str:
    return f"{value / MILLION:.4g}M"


@dataclass(frozen=True)
class Limit:
    """`model`'s costs limited to `max_params` parameters, `max_macs` multiply-adds and `max_latency`
    milliseconds (None: no limit; a latency limit needs a model with latency, `CostModel.with_latency`)."""

    model: CostModel
    max_params: int | None = None
    max_macs: int | None = None
    space: str = ""
    max_latency: float | None = None

    @classmethod
    def of(cls, space, num_classes: int, image_size: int, size: dict[str, Any] | None = None,
           max_params: float | None = None, max_flops: float | None = None, max_latency: float | None = None,
           latency_table: str | None = None) -> Limit | None:
        """The limit of a search on `num_classes` classes of `image_size` images (None when no limit is
        given), on the networks `costs(...)` prices (a latency limit needs `latency_table`)."""
        check_settings(max_latency, latency_table)
        if max_params is None and max_flops is None and max_latency is None:
            return None
        model = costs(space, num_classes, image_size, size, latency_table)
        return cls(model, None if max_params is None else int(max_params * MILLION),
                   None if max_flops is None else int(max_flops * MILLION), space.name, max_latency)

    @property
    def limits(self) -> dict[str, float]:
        """The given limits as CostModel keywords."""
        given = {"max_params": self.max_params, "max_macs": self.max_macs, "max_latency": self.max_latency}
        return {k: v for k, v in given.items() if v is not None}

    def describe(self) -> dict[str, Any]:
        """The limits in the settings' words (millions, ms), for genotype.json."""
        return {"max_params": None if self.max_params is None else self.max_params / MILLION,
                "max_flops": None if self.max_macs is None else self.max_macs / MILLION,
                "max_latency": self.max_latency}

    def cost(self, genotype: Hashable) -> Cost:
        return self.model.of(genotype)

    def excess(self, genotype: Hashable) -> str | None:
        """Why `genotype`'s network is over the limit, in one line; None when it fits."""
        return self._over(self.cost(genotype), "")

    def _over(self, cost: Cost, what: str) -> str | None:
        if self.max_params is not None and cost.params > self.max_params:
            return (f"{what}{_millions(cost.params)} parameters, over --max-params {self.max_params / MILLION:g}")
        if self.max_macs is not None and cost.macs > self.max_macs:
            return f"{what}{_millions(cost.macs)} multiply-adds, over --max-flops {self.max_macs / MILLION:g}"
        if self.max_latency is not None and cost.latency > self.max_latency:
            return f"{what}{cost.latency:.4g} ms predicted latency, over --max-latency {self.max_latency:g}"
        return None

    def check_reachable(self, state: State = None) -> None:
        """ValueError (one line) when no completion of `state` (None: the whole space) fits."""
        low, _ = self.model.range(state)
        problem = self._over(low, f"no network of the {self.space or 'searched'} space fits: the smallest has ")
        if problem is not None:
            raise ValueError(problem)

    def allowed(self, state: State, edge: str) -> tuple[str, ...]:
        """The alive ops of `edge` after which a completion of `state` still fits."""
        return self.model.allowed(state, edge, **self.limits)

    def prunable(self, state: State, edges: Sequence[str]) -> list[str]:
        """The edges of `edges` whose pruning still leaves a completion of `state` within the limit."""
        return [e for e in edges if self.model.range(state, prune=[e])[0].within(**self.limits)]

    def restrict(self, space) -> LimitedSpace:
        return LimitedSpace(space, self)


class LimitedSpace:
    """`space` with `sample`, `mutate` and `neighbours` restricted to networks within `limit`; everything
    else is the space's own."""

    def __init__(self, space, limit: Limit):
        self._space, self.limit = space, limit

    def __getattr__(self, name: str):
        return getattr(self._space, name)

    def fits(self, genotype: Hashable) -> bool:
        return self.limit.excess(genotype) is None

    def sample(self, rng: np.random.Generator, **kwargs) -> Hashable:
        """A random genotype of the space within the limit: the space's uniform draw, repeated until one
        fits (so uniform over the networks within the limit)."""
        for _ in range(MAX_DRAWS):
            g = self._space.sample(rng, **kwargs)
            if self.fits(g):
                return g
        raise ValueError(f"none of {MAX_DRAWS:,} random networks of the {self._space.name} space fits "
                         f"{_describe(self.limit)}: the limit leaves too few to sample")

    def neighbours(self, genotype: Any) -> list:
        return [g for g in self._space.neighbours(genotype) if self.fits(g)]

    def mutate(self, genotype: Any, rng: np.random.Generator) -> Hashable:
        """One random edit within the limit: a uniform draw from `neighbours`."""
        options = self.neighbours(genotype)
        if not options:
            raise ValueError(f"{genotype} has no neighbour within {_describe(self.limit)} in the "
                             f"{self._space.name} space")
        return options[int(rng.integers(len(options)))]


def _describe(limit: Limit) -> str:
    return " and ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in limit.describe().items() if v is not None)
