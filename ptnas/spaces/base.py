"""What a search space offers the rest of the library (selectors never import a space)."""
from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Hashable, TypeVar

import numpy as np
import torch
from torch import nn

from ptnas.spaces import cost
from ptnas.spaces.cost import Cost, CostModel
from ptnas.supernet import Supernet

if TYPE_CHECKING:
    from matplotlib.figure import Figure


MAX_PARAMS = 2**31  # a supernet larger than this (8 GiB of float32 weights) is refused before it is built


class SearchSpace:
    """A search space: a supernet builder, a genotype text format and a standalone network builder.

    Subclasses set `name`, `ops`, `size_flags`, `search_size` and implement the four methods, and
    `sample` and `neighbours` for multi-trial strategies (random search, local search, evolution), which
    only ever see genotypes: `sample(rng)` draws a genotype uniformly at random, `neighbours(g)` lists
    every genotype at edit distance 1 (one choice changed, as each space defines it) and `mutate(g, rng)`
    picks one of them uniformly; `draw(g)` for pictures of their genotypes; `feature_blocks(network)`
    for FEAR, which freezes the first blocks of a standalone network.
    `size_flags` maps the CLI's size flags (`init_channels`, `layers`) to this space's keywords,
    with a one-line help that says what the flag means here.
    `supernet_options` names the keyword options of `supernet()` beyond size (e.g. DARTS'
    `include_none`), so a CLI can tell which of its option flags apply to a space.
    `channels_last`: whether this space's supernet and networks run in channels_last memory format
    (measured faster on CPU for every space here, docs/results.md "CPU speed"); `place(model, device)` is
    where the search and the evaluators apply it. Values are those of NCHW within float rounding.
    `search_size` holds the supernet's default size keywords; `supernet()` and `network()` take the
    same size keywords, so `network(g, **search_size)` is a candidate at the supernet's size (what
    validation stages build), while `network(g)` uses the space's standalone defaults.
    """

    name: str = ""
    ops: tuple[str, ...] = ()
    size_flags: dict[str, tuple[str, str]] = {}
    search_size: dict[str, int] = {}
    supernet_epochs: int = 50  # bilevel DARTS training of the supernet when --epochs is not given (DARTS's 50)
    supernet_options: tuple[str, ...] = ()
    channels_last: bool = False
    cost_input: dict[str, int] = {"num_classes": 10, "input_size": 32}  # what `cost_model` measures by default
    genotype_size: tuple[str, ...] = ()  # size keywords that shape the genotype, not only the network's widths

    def place(self, model: nn.Module, device: torch.device | str = "cpu") -> nn.Module:
        """`model` on `device`, in this space's memory format (channels_last where `channels_last`)."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return model.to(device, memory_format=fmt)

    def supernet(self, num_classes: int = 10, **size: Any) -> Supernet:
        raise NotImplementedError

    def parse(self, text: str) -> Hashable:
        """Genotype from its text form; ValueError with a clear message when malformed."""
        raise NotImplementedError

    def network(self, genotype: Any, num_classes: int = 10, **size: Any) -> nn.Module:
        """Standalone (discrete) network of a genotype, freshly initialised."""
        raise NotImplementedError

    def cost_arguments(self, num_classes: int | None = None, input_size: int | None = None,
                       **size: Any) -> dict[str, Any]:
        """The keywords of `build_layout` with every default filled in (`cost_input` for the class count and
        input size): what names one cost model or latency table of this space. ValueError for a size
        keyword this space does not take."""
        num_classes = self.cost_input["num_classes"] if num_classes is None else num_classes
        input_size = self.cost_input["input_size"] if input_size is None else input_size
        try:
            bound = inspect.signature(self.build_layout).bind(num_classes, input_size, **size)
        except TypeError as e:
            raise ValueError(f"the {self.name} cost model takes no such size: {e}") from None
        bound.apply_defaults()  # one cache entry whether a default size is given or not
        arguments = dict(bound.arguments)
        for name, p in bound.signature.parameters.items():
            if p.kind is p.VAR_KEYWORD:
                arguments.update(arguments.pop(name, {}))
        return arguments

    def cost_model(self, num_classes: int | None = None, input_size: int | None = None, **size: Any) -> CostModel:
        """The additive cost (ptnas.spaces.cost) of `network(g, num_classes, **size)` on a
        1×3×input_size×input_size image; defaults: `cost_input` and `network()`'s own sizes (the
        final-training ones). Built once per arguments and cached."""
        arguments = self.cost_arguments(num_classes, input_size, **size)
        key = tuple(sorted(arguments.items()))
        cache = self.__dict__.setdefault("_cost_models", {})
        if key not in cache:
            cache[key] = cost.cost_model(self.build_layout(**arguments))
        return cache[key]

    def cost(self, genotype: Any, num_classes: int | None = None, input_size: int | None = None, **size: Any) -> Cost:
        """Parameters and MACs of the genotype's network (`cost_model(...).of(genotype)`)."""
        return self.cost_model(num_classes, input_size, **size).of(self._as_genotype(genotype))

    def layout(self, num_classes: int | None = None, input_size: int | None = None, **size: Any) -> cost.Layout:
        """Where each edge's op runs in the standalone network (defaults as `cost_model`'s): the slots both
        the cost model and the latency table (ptnas.spaces.latency) measure. Built fresh."""
        return self.build_layout(**self.cost_arguments(num_classes, input_size, **size))

    def build_layout(self, num_classes: int, input_size: int, **size: Any) -> cost.Layout:
        """The space's `cost.Layout` at one size (its reference network and slots); per space."""
        raise NotImplementedError(f"the {self.name or type(self).__name__} space has no cost model")

    def references(self) -> dict[str, Hashable]:
        """Published genotypes of this space, by name."""
        return {}

    def feature_blocks(self, network: nn.Module) -> list[nn.Module]:
        """The standalone network's cells or blocks between stem and classifier head, input first.

        FEAR (ptnas.evaluators.fear) freezes the stem and the first three quarters of these.
        """
        raise NotImplementedError(f"the {self.name} space does not say how its network splits into blocks")

    def at_size(self, **size: Any) -> "SearchSpace":
        """The space whose `sample` draws genotypes that fit networks of `size` (the size keywords of
        `network`): the space itself, unless its genotypes' length depends on the size (MobileNet's layers)."""
        return self

    def sample(self, rng: np.random.Generator) -> Hashable:
        """A uniformly random genotype of the space; the same generator state gives the same genotype."""
        raise NotImplementedError

    def neighbours(self, genotype: Any) -> list:
        """Every genotype at edit distance 1 from `genotype`, in a fixed order, without duplicates and
        never `genotype` itself."""
        raise NotImplementedError

    def mutate(self, genotype: Any, rng: np.random.Generator) -> Hashable:
        """One random edit: a genotype drawn uniformly from `neighbours(genotype)`."""
        options = self.neighbours(genotype)
        if not options:
            raise ValueError(f"{genotype} has no neighbour in the {self.name} space")
        return options[int(rng.integers(len(options)))]

    def draw(self, genotype: Any) -> Figure:
        """Picture of a genotype (object or text) as a matplotlib Figure, from ptnas.drawing's primitives."""
        raise NotImplementedError(f"the {self.name or type(self).__name__} space cannot draw its genotypes: "
                                  "it implements no draw() (see ptnas.drawing.cell_figure and chain_figure)")

    def size_kwargs(self, init_channels: int | None = None, layers: int | None = None) -> dict[str, int]:
        """Translate the CLI's `--init-channels` / `--layers` into this space's size keywords, checked
        by `check_size` (ValueError with one line for a non-positive or impossibly large size)."""
        out: dict[str, int] = {}
        for flag, value in (("init_channels", init_channels), ("layers", layers)):
            if value is not None:
                if flag not in self.size_flags:
                    raise ValueError(f"--{flag.replace('_', '-')} does not apply to the {self.name} space")
                out[self.size_flags[flag][0]] = value
        self.check_size(**out)
        return out

    def check_size(self, **size: Any) -> None:
        """ValueError (one line) unless every size keyword given is a positive integer and the supernet
        at that size (defaults from `search_size`) has at most MAX_PARAMS parameters. The count is
        estimated from small supernets (`estimate_params`), never by allocating the large one; keywords
        that are not sizes (e.g. `auxiliary`) are ignored."""
        flags = {kw: flag for flag, (kw, _) in self.size_flags.items()}
        for key, value in size.items():
            if key in flags and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{key} (--{flags[key].replace('_', '-')}) must be a positive integer in the "
                                 f"{self.name} space, got {value!r}")
        given = {k: v for k, v in size.items() if k in flags}
        if all(v <= self.search_size.get(k, v) for k, v in given.items()):
            return  # no larger than the default supernet
        full = {**self.search_size, **given}
        estimate = self.estimate_params(**full)
        if estimate > MAX_PARAMS:
            shown = ", ".join(f"{k}={v}" for k, v in given.items())
            raise ValueError(f"{shown} in the {self.name} space gives a supernet of about {estimate:,.0f} parameters "
                             f"(estimated), more than the {MAX_PARAMS:,} allowed; choose a smaller size")

    def estimate_params(self, **size: int) -> float:
        """Parameters of `supernet(**size)` without building it: exact counts of small supernets, fitted
        as quadratic in the width keyword (three widths up to the default) and linear in the depth
        keyword (half the default depth and the default), then evaluated at `size`."""
        width = self.size_flags["init_channels"][0] if "init_channels" in self.size_flags else None
        depth = self.size_flags["layers"][0] if "layers" in self.size_flags else None

        def count(**probe: int) -> int:
            with torch.random.fork_rng(devices=[]):
                return sum(p.numel() for p in self.supernet(**{**self.search_size, **probe}).parameters())

        def at_depth(fixed: dict[str, int]) -> float:
            if width is None:
                return float(count(**fixed))
            w0 = self.search_size[width]
            probes = [max(2, w0 // 4), max(4, w0 // 2), max(6, w0)]
            fit = np.polyfit(probes, [count(**fixed, **{width: w}) for w in probes], 2)
            return float(np.polyval(fit, size[width]))

        if depth is None:
            return at_depth({})
        d0 = self.search_size[depth]
        d1 = max(1, d0 // 2)
        high = at_depth({depth: d0})
        if d1 == d0:
            return high
        low = at_depth({depth: d1})
        return low + (size[depth] - d1) * (high - low) / (d0 - d1)

    def _as_genotype(self, genotype: Any):
        return self.parse(genotype) if isinstance(genotype, str) else genotype


T = TypeVar("T")


def sample_choices(choices: Sequence[Sequence[T]], rng: np.random.Generator) -> tuple[T, ...]:
    """One value per position, each uniform over that position's choices (drawn in position order)."""
    return tuple(options[int(rng.integers(len(options)))] for options in choices)


def choice_neighbours(values: Sequence[T], choices: Sequence[Sequence[T]]) -> list[tuple[T, ...]]:
    """Every tuple that differs from `values` in exactly one position k, there taking another value of
    `choices[k]`; ordered by position, then by the order of `choices[k]`."""
    if len(values) != len(choices):
        raise ValueError(f"{len(values)} values but {len(choices)} positions")
    values = tuple(values)
    return [values[:k] + (c,) + values[k + 1:]
            for k, options in enumerate(choices) for c in dict.fromkeys(options) if c != values[k]]
