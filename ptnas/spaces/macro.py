"""NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree Search", CVPR
2021): a MobileNetV2-style chain of 8 searchable layers with 3 choices each, 3⁸ = 6,561 architectures,
every one trained on CIFAR-10 (the benchmark table gives their test accuracy, params and FLOPs).

Layout, as the benchmark's networks are built: 3×3 stride-1 stem conv to C=32 channels + BN + ReLU;
stages of 2, 3 and 3 layers whose first layer has stride 2 and doubles the width (64, 128, 256 at C=32);
then a 1×1 conv to 1280 channels + BN + ReLU, global average pooling and a linear classifier. Choices per
layer (ptnas.ops.macro): `identity` (0), `mb_e3_k3` (1), `mb_e6_k5` (2); a stride-2 `identity` is the
benchmark's 1×1 stride-2 conv + BN. The standalone network has exactly the benchmark's parameter count
for all 6,561 architectures (tested).

Genotype text: the benchmark's key, one digit per layer, e.g. `22212220` (the best architecture). Each
layer is its own decision (`layer0` … `layer7`, in key order). The supernet is a chain, so it reuses the
unchanged prefix when one layer is perturbed (ptnas.supernet.chain).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch import nn

from ptnas.ops import macro as ops
from ptnas.spaces import cost
from ptnas.spaces.base import SearchSpace, choice_neighbours, sample_choices
from ptnas.supernet import ChainSupernet, MixedOp

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STEM = 32  # the benchmark's stem width C; the stages have 2C, 4C, 8C channels
STAGES = (2, 3, 3)  # layers per stage; the first layer of each has stride 2 and doubles the width
HEAD = 1280  # width of the 1×1 conv before pooling
LAYERS = sum(STAGES)
KEY_HELP = "one digit per layer: " + ", ".join(f"{i} {op}" for i, op in enumerate(ops.OPS))


class LayerSpec(NamedTuple):
    C_in: int
    C_out: int
    stride: int


def layer_specs(C: int = STEM) -> list[LayerSpec]:
    """Shape of every searchable layer, in key order."""
    specs = []
    for n in STAGES:
        specs.append(LayerSpec(C, 2 * C, 2))
        C *= 2
        specs += [LayerSpec(C, C, 1)] * (n - 1)
    return specs


# ---- genotype ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MacroGenotype:
    """One op per layer. Text: the benchmark's 8-digit key (`0` identity, `1` mb_e3_k3, `2` mb_e6_k5)."""

    layers: tuple[str, ...]

    def __post_init__(self):
        if len(self.layers) != LAYERS:
            raise ValueError(f"a NAS-Bench-Macro genotype has {LAYERS} layers, got {len(self.layers)}")
        for k, op in enumerate(self.layers):
            if op not in ops.OPS:
                raise ValueError(f"unknown NAS-Bench-Macro op {op!r} at layer {k}; choose from: {', '.join(ops.OPS)}")

    def __str__(self) -> str:
        return "".join(str(ops.OPS.index(op)) for op in self.layers)

    @classmethod
    def parse(cls, text: str) -> MacroGenotype:
        key = text.strip()
        if len(key) != LAYERS:
            raise ValueError(f"a NAS-Bench-Macro genotype is its {LAYERS}-character key ({KEY_HELP}; e.g. 22212220), "
                             f"got {key!r} ({len(key)} characters)")
        bad = [(k, c) for k, c in enumerate(key) if c not in "012"]
        if bad:
            k, c = bad[0]
            raise ValueError(f"NAS-Bench-Macro key {key!r}: character {k} is {c!r}; each must be {KEY_HELP}")
        return cls(tuple(ops.OPS[int(c)] for c in key))


# ---- supernet ----------------------------------------------------------------------------------
class SearchLayer(nn.Module):
    """One searchable layer: Σ_o w_o · op_o(x) over the alive candidates (each op has its own shortcut)."""

    def __init__(self, C_in: int, C_out: int, stride: int):
        super().__init__()
        self.keeps_shape = stride == 1 and C_in == C_out
        self.mixed = MixedOp({o: ops.build(o, C_in, C_out, stride) for o in ops.OPS})

    def forward(self, x: torch.Tensor, weights) -> torch.Tensor:
        if weights is None:  # the whole layer is switched off: only possible where it keeps the shape
            if not self.keeps_shape:
                raise RuntimeError("a layer that changes stride or width cannot be removed from the chain")
            return x
        return self.mixed(x, weights)


def _stem(C: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C, eps=ops.BN_EPS), nn.ReLU())


def _head(C_last: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(C_last, HEAD, 1, bias=False), nn.BatchNorm2d(HEAD, eps=ops.BN_EPS), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(HEAD, num_classes))


def edge_name(k: int) -> str:
    return f"layer{k}"


def _check_C(C: int) -> None:
    if not isinstance(C, int) or isinstance(C, bool) or C < 1:
        raise ValueError(f"C (the stem width) must be a positive integer, got {C!r}")


class MacroSupernet(ChainSupernet):
    """Every op in every layer, one decision per layer. The layer output is Σ_o softmax(α)_o · op_o(x)
    (the library's MixedOp rule; Zero-Cost-PT's own NAS-Bench-Macro code uses fixed weights of 1/3)."""

    def __init__(self, C: int = STEM, num_classes: int = 10, prefix_cache: bool = True):
        _check_C(C)
        specs = layer_specs(C)
        super().__init__({edge_name(k): ops.OPS for k in range(LAYERS)}, _stem(C),
                         [SearchLayer(*s) for s in specs], _head(specs[-1].C_out, num_classes),
                         prefix_cache=prefix_cache)

    def genotype(self) -> MacroGenotype:
        self._require_all_decided()
        return MacroGenotype(tuple(self.candidates(e)[0] for e in self.edges()))


# ---- standalone network ------------------------------------------------------------------------
class MacroNetwork(nn.Module):
    """The benchmark's network of a genotype: stem, the 8 layers, 1×1 conv to 1280, pooling, classifier."""

    def __init__(self, genotype: MacroGenotype, num_classes: int = 10, C: int = STEM):
        super().__init__()
        _check_C(C)
        self.genotype = genotype
        specs = layer_specs(C)
        self.stem = _stem(C)
        self.layers = nn.Sequential(*(ops.build(op, *s) for op, s in zip(genotype.layers, specs)))
        self.head = _head(specs[-1].C_out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))


# ---- the space ---------------------------------------------------------------------------------
class MacroSpace(SearchSpace):
    name = "macro"
    ops = ops.OPS
    size_flags = {"init_channels": ("C", "stem width C; the stages have 2C, 4C, 8C channels (default 32, the benchmark's)")}
    search_size = {"C": STEM}
    channels_last = True  # fp32 forward 1.4× supernet, 1.8× network faster on CPU (benchmarks/search_speed.py)
    supernet_options = ("prefix_cache",)

    def supernet(self, num_classes: int = 10, C: int = STEM, prefix_cache: bool = True) -> MacroSupernet:
        return MacroSupernet(C=C, num_classes=num_classes, prefix_cache=prefix_cache)

    def parse(self, text: str) -> MacroGenotype:
        return MacroGenotype.parse(text)

    def network(self, genotype, num_classes: int = 10, C: int = STEM) -> MacroNetwork:
        return MacroNetwork(self._as_genotype(genotype), num_classes=num_classes, C=C)

    def build_layout(self, num_classes: int, input_size: int, C: int = STEM) -> cost.Layout:
        """Additive over the 8 layers (each op is a whole layer, shortcut included)."""
        def network(g):
            return MacroNetwork(g, num_classes=num_classes, C=C)

        reference = MacroGenotype(("mb_e3_k3",) * LAYERS)
        net = network(reference)
        shapes = cost.io_shapes(net, net.layers, input_size)
        edges = [edge_name(k) for k in range(LAYERS)]
        slots = [cost.Slot(e, tuple(spec), shapes[id(layer)][0]) for e, spec, layer in zip(edges, layer_specs(C), net.layers)]
        return cost.Layout(net, reference, input_size, tuple(slots), {e: ops.OPS for e in edges}, ops.build,
                           {e: ops.OPS for e in edges}, choices=lambda g: list(zip(edges, g.layers)), network_of=network)

    def feature_blocks(self, network: MacroNetwork) -> list[nn.Module]:
        """The 8 searchable layers."""
        return list(network.layers)

    def sample(self, rng: np.random.Generator) -> MacroGenotype:
        """Each of the 8 layers uniform over the 3 ops: the 6,561 architectures equally likely."""
        return MacroGenotype(sample_choices([ops.OPS] * LAYERS, rng))

    def neighbours(self, genotype) -> list[MacroGenotype]:
        """The 16 architectures with one layer's op changed (8 layers × 2 other ops), layer by layer."""
        g = self._as_genotype(genotype)
        return [MacroGenotype(t) for t in choice_neighbours(g.layers, [ops.OPS] * LAYERS)]

    def draw(self, genotype) -> Figure:
        """The chain: stem, one box per layer (MB<e> <k>×<k>; `identity` dashed, or the benchmark's 1×1
        stride-2 conv where the layer reduces), 1×1 conv to 1280; each stage captioned with width and stride."""
        from ptnas import drawing

        g = self._as_genotype(genotype)
        layers = iter(zip(g.layers, layer_specs()))
        stages = [drawing.Stage(f"{STEM} ch", (drawing.Block("3×3 conv", searched=False),))]
        for n in STAGES:
            boxes = []
            for op, spec in (next(layers) for _ in range(n)):
                if op != "identity":
                    _, e, k = op.split("_")
                    boxes.append(drawing.mbconv_block(int(k[1:]), int(e[1:])))
                elif spec.stride == 1:
                    boxes.append(drawing.Block("identity", skipped=True))
                else:  # a reducing identity is the benchmark's 1×1 stride-2 conv + BN
                    boxes.append(drawing.Block("id: 1×1 conv", drawing.KERNEL_COLOURS[1]))
            stages.append(drawing.Stage(f"{spec.C_out} ch\nstride 2", tuple(boxes)))
        stages.append(drawing.Stage(f"{HEAD} ch", (drawing.Block("1×1 conv", searched=False),
                                                  drawing.Block("pool, FC", searched=False))))
        return drawing.chain_figure(stages, title=f"NAS-Bench-Macro {g}",
                                    legend=[(drawing.KERNEL_COLOURS[1], "reducing identity (1×1 conv, stride 2)"),
                                            *drawing.mbconv_legend((3, 5), skipped="identity")])

    def references(self) -> dict[str, MacroGenotype]:
        """The benchmark's best architecture (highest CIFAR-10 test accuracy, mean of 3 seeds: 93.13 %)."""
        return {"macro_best": MacroGenotype.parse("22212220")}
