"""NAS-Bench-201 (Dong & Yang, ICLR 2020): a cell of 4 nodes and 6 edges, 5 ops, 15,625 architectures.

Macro skeleton (the benchmark's `TinyNetwork`): 3×3 conv stem + BN; three stages of N cells with C, 2C,
4C channels joined by stride-2 residual blocks; final BN + ReLU; global average pooling; linear.
Every cell shares the same genotype, so the supernet has 6 decisions, shared by all its cells.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ptnas.ops import nb201 as ops
from ptnas.spaces import cost
from ptnas.spaces.base import SearchSpace, choice_neighbours, sample_choices
from ptnas.supernet import MixedOp, Supernet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NODES = 4
EDGES = tuple(f"{j}<-{i}" for j in range(1, NODES) for i in range(j))  # 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2


@dataclass(frozen=True)
class NB201Genotype:
    """One op per edge, in `EDGES` order; `str()` gives the benchmark's arch string."""

    ops: tuple[str, ...]

    def __post_init__(self):
        if len(self.ops) != len(EDGES):
            raise ValueError(f"a NAS-Bench-201 genotype has {len(EDGES)} ops, got {len(self.ops)}")
        for o in self.ops:
            if o not in ops.OPS:
                raise ValueError(f"unknown NAS-Bench-201 op {o!r}; choose from: {', '.join(ops.OPS)}")

    def __str__(self) -> str:
        by_edge = dict(zip(EDGES, self.ops))
        nodes = ["|".join(f"{by_edge[f'{j}<-{i}']}~{i}" for i in range(j)) for j in range(1, NODES)]
        return "|" + "|+|".join(nodes) + "|"

    def edge_ops(self) -> dict[str, str]:
        return dict(zip(EDGES, self.ops))

    @classmethod
    def parse(cls, text: str) -> "NB201Genotype":
        text = text.strip()
        example = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
        nodes = text.split("+")
        if len(nodes) != NODES - 1:
            raise ValueError(f"NAS-Bench-201 arch string needs {NODES - 1} nodes joined by '+', "
                             f"got {len(nodes)} in {text!r}; example: {example}")
        found: list[str] = []
        for j, node in enumerate(nodes, start=1):
            if not re.fullmatch(r"\|([^|]+\|)+", node):
                raise ValueError(f"node {j} of {text!r} is not of the form |op~i|...|; example: {example}")
            entries = node.strip("|").split("|")
            if len(entries) != j:
                raise ValueError(f"node {j} of {text!r} needs {j} inputs, got {len(entries)}")
            for i, entry in enumerate(entries):
                m = re.fullmatch(r"([a-z0-9_]+)~(\d+)", entry)
                if not m or int(m.group(2)) != i:
                    raise ValueError(f"entry {entry!r} of node {j} in {text!r} must be 'op~{i}'")
                found.append(m.group(1))
        return cls(tuple(found))


class SearchCell(nn.Module):
    """A supernet cell: one MixedOp per edge; node j = Σ_i edge(j<-i)(node i)."""

    def __init__(self, C: int, op_names: tuple[str, ...], affine: bool, track_running_stats: bool):
        super().__init__()
        self.edges = nn.ModuleDict({
            e: MixedOp({o: ops.build(o, C, C, 1, affine, track_running_stats) for o in op_names})
            for e in EDGES
        })

    def forward(self, x: torch.Tensor, weights: dict) -> torch.Tensor:
        nodes = [x]
        for j in range(1, NODES):
            terms = [self.edges[f"{j}<-{i}"](nodes[i], weights[f"{j}<-{i}"])
                     for i in range(j) if weights[f"{j}<-{i}"] is not None]
            nodes.append(sum(terms[1:], terms[0]) if terms else torch.zeros_like(x))
        return nodes[-1]


class InferCell(nn.Module):
    """A standalone cell: node j = Σ_i op(j<-i)(node i), ops fixed by the genotype."""

    def __init__(self, genotype: NB201Genotype, C: int):
        super().__init__()
        self.edges = nn.ModuleDict({e: ops.build(o, C, C, 1) for e, o in genotype.edge_ops().items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, NODES):
            terms = [self.edges[f"{j}<-{i}"](nodes[i]) for i in range(j)]
            nodes.append(sum(terms[1:], terms[0]))
        return nodes[-1]


class _Skeleton(nn.Module):
    """Stem, stages of cells with residual reductions, BN+ReLU, pooling, classifier."""

    def __init__(self, make_cell, C: int, N: int, num_classes: int):
        super().__init__()
        for key, value in (("C", C), ("N", N)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"a NAS-Bench-201 network needs a positive integer {key}, got {key}={value!r}")
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells = []
        C_prev = C
        for stage, C_stage in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                cells.append(ops.ResNetBasicBlock(C_prev, C_stage, 2))
            cells.extend(make_cell(C_stage) for _ in range(N))
            C_prev = C_stage
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.flatten(1))


class NB201Network(_Skeleton):
    """The benchmark's network for one genotype (C=16, N=5 is the benchmark's size)."""

    def __init__(self, genotype: NB201Genotype, C: int = 16, N: int = 5, num_classes: int = 10):
        super().__init__(lambda c: InferCell(genotype, c), C, N, num_classes)
        self.genotype = genotype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.head(x)


class NB201Supernet(Supernet):
    """All 5 ops on every edge of every cell; 6 decisions shared by all cells.

    Search cells use BN without affine parameters (as DARTS/DARTS-PT search cells do); the stem,
    residual blocks and final BN are the benchmark's.
    """

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, op_names: tuple[str, ...] = ops.OPS,
                 affine: bool = False, track_running_stats: bool = True):
        super().__init__({e: op_names for e in EDGES})
        self.net = _Skeleton(lambda c: SearchCell(c, tuple(op_names), affine, track_running_stats), C, N, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.edge_weights()
        x = self.net.stem(x)
        for cell in self.net.cells:
            x = cell(x, weights) if isinstance(cell, SearchCell) else cell(x)
        return self.net.head(x)

    def genotype(self) -> NB201Genotype:
        self._require_all_decided()
        return NB201Genotype(tuple("none" if self.is_pruned(e) else self.candidates(e)[0] for e in EDGES))


class NB201Space(SearchSpace):
    name = "nb201"
    ops = ops.OPS
    size_flags = {
        "init_channels": ("C", "channels of the first stage (default 16)"),
        "layers": ("N", "cells per stage (default 5)"),
    }
    search_size = {"C": 16, "N": 5}
    supernet_epochs = 100  # DARTS-PT's NB201 setting
    channels_last = True  # fp32 forward 2.0× supernet, 2.1× network faster on CPU (benchmarks/search_speed.py)

    def supernet(self, num_classes: int = 10, **size) -> NB201Supernet:
        return NB201Supernet(num_classes=num_classes, **size)

    def parse(self, text: str) -> NB201Genotype:
        return NB201Genotype.parse(text)

    def network(self, genotype, num_classes: int = 10, **size) -> NB201Network:
        return NB201Network(self._as_genotype(genotype), num_classes=num_classes, **size)

    def build_layout(self, num_classes: int, input_size: int, C: int = 16, N: int = 5) -> cost.Layout:
        """Additive over the 6 edges: an edge's op appears once in each of the 3N cells."""
        def network(g):
            return NB201Network(g, C=C, N=N, num_classes=num_classes)

        reference = NB201Genotype(("nor_conv_3x3",) * len(EDGES))
        net = network(reference)
        cells = [c for c in net.cells if isinstance(c, InferCell)]
        shapes = cost.io_shapes(net, [c.edges[e] for c in cells for e in EDGES], input_size)
        slots = [cost.Slot(e, (shapes[id(c.edges[e])][0][1],), shapes[id(c.edges[e])][0]) for c in cells for e in EDGES]
        return cost.Layout(net, reference, input_size, tuple(slots), {e: ops.OPS for e in EDGES},
                           lambda op, C: ops.build(op, C, C, 1), {e: ops.OPS for e in EDGES},
                           choices=lambda g: list(g.edge_ops().items()), network_of=network)

    def feature_blocks(self, network: NB201Network) -> list[nn.Module]:
        """The 3N cells and the two residual reduction blocks, in order."""
        return list(network.cells)

    def sample(self, rng: np.random.Generator) -> NB201Genotype:
        """Each of the 6 edges uniform over the 5 ops: the 15,625 cells equally likely."""
        return NB201Genotype(sample_choices([ops.OPS] * len(EDGES), rng))

    def neighbours(self, genotype) -> list[NB201Genotype]:
        """The 24 cells with one edge's op changed (6 edges × 4 other ops), edge by edge."""
        g = self._as_genotype(genotype)
        return [NB201Genotype(t) for t in choice_neighbours(g.ops, [ops.OPS] * len(EDGES))]

    def draw(self, genotype) -> Figure:
        """The cell: node 0 (input) to node 3 (output) left to right, one arrow per edge labelled with its
        op; `none` edges are left out (they contribute nothing)."""
        from ptnas import drawing

        g = self._as_genotype(genotype)
        roles = {0: "input", NODES - 1: "output"}
        nodes = tuple(drawing.Node(str(j), str(j), roles.get(j, "inner"), rank=j) for j in range(NODES))
        edges = tuple(drawing.Edge(*reversed(e.split("<-")), op) for e, op in g.edge_ops().items() if op != "none")
        return drawing.cell_figure([drawing.Cell("cell", "NAS-Bench-201 cell", nodes, edges)], title=str(g))

    def references(self) -> dict[str, NB201Genotype]:
        """The best CIFAR-10 architecture of the benchmark (test accuracy 94.37 %, Dong & Yang 2020)."""
        return {"nb201_best_cifar10": NB201Genotype.parse(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")}
