"""The DARTS CNN space (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019).

A cell has two inputs (nodes 0 and 1: the outputs of the two previous cells), 4 intermediate nodes
(2..5) and 14 edges `j<-i` (i < j); its output concatenates the intermediate nodes. A network stacks
cells; the cells at 1/3 and 2/3 of the depth are reduction cells (stride 2 on the edges from the
inputs, twice the channels). Normal and reduction cells each have their own architecture, so the
supernet has 28 decisions, named `normal:j<-i` and `reduce:j<-i`, each shared by every cell of its type.

After the operation decisions, a topology step keeps exactly 2 input edges per intermediate node
(DARTS' discretisation rule; DARTS-PT and Zero-Cost-PT choose them by perturbing whole edges).

Optional op sets S1-S4 of RobustDARTS (Zela et al., "Understanding and Robustifying Differentiable
Architecture Search", ICLR 2020) restrict the candidates per edge.
"""
from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ptnas.ops import darts as ops
from ptnas.ops.basic import FactorizedReduce, ReLUConvBN
from ptnas.spaces import cost
from ptnas.spaces.base import SearchSpace, choice_neighbours
from ptnas.supernet import MixedOp, Supernet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STEPS = 4  # intermediate nodes per cell
CELL_TYPES = ("normal", "reduce")
CELL_EDGES = tuple(f"{j}<-{i}" for j in range(2, STEPS + 2) for i in range(j))  # 2<-0, 2<-1, 3<-0, ... 5<-4
SEARCH_OPS = tuple(o for o in ops.OPS if o != "none")  # DARTS-PT and Zero-Cost-PT search without `none`

Pair = tuple[str, int]
MAX_CONCAT = 64  # bound on a parsed `range(...)` concat list: a cell has a handful of nodes


# ---- genotype ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DartsGenotype:
    """Two (op, input) pairs per intermediate node for each cell type, and the nodes the cell
    concatenates. `str()` gives the `Genotype(normal=[...], normal_concat=[...], reduce=[...],
    reduce_concat=[...])` text that the DARTS code and papers print."""

    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self):
        for cell in CELL_TYPES:
            pairs, concat = getattr(self, cell), getattr(self, f"{cell}_concat")
            if len(pairs) < 2 or len(pairs) % 2:
                raise ValueError(f"the {cell} cell needs two (op, input) pairs per node, got {len(pairs)} pairs")
            for k, pair in enumerate(pairs):
                node = 2 + k // 2
                if (not isinstance(pair, tuple) or len(pair) != 2 or not isinstance(pair[0], str)
                        or not isinstance(pair[1], int) or isinstance(pair[1], bool)):
                    raise ValueError(f"{cell} entry {pair!r} must be an (op, input) pair such as ('sep_conv_3x3', 0)")
                op, i = pair
                if op not in ops.BUILDERS:
                    raise ValueError(f"unknown DARTS op {op!r} in the {cell} cell; choose from: "
                                     f"{', '.join(ops.OPS + ops.EXTRA_OPS)}")
                if not 0 <= i < node:
                    raise ValueError(f"{cell} entry {pair!r} feeds node {node}, so its input must be in 0..{node - 1}")
            nodes = 2 + len(pairs) // 2
            if not concat or any(not 0 <= c < nodes for c in concat) or len(set(concat)) != len(concat):
                raise ValueError(f"{cell}_concat {list(concat)} must list distinct nodes in 0..{nodes - 1}")

    @property
    def steps(self) -> int:
        return len(self.normal) // 2

    def __str__(self) -> str:
        def pairs(ps):
            return "[" + ", ".join(f"({op!r}, {i})" for op, i in ps) + "]"
        return (f"Genotype(normal={pairs(self.normal)}, normal_concat={list(self.normal_concat)}, "
                f"reduce={pairs(self.reduce)}, reduce_concat={list(self.reduce_concat)})")

    @classmethod
    def parse(cls, text: str) -> DartsGenotype:
        """Read the printed form; `range(2, 6)` is accepted for a concat list, as some papers print it."""
        example = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], "
                   "reduce=[('max_pool_3x3', 0), ...], reduce_concat=[2, 3, 4, 5])")
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            raise ValueError(f"not a DARTS genotype (syntax error); expected {example}") from None
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
            raise ValueError(f"a DARTS genotype reads Genotype(...); expected {example}")
        fields = ("normal", "normal_concat", "reduce", "reduce_concat")
        if len(tree.args) > len(fields):
            raise ValueError(f"Genotype(...) takes {len(fields)} fields, got {len(tree.args)}")
        values = dict(zip(fields, tree.args))
        for kw in tree.keywords:
            if kw.arg not in fields or kw.arg in values:
                raise ValueError(f"Genotype(...) field {kw.arg!r} is unknown or repeated; fields: {', '.join(fields)}")
            values[kw.arg] = kw.value
        missing = [f for f in fields if f not in values]
        if missing:
            raise ValueError(f"Genotype(...) lacks {', '.join(missing)}; expected {example}")
        return cls(
            normal=tuple(_pair(p, "normal") for p in _literal(values["normal"], "normal")),
            normal_concat=tuple(_literal(values["normal_concat"], "normal_concat")),
            reduce=tuple(_pair(p, "reduce") for p in _literal(values["reduce"], "reduce")),
            reduce_concat=tuple(_literal(values["reduce_concat"], "reduce_concat")),
        )


def _literal(node: ast.AST, field: str) -> list:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords):
        try:
            span = range(*(ast.literal_eval(a) for a in node.args))
        except (ValueError, TypeError):
            raise ValueError(f"{field}: range(...) needs integer arguments") from None
        if len(span) > MAX_CONCAT:  # checked on the range object: never materialise range(2, 4000000000)
            raise ValueError(f"{field}: {ast.unparse(node)} has {len(span):,} entries; a cell concatenates at most "
                             f"{MAX_CONCAT} nodes")
        return list(span)
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"{field} must be a literal list, got {ast.unparse(node)!r}") from None
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{field} must be a list, got {value!r}")
    return list(value)


def _pair(p, cell: str) -> Pair:
    if isinstance(p, list):
        p = tuple(p)
    if not (isinstance(p, tuple) and len(p) == 2):
        raise ValueError(f"{cell} entry {p!r} must be an (op, input) pair such as ('sep_conv_3x3', 0)")
    return p


# ---- op sets -----------------------------------------------------------------------------------
def _robust_darts_s1() -> dict[str, dict[str, tuple[str, ...]]]:
    """S1 of Zela et al. (2020): per edge, the two ops DARTS ranked highest (their released space)."""
    normal = [("skip_connect", "dil_conv_3x3"), ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5"),
              ("skip_connect", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"), ("max_pool_3x3", "skip_connect"),
              ("skip_connect", "sep_conv_3x3"), ("skip_connect", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"),
              ("skip_connect", "sep_conv_3x3"), ("max_pool_3x3", "skip_connect"), ("skip_connect", "dil_conv_3x3"),
              ("dil_conv_3x3", "dil_conv_5x5"), ("dil_conv_3x3", "dil_conv_5x5")]
    reduce = [("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "dil_conv_3x3"), ("max_pool_3x3", "avg_pool_3x3"),
              ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"), ("max_pool_3x3", "avg_pool_3x3"),
              ("max_pool_3x3", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"), ("skip_connect", "dil_conv_5x5"),
              ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"),
              ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5")]
    return {"normal": dict(zip(CELL_EDGES, normal)), "reduce": dict(zip(CELL_EDGES, reduce))}


def _uniform(op_names: Sequence[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    return {t: {e: tuple(op_names) for e in CELL_EDGES} for t in CELL_TYPES}


OP_SETS = {
    "s1": _robust_darts_s1,
    "s2": lambda: _uniform(("skip_connect", "sep_conv_3x3")),
    "s3": lambda: _uniform(("none", "skip_connect", "sep_conv_3x3")),
    "s4": lambda: _uniform(("noise", "sep_conv_3x3")),
}


def edge_ops(include_none: bool = False, op_set: str | None = None) -> dict[str, tuple[str, ...]]:
    """Candidate ops per supernet edge: the DARTS primitives (`none` only if asked) or a RobustDARTS set."""
    if op_set is None:
        names = ops.OPS if include_none else SEARCH_OPS
        return {f"{t}:{e}": names for t in CELL_TYPES for e in CELL_EDGES}
    if op_set not in OP_SETS:
        raise ValueError(f"unknown DARTS op set {op_set!r}; choose from: {', '.join(OP_SETS)}")
    if include_none:
        raise ValueError(f"include_none applies to the full DARTS op set, not to {op_set}")
    per_type = OP_SETS[op_set]()
    return {f"{t}:{e}": per_type[t][e] for t in CELL_TYPES for e in CELL_EDGES}


def reduction_cells(layers: int) -> tuple[int, int]:
    """Indices of the two reduction cells: at 1/3 and 2/3 of the depth, as DARTS places them."""
    return layers // 3, 2 * layers // 3


# ---- supernet ----------------------------------------------------------------------------------
class SearchCell(nn.Module):
    """A supernet cell: node j = Σ_i MixedOp(j<-i)(node i) over the alive edges; search BN has no affine."""

    def __init__(self, cell_type: str, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool, candidates: dict[str, tuple[str, ...]]):
        super().__init__()
        self.cell_type = cell_type
        self.preprocess0 = (FactorizedReduce(C_prev_prev, C, affine=False) if reduction_prev
                            else ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False))
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleDict()
        for e in CELL_EDGES:
            i = int(e.split("<-")[1])
            stride = 2 if reduction and i < 2 else 1
            self.edges[e] = MixedOp({o: ops.build_search(o, C, stride) for o in candidates[f"{cell_type}:{e}"]})

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: dict) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for j in range(2, STEPS + 2):
            terms = []
            for i in range(j):
                w = weights[f"{self.cell_type}:{j}<-{i}"]
                if w is not None:
                    terms.append(self.edges[f"{j}<-{i}"](states[i], w))
            if not terms:
                raise RuntimeError(f"node {j} of the {self.cell_type} cell has no input edge left")
            states.append(sum(terms[1:], terms[0]))
        return torch.cat(states[2:], dim=1)


class DartsSupernet(Supernet):
    """DARTS' search network: 3C-channel stem, `layers` search cells, global pooling, linear.

    C=16, layers=8 is the search size of DARTS, DARTS-PT and Zero-Cost-PT.
    """

    def __init__(self, C: int = 16, layers: int = 8, num_classes: int = 10,
                 candidates: dict[str, tuple[str, ...]] | None = None, stem_multiplier: int = 3):
        candidates = candidates or edge_ops()
        super().__init__(candidates)
        if C < 2 or C % 2 or layers < 1:
            raise ValueError(f"the DARTS supernet needs an even C >= 2 and layers >= 1, got C={C}, layers={layers}")
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(3, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in reduction_cells(layers)
            if reduction:
                C_curr *= 2
            self.cells.append(SearchCell("reduce" if reduction else "normal", C_prev_prev, C_prev, C_curr,
                                         reduction, reduction_prev, candidates))
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, STEPS * C_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.edge_weights()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def topology_groups(self) -> list[tuple[list[str], int]]:
        """Each intermediate node with more than 2 input edges keeps 2 (nodes 3, 4, 5 of each cell type)."""
        return [([f"{t}:{j}<-{i}" for i in range(j)], 2) for t in CELL_TYPES for j in range(3, STEPS + 2)]

    def genotype(self) -> DartsGenotype:
        self._require_all_decided()
        cells = {}
        for t in CELL_TYPES:
            pairs = []
            for j in range(2, STEPS + 2):
                alive = [i for i in range(j) if not self.is_pruned(f"{t}:{j}<-{i}")]
                if len(alive) != 2:
                    raise ValueError(f"node {j} of the {t} cell keeps {len(alive)} input edges; a DARTS genotype "
                                     "needs exactly 2 (run the topology step)")
                pairs.extend((self.candidates(f"{t}:{j}<-{i}")[0], i) for i in alive)
            cells[t] = tuple(pairs)
        concat = tuple(range(2, STEPS + 2))
        return DartsGenotype(cells["normal"], concat, cells["reduce"], concat)


# ---- standalone network ------------------------------------------------------------------------
class Cell(nn.Module):
    """A standalone DARTS cell: node k+2 = op_a(node a) + op_b(node b); output concatenates `concat`."""

    def __init__(self, pairs: Sequence[Pair], concat: Sequence[int], C_prev_prev: int, C_prev: int, C: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(C_prev_prev, C) if reduction_prev else ReLUConvBN(C_prev_prev, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        self.inputs = [i for _, i in pairs]
        self.concat = list(concat)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList(ops.build(op, C, 2 if reduction and i < 2 else 1) for op, i in pairs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        if self.training and drop_prob > 0:
            from timm.layers import drop_path  # per-sample path dropping; timm is imported only when used
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(0, len(self.ops), 2):
            hs = []
            for op, i in ((self.ops[k], self.inputs[k]), (self.ops[k + 1], self.inputs[k + 1])):
                h = op(states[i])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob, training=True)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Sequential):
    """DARTS' CIFAR auxiliary classifier on the 8×8 maps after the second reduction cell."""

    def __init__(self, C: int, num_classes: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
            nn.Flatten(1),
            nn.Linear(768, num_classes),
        )


class AuxiliaryHeadImageNet(nn.Sequential):
    """DARTS' ImageNet auxiliary classifier on the 7×7 maps after the second reduction cell (no BN
    after the 2×2 conv: the DARTS code leaves it out, "for consistency with the experiments in the paper")."""

    def __init__(self, C: int, num_classes: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),  # 7x7 -> 2x2
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False), nn.ReLU(inplace=False),
            nn.Flatten(1),
            nn.Linear(768, num_classes),
        )


class DartsNetwork(nn.Module):
    """The standalone network of a genotype, in DARTS' CIFAR or ImageNet layout.

    CIFAR (input_size <= 64): 3×3 stem to 3C channels at full resolution. ImageNet (input_size > 64):
    three stride-2 3×3 convs (C/2, C, C channels), so 224 becomes 28 before the first cell.
    The auxiliary head sits after the second reduction cell (2/3 of the depth) and assumes DARTS'
    input sizes (32 or 224). In training mode with an auxiliary head, forward returns
    (logits, aux_logits); otherwise logits. `drop_path_prob` is read at every forward, so a trainer
    can ramp it per epoch (DARTS: linearly from 0 to 0.2 over the epochs).
    """

    def __init__(self, genotype: DartsGenotype, C: int = 36, layers: int = 20, num_classes: int = 10,
                 auxiliary: bool = False, drop_path_prob: float = 0.0, input_size: int = 32):
        super().__init__()
        if C < 2 or C % 2 or layers < 1:
            raise ValueError(f"a DARTS network needs an even C >= 2 and layers >= 1, got C={C}, layers={layers}")
        self.genotype = genotype
        self.drop_path_prob = drop_path_prob
        self.imagenet = input_size > 64
        if self.imagenet:
            self.stem0 = nn.Sequential(
                nn.Conv2d(3, C // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C // 2), nn.ReLU(inplace=False),
                nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C))
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=False), nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C))
            C_prev_prev, C_prev, C_curr, reduction_prev = C, C, C, True
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, 3 * C, 3, padding=1, bias=False), nn.BatchNorm2d(3 * C))
            C_prev_prev, C_prev, C_curr, reduction_prev = 3 * C, 3 * C, C, False
        self.cells = nn.ModuleList()
        self.auxiliary_position = reduction_cells(layers)[1]
        self.auxiliary_head = None
        for i in range(layers):
            reduction = i in reduction_cells(layers)
            if reduction:
                C_curr *= 2
            pairs, concat = ((genotype.reduce, genotype.reduce_concat) if reduction
                             else (genotype.normal, genotype.normal_concat))
            cell = Cell(pairs, concat, C_prev_prev, C_prev, C_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if auxiliary and i == self.auxiliary_position:
                head = AuxiliaryHeadImageNet if self.imagenet else AuxiliaryHeadCIFAR
                self.auxiliary_head = head(C_prev, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.auxiliary_position and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return (logits, aux) if aux is not None else logits


def count_parameters(model: nn.Module, auxiliary: bool = False) -> int:
    """Number of parameters, without the auxiliary head unless asked (the convention DARTS reports)."""
    return sum(p.numel() for name, p in model.named_parameters()
               if auxiliary or not name.startswith("auxiliary_head."))


# ---- the space ---------------------------------------------------------------------------------
class DartsSpace(SearchSpace):
    name = "darts"
    ops = SEARCH_OPS
    size_flags = {
        "init_channels": ("C", "initial channels C (supernet default 16; standalone 36 CIFAR, 48 ImageNet)"),
        "layers": ("layers", "number of cells, reductions at 1/3 and 2/3 (supernet default 8; standalone 20 / 14)"),
    }
    search_size = {"C": 16, "layers": 8}
    channels_last = True  # fp32 forward 2.8× supernet, 2.2× network faster on CPU (benchmarks/search_speed.py)
    supernet_options = ("include_none", "op_set")

    def supernet(self, num_classes: int = 10, C: int = 16, layers: int = 8, include_none: bool = False,
                 op_set: str | None = None) -> DartsSupernet:
        """include_none adds `none` to every edge (off by default, as in DARTS-PT and Zero-Cost-PT);
        op_set "s1".."s4" uses a RobustDARTS space instead."""
        return DartsSupernet(C=C, layers=layers, num_classes=num_classes,
                             candidates=edge_ops(include_none=include_none, op_set=op_set))

    def check_size(self, **size) -> None:
        super().check_size(**size)
        if size.get("C", 2) % 2:
            raise ValueError(f"C (--init-channels) must be even in the darts space (reduction cells halve it), "
                             f"got {size['C']}")

    def parse(self, text: str) -> DartsGenotype:
        return DartsGenotype.parse(text)

    def network(self, genotype, num_classes: int = 10, C: int | None = None, layers: int | None = None,
                auxiliary: bool = False, drop_path_prob: float = 0.0, input_size: int = 32) -> DartsNetwork:
        """CIFAR defaults C=36, 20 cells; ImageNet (input_size > 64) defaults C=48, 14 cells (DARTS paper)."""
        imagenet = input_size > 64
        return DartsNetwork(self._as_genotype(genotype), C=(48 if imagenet else 36) if C is None else C,
                            layers=(14 if imagenet else 20) if layers is None else layers, num_classes=num_classes,
                            auxiliary=auxiliary, drop_path_prob=drop_path_prob, input_size=input_size)

    def build_layout(self, num_classes: int, input_size: int, C: int | None = None,
                     layers: int | None = None) -> cost.Layout:
        """Additive over the 28 edges `type:j<-i` (an edge's op appears once per cell of its type), without
        the auxiliary head (DARTS' convention). The topology is a group per node: of node j's j input
        edges exactly 2 stay. Genotypes that concatenate other nodes (or have other node counts) are
        counted from their network. Undecided edges of a decisions dict are open over `edge_ops()`."""
        def network(g):
            return self.network(g, num_classes, C=C, layers=layers, input_size=input_size)

        reference = self.references()["darts_v2"]
        net = network(reference)
        # A cell's first op reads input 0 or 1 (node 2's inputs): its input has the shape of the cell's two
        # inputs, its output that of the intermediate nodes (halved in a reduction cell).
        shapes = cost.io_shapes(net, [cell.ops[0] for cell in net.cells], input_size)
        slots = []
        for cell in net.cells:
            inputs, nodes = shapes[id(cell.ops[0])]
            t = "reduce" if cell.reduction else "normal"
            for e in CELL_EDGES:
                i = int(e.split("<-")[1])
                slots.append(cost.Slot(f"{t}:{e}", (inputs[1], 2 if cell.reduction and i < 2 else 1),
                                       inputs if i < 2 else nodes))
        every = ops.OPS + ops.EXTRA_OPS
        full = tuple(range(2, STEPS + 2))

        def choices(g):
            if g.steps != STEPS or sorted(g.normal_concat) != list(full) or sorted(g.reduce_concat) != list(full):
                return None
            return [(f"{t}:{2 + k // 2}<-{i}", op) for t in CELL_TYPES for k, (op, i) in enumerate(getattr(g, t))]

        groups = tuple((tuple(f"{t}:{j}<-{i}" for i in range(j)), 2) for t in CELL_TYPES for j in range(2, STEPS + 2))
        return cost.Layout(net, reference, input_size, tuple(slots),
                           {f"{t}:{e}": every for t in CELL_TYPES for e in CELL_EDGES}, ops.build, edge_ops(),
                           choices=choices, network_of=network, groups=groups)

    def feature_blocks(self, network: DartsNetwork) -> list[nn.Module]:
        """The cells, in order (the auxiliary head, when built, stays trainable with the classifier)."""
        return list(network.cells)

    def sample(self, rng: np.random.Generator) -> DartsGenotype:
        """Per cell type and intermediate node j = 2..5: two distinct inputs uniform among nodes 0..j-1
        (listed in input order) and an op for each uniform over `SEARCH_OPS`; concat [2, 3, 4, 5]. The
        NAS-Bench-301 / NASLib random architecture."""
        cells = {}
        for cell in CELL_TYPES:
            pairs = []
            for j in range(2, STEPS + 2):
                inputs = sorted(int(i) for i in rng.choice(j, size=2, replace=False))
                pairs += [(SEARCH_OPS[int(rng.integers(len(SEARCH_OPS)))], i) for i in inputs]
            cells[cell] = tuple(pairs)
        concat = tuple(range(2, STEPS + 2))
        return DartsGenotype(cells["normal"], concat, cells["reduce"], concat)

    def neighbours(self, genotype) -> list[DartsGenotype]:
        """One (op, input) pair changed: its op to another of `SEARCH_OPS`, or its input to another
        predecessor of the node that is not the node's other input (op kept). Normal cell first, then
        pair by pair; concat lists are kept. For DARTS-V2 that is 16 × 6 op edits + 2 × 12 input edits."""
        g = self._as_genotype(genotype)
        out = []
        for cell in CELL_TYPES:
            pairs = getattr(g, cell)
            choices = []
            for k, (op, i) in enumerate(pairs):
                node, other = 2 + k // 2, pairs[k ^ 1][1]
                choices.append([(o, i) for o in SEARCH_OPS] + [(op, x) for x in range(node) if x not in (i, other)])
            out += [replace(g, **{cell: t}) for t in choice_neighbours(pairs, choices)]
        return out

    def draw(self, genotype) -> Figure:
        """Normal and reduction cell side by side, as the DARTS paper draws them: inputs c_{k-2}, c_{k-1},
        intermediate nodes 0.., each edge labelled with its op, dashed concat edges into the output c_{k}."""
        from ptnas import drawing

        g = self._as_genotype(genotype)
        cells = []
        for cell_type, title in (("normal", "normal cell"), ("reduce", "reduction cell")):
            pairs, concat = getattr(g, cell_type), getattr(g, f"{cell_type}_concat")
            name = ("c_{k-2}", "c_{k-1}", *(str(k) for k in range(len(pairs) // 2))).__getitem__
            nodes = (drawing.Node(name(0), "$c_{k-2}$", "input"), drawing.Node(name(1), "$c_{k-1}$", "input"),
                     *(drawing.Node(str(k), str(k)) for k in range(len(pairs) // 2)),
                     drawing.Node("c_{k}", "$c_{k}$", "output"))
            edges = (*(drawing.Edge(name(i), str(k // 2), op) for k, (op, i) in enumerate(pairs) if op != "none"),
                     *(drawing.Edge(name(i), "c_{k}") for i in concat))
            cells.append(drawing.Cell(cell_type, title, nodes, edges))
        return drawing.cell_figure(cells)

    def references(self) -> dict[str, DartsGenotype]:
        """Published cells: DARTS first order (V1) and second order (V2) (Liu et al. 2019) and PC-DARTS'
        CIFAR-10 cell (Xu et al., "PC-DARTS", ICLR 2020), as their authors released them."""
        return {name: DartsGenotype.parse(text) for name, text in REFERENCES.items()}


REFERENCES = {
    "darts_v1": "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
                "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
                "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                "('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",
    "darts_v2": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
                "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    "pc_darts": "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), "
                "('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], "
                "normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), "
                "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), "
                "('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",
}
