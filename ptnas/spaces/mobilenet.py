"""The MobileNet-like space of ProxylessNAS (Cai et al., "ProxylessNAS: Direct Neural Architecture
Search on Target Task and Hardware", ICLR 2019), as the Zero-Cost-PT paper (Xiang et al., AAAI 2023)
searches it.

Layout: 3×3 stride-2 stem (32 channels), a fixed MBConv1 3×3 block to 16 channels, then 21 searchable
blocks in 6 stages of widths 24, 40, 80, 96, 192, 320 with 4, 4, 4, 4, 4, 1 blocks and first strides
2, 2, 2, 1, 2, 1; a 1×1 feature-mix conv to 1280 channels, global average pooling and a linear
classifier. Choices per block: MBConv with kernel 3/5/7 and expansion 3/6, plus `zero` (skip the
block) on every block but the first of a stage (the one that changes stride or width). A block with
stride 1 and unchanged width has a residual shortcut. The total stride is 32, so any input size
works (32×32 CIFAR, 224×224 ImageNet).

Each block is its own decision (`block00` … `block20`). The supernet is a chain, so it reuses the
unchanged prefix when one block is perturbed (ptnas.supernet.chain).
"""
from __future__ import annotations

import copy

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch import nn

from ptnas.ops import mobilenet as ops
from ptnas.spaces import cost
from ptnas.spaces.base import SearchSpace, choice_neighbours, sample_choices
from ptnas.supernet import ChainSupernet, MixedOp

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STEM, FIRST_BLOCK, FEATURE_MIX = 32, 16, 1280
STAGES = ((24, 4, 2), (40, 4, 2), (80, 4, 2), (96, 4, 1), (192, 4, 2), (320, 1, 1))  # (width, blocks, first stride)
WIDTHS = (STEM, FIRST_BLOCK, *(w for w, _, _ in STAGES), FEATURE_MIX)  # the 9 widths a network is built from
MAX_LAYERS = max(n for _, n, _ in STAGES)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a width to a multiple of `divisor`, never below 90 % of v (the MobileNetV2 rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def widths_for(C: int) -> tuple[int, ...]:
    """The 9 widths scaled by C/32 (C = stem width); the feature-mix width only grows, as in MobileNetV2."""
    if not isinstance(C, int) or isinstance(C, bool) or C < 1:
        raise ValueError(f"C (the stem width) must be a positive integer, got {C!r}")
    r = C / STEM
    scaled = [C] + [make_divisible(w * r) for w in WIDTHS[1:-1]]
    return tuple(scaled + [FEATURE_MIX if r <= 1 else make_divisible(FEATURE_MIX * r)])


def stage_blocks(layers: int) -> tuple[int, ...]:
    """Blocks per stage for `layers` (1..4): min(layers, published count)."""
    if not 1 <= layers <= MAX_LAYERS:
        raise ValueError(f"layers (searchable blocks per stage) must be in 1..{MAX_LAYERS}, got {layers}")
    return tuple(min(n, layers) for _, n, _ in STAGES)


class BlockSpec(NamedTuple):
    C_in: int
    C_out: int
    stride: int
    first: bool  # first block of its stage: no `zero` choice (it changes stride or width)


def block_specs(widths: tuple[int, ...], layers: int = MAX_LAYERS) -> list[BlockSpec]:
    """Shape of every searchable block, in order."""
    specs = []
    C_in = widths[1]
    for (_, _, stride), n, C_out in zip(STAGES, stage_blocks(layers), widths[2:-1]):
        for j in range(n):
            specs.append(BlockSpec(C_in, C_out, stride if j == 0 else 1, j == 0))
            C_in = C_out
    return specs


def block_ops(spec: BlockSpec) -> tuple[str, ...]:
    """The choices of a block: the six MBConvs, plus `zero` unless it is the first of its stage."""
    return ops.MBCONV_OPS if spec.first else ops.OPS


def layers_of(num_blocks: int) -> int:
    for layers in range(1, MAX_LAYERS + 1):
        if sum(stage_blocks(layers)) == num_blocks:
            return layers
    valid = ", ".join(str(sum(stage_blocks(n))) for n in range(1, MAX_LAYERS + 1))
    raise ValueError(f"a MobileNet genotype has {valid} blocks (1..{MAX_LAYERS} per stage), got {num_blocks}")


def has_shortcut(C_in: int, C_out: int, stride: int) -> bool:
    """A residual shortcut wherever the block keeps stride 1 and its width (ProxylessNAS' rule)."""
    return stride == 1 and C_in == C_out


# ---- genotype ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MobileNetGenotype:
    """One op per searchable block, and optionally the network's own 9 widths (stem, first block, six
    stages, feature mix) for published networks that are wider than the search space.

    Text: the op names joined by commas, e.g. `mb_k5_e3,zero,...,mb_k7_e6`, with `;widths=40,24,...`
    appended when widths are given. JSON: `{"blocks": [...], "widths": [...]}` (also accepted by parse).
    """

    blocks: tuple[str, ...]
    widths: tuple[int, ...] | None = None

    def __post_init__(self):
        layers = layers_of(len(self.blocks))
        if self.widths is not None and (len(self.widths) != len(WIDTHS) or any(
                not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in self.widths)):
            raise ValueError(f"widths must be {len(WIDTHS)} positive integers (stem, first block, 6 stages, "
                             f"feature mix), got {self.widths}")
        for k, (op, spec) in enumerate(zip(self.blocks, block_specs(self.widths or WIDTHS, layers))):
            if op not in ops.OPS:
                raise ValueError(f"unknown MobileNet op {op!r} at block {k}; choose from: {', '.join(ops.OPS)}")
            if op == "zero" and spec.first:
                raise ValueError(f"block {k} is the first of its stage (stride {spec.stride}, {spec.C_in}->{spec.C_out} "
                                 "channels in the search space); `zero` only applies to the later blocks of a stage")

    @property
    def layers(self) -> int:
        return layers_of(len(self.blocks))

    def __str__(self) -> str:
        text = ",".join(self.blocks)
        return text if self.widths is None else f"{text};widths={','.join(map(str, self.widths))}"

    def to_json(self) -> dict:
        return {"blocks": list(self.blocks), **({"widths": list(self.widths)} if self.widths else {})}

    @classmethod
    def parse(cls, text: str) -> MobileNetGenotype:
        text = text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"MobileNet genotype JSON does not parse: {e}") from None
            if not isinstance(data, dict) or not isinstance(data.get("blocks"), list) or set(data) - {"blocks", "widths"}:
                raise ValueError('MobileNet genotype JSON must be {"blocks": [op, ...]} with an optional "widths" list')
            widths = data.get("widths")
            return cls(tuple(data["blocks"]), None if widths is None else tuple(widths))
        ops_text, _, widths_text = text.partition(";")
        blocks = tuple(o.strip() for o in ops_text.split(","))
        widths = None
        if widths_text:
            name, _, values = widths_text.partition("=")
            try:
                if name.strip() != "widths":
                    raise ValueError
                widths = tuple(int(v) for v in values.split(","))
            except ValueError:
                raise ValueError(f"expected ';widths=W1,...,W9' after the blocks, got {widths_text!r}") from None
        return cls(blocks, widths)


# ---- supernet ----------------------------------------------------------------------------------
class SearchBlock(nn.Module):
    """One searchable block: Σ_o w_o · op_o(x) over the alive candidates, plus x when it has a shortcut."""

    def __init__(self, C_in: int, C_out: int, stride: int, candidates: tuple[str, ...]):
        super().__init__()
        self.shortcut = has_shortcut(C_in, C_out, stride)
        self.mixed = MixedOp({o: ops.build(o, C_in, C_out, stride) for o in candidates})

    def forward(self, x: torch.Tensor, weights) -> torch.Tensor:
        if weights is None:  # the whole edge is switched off: only the shortcut is left
            if not self.shortcut:
                raise RuntimeError("a block without shortcut cannot be removed from the chain")
            return x
        y = self.mixed(x, weights)
        return y + x if self.shortcut else y


def _stem(widths: tuple[int, ...]) -> nn.Sequential:
    return nn.Sequential(ops.ConvBNReLU6(3, widths[0], 3, stride=2), ops.MBConv(widths[0], widths[1], 3, 1, 1))


def _head(C_last: int, C_mix: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    dropout_layer = [nn.Dropout(dropout)] if dropout > 0 else []
    return nn.Sequential(ops.ConvBNReLU6(C_last, C_mix, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(1),
                         *dropout_layer, nn.Linear(C_mix, num_classes))


def edge_name(k: int) -> str:
    return f"block{k:02d}"


class MobileNetSupernet(ChainSupernet):
    """Every candidate in every block (ProxylessNAS' over-parameterised network), one decision per block."""

    def __init__(self, C: int = STEM, layers: int = MAX_LAYERS, num_classes: int = 10, prefix_cache: bool = True):
        widths = widths_for(C)
        specs = block_specs(widths, layers)
        candidates = {edge_name(k): block_ops(s) for k, s in enumerate(specs)}
        blocks = [SearchBlock(*s[:3], candidates[edge_name(k)]) for k, s in enumerate(specs)]
        super().__init__(candidates, _stem(widths), blocks, _head(widths[-2], widths[-1], num_classes),
                         prefix_cache=prefix_cache)
        self.widths = widths

    def genotype(self) -> MobileNetGenotype:
        self._require_all_decided()
        return MobileNetGenotype(tuple(self.candidates(e)[0] for e in self.edges()))


# ---- standalone network ------------------------------------------------------------------------
class Block(nn.Module):
    """A standalone block: MBConv (+ shortcut where stride 1 and width kept), or nothing for `zero`."""

    def __init__(self, op: str, C_in: int, C_out: int, stride: int):
        super().__init__()
        self.shortcut = has_shortcut(C_in, C_out, stride)
        self.op = None if op == "zero" else ops.build(op, C_in, C_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.op is None:
            return x
        y = self.op(x)
        return y + x if self.shortcut else y


class MobileNetNetwork(nn.Module):
    """The network of a genotype: stem, first block, the searchable blocks, feature mix, classifier."""

    def __init__(self, genotype: MobileNetGenotype, num_classes: int = 1000, C: int | None = None,
                 dropout: float = 0.0):
        super().__init__()
        if genotype.widths is not None and C is not None and C != genotype.widths[0]:
            raise ValueError(f"this genotype carries its own widths (stem {genotype.widths[0]}); C={C} does not apply")
        widths = genotype.widths or widths_for(STEM if C is None else C)
        self.genotype = genotype
        self.stem = _stem(widths)
        self.blocks = nn.Sequential(*(Block(op, *spec[:3]) for op, spec in
                                      zip(genotype.blocks, block_specs(widths, genotype.layers))))
        self.head = _head(widths[-2], widths[-1], num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


# ---- the space ---------------------------------------------------------------------------------
class MobileNetSpace(SearchSpace):
    name = "mobilenet"
    ops = ops.OPS
    size_flags = {
        "init_channels": ("C", "stem width C; every width scales by C/32 (default 32, the ProxylessNAS widths)"),
        "layers": ("layers", f"searchable blocks per stage, 1..{MAX_LAYERS} (default {MAX_LAYERS}: 21 blocks)"),
    }
    search_size = {"C": STEM, "layers": MAX_LAYERS}
    channels_last = True  # fp32 forward 5.0× supernet, 3.0× network faster on CPU (benchmarks/search_speed.py)
    supernet_options = ("prefix_cache",)
    cost_input = {"num_classes": 1000, "input_size": 224}  # ImageNet, where ProxylessNAS networks are trained
    genotype_size = ("layers",)  # a genotype has one op per block

    def supernet(self, num_classes: int = 10, C: int = STEM, layers: int = MAX_LAYERS,
                 prefix_cache: bool = True) -> MobileNetSupernet:
        return MobileNetSupernet(C=C, layers=layers, num_classes=num_classes, prefix_cache=prefix_cache)

    def check_size(self, **size) -> None:
        super().check_size(**{k: v for k, v in size.items() if k != "layers"})
        if "layers" in size:
            if not isinstance(size["layers"], int) or isinstance(size["layers"], bool):
                raise ValueError(f"layers (--layers) must be an integer in the mobilenet space, got {size['layers']!r}")
            stage_blocks(size["layers"])  # 1..MAX_LAYERS: fewer parameters than the default, nothing to estimate

    def parse(self, text: str) -> MobileNetGenotype:
        return MobileNetGenotype.parse(text)

    def network(self, genotype, num_classes: int = 10, C: int | None = None, layers: int | None = None,
                input_size: int = 224, dropout: float = 0.0) -> MobileNetNetwork:
        """`layers` must agree with the genotype's block count; `input_size` is accepted for a uniform
        interface (the network is fully convolutional up to global pooling, so any size works)."""
        g = self._as_genotype(genotype)
        if layers is not None and layers != g.layers:
            raise ValueError(f"the genotype has {len(g.blocks)} blocks ({g.layers} per stage), not layers={layers}")
        if input_size < 1:
            raise ValueError(f"input_size must be positive, got {input_size}")
        return MobileNetNetwork(g, num_classes=num_classes, C=C, dropout=dropout)

    def build_layout(self, num_classes: int, input_size: int, C: int | None = None,
                     layers: int = MAX_LAYERS) -> cost.Layout:
        """Additive over the blocks (`zero` costs nothing). A genotype with its own widths, or another
        block count, is counted from its network instead (and has no range)."""
        widths = widths_for(STEM if C is None else C)
        specs = block_specs(widths, layers)
        edges = [edge_name(k) for k in range(len(specs))]
        reference = MobileNetGenotype(("mb_k3_e3",) * len(specs))
        net = MobileNetNetwork(reference, num_classes=num_classes, C=C)
        shapes = cost.io_shapes(net, net.blocks, input_size)
        slots = [cost.Slot(e, tuple(spec[:3]), shapes[id(block)][0]) for e, spec, block in zip(edges, specs, net.blocks)]
        edge_ops = {e: block_ops(spec) for e, spec in zip(edges, specs)}

        def choices(g):
            fits = g.widths in (None, widths) and len(g.blocks) == len(specs)
            return list(zip(edges, g.blocks)) if fits else None

        def network(g):
            return self.network(g, num_classes, C=None if g.widths else C)

        return cost.Layout(net, reference, input_size, tuple(slots), edge_ops, Block, edge_ops,
                           choices=choices, network_of=network)

    def feature_blocks(self, network: MobileNetNetwork) -> list[nn.Module]:
        """The searchable blocks (a skipped block is an identity with nothing to train)."""
        return list(network.blocks)

    sample_layers = MAX_LAYERS  # blocks per stage of a sampled genotype (`at_size`)

    def at_size(self, **size) -> "MobileNetSpace":
        layers = size.get("layers") or MAX_LAYERS
        if layers == self.sample_layers:
            return self
        stage_blocks(layers)  # 1..MAX_LAYERS
        sized = copy.copy(self)
        sized.sample_layers = layers
        return sized

    def sample(self, rng: np.random.Generator, layers: int | None = None) -> MobileNetGenotype:
        """Each block uniform over its choices (`block_ops`), at `layers` blocks per stage (default: the
        space's, 4 = 21 blocks, or that of `at_size`)."""
        specs = block_specs(WIDTHS, layers or self.sample_layers)
        return MobileNetGenotype(sample_choices([block_ops(s) for s in specs], rng))

    def neighbours(self, genotype) -> list[MobileNetGenotype]:
        """One block's op changed to another of its choices (so never `zero` on the first block of a
        stage), block by block; a genotype's own widths are kept."""
        g = self._as_genotype(genotype)
        choices = [block_ops(s) for s in block_specs(WIDTHS, g.layers)]
        return [replace(g, blocks=t) for t in choice_neighbours(g.blocks, choices)]

    def draw(self, genotype) -> Figure:
        """The chain: stem, the fixed MB1 block, one box per searchable block (MB<e> <k>×<k>, or a dashed
        `skip` for `zero`), feature mix; each stage captioned with its width and first stride."""
        from ptnas import drawing

        g = self._as_genotype(genotype)
        widths = g.widths or WIDTHS
        shapes = {f"mb_k{k}_e{e}": (k, e) for k in ops.KERNELS for e in ops.EXPANSIONS}
        specs = iter(zip(g.blocks, block_specs(widths, g.layers)))
        stages = [drawing.Stage(f"{widths[0]} ch\nstride 2", (drawing.Block("3×3 conv", searched=False),)),
                  drawing.Stage(f"{widths[1]} ch", (drawing.Block("MB1 3×3", height=0.75, searched=False),))]
        for n in stage_blocks(g.layers):
            blocks = [next(specs) for _ in range(n)]
            boxes = tuple(drawing.Block("skip", skipped=True) if op == "zero" else drawing.mbconv_block(*shapes[op])
                          for op, _ in blocks)
            first = blocks[0][1]
            stages.append(drawing.Stage(f"{first.C_out} ch\nstride {first.stride}", boxes))
        stages.append(drawing.Stage(f"{widths[-1]} ch", (drawing.Block("1×1 conv", searched=False),
                                                         drawing.Block("pool, FC", searched=False))))
        return drawing.chain_figure(stages, title="ProxylessNAS / MobileNet blocks",
                                    legend=drawing.mbconv_legend(ops.KERNELS, skipped="skipped block (zero)"))

    def references(self) -> dict[str, MobileNetGenotype]:
        """The three specialised ProxylessNAS networks (GPU, CPU, Mobile; Cai et al. 2019, Table 3 and
        Fig. 4), with the widths of their released network configurations. GPU and CPU are wider than
        the search space; Mobile uses 32 (not 24) channels in its first searchable stage."""
        return {name: MobileNetGenotype.parse(text) for name, text in REFERENCES.items()}


REFERENCES = {
    "proxylessnas_gpu": "mb_k5_e3,zero,zero,zero,mb_k7_e3,zero,zero,mb_k3_e3,mb_k7_e6,zero,zero,mb_k5_e3,"
                        "mb_k5_e6,zero,mb_k3_e3,mb_k5_e3,mb_k7_e6,mb_k7_e6,mb_k7_e6,mb_k5_e6,mb_k7_e6;"
                        "widths=40,24,32,56,112,128,256,432,1728",
    "proxylessnas_cpu": "mb_k3_e6,mb_k3_e3,mb_k3_e3,mb_k3_e3,mb_k3_e6,mb_k3_e3,mb_k3_e3,mb_k5_e3,mb_k3_e6,zero,zero,"
                        "mb_k3_e3,mb_k5_e6,mb_k3_e3,mb_k3_e3,mb_k3_e3,mb_k5_e6,mb_k5_e3,mb_k5_e3,mb_k3_e3,mb_k5_e6;"
                        "widths=40,24,32,48,88,104,216,360,1432",
    "proxylessnas_mobile": "mb_k5_e3,mb_k3_e3,zero,zero,mb_k7_e3,mb_k3_e3,mb_k5_e3,mb_k5_e3,mb_k7_e6,mb_k5_e3,"
                           "mb_k5_e3,mb_k5_e3,mb_k5_e6,mb_k5_e3,mb_k5_e3,mb_k5_e3,mb_k7_e6,mb_k7_e6,mb_k7_e3,"
                           "mb_k7_e3,mb_k7_e6;widths=32,16,32,40,80,96,192,320,1280",
}
