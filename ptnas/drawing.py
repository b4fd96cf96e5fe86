"""Pictures of genotypes: a cell DAG and a chain of blocks, as matplotlib Figures (no pyplot, no graphviz).

A space's `draw(genotype)` describes its genotype as `Cell`s (nodes and op-labelled edges) or `Stage`s
of `Block`s and calls `cell_figure` or `chain_figure`. Every edge label, unlabelled edge and block
carries a gid (`edge:<cell>:<src>-><dst>`, `concat:...`, `block:<k>`, `fixed:<name>`), which tests
read back and SVG files keep as element ids. `save_genotype_picture` writes a run dir's
genotype.png / genotype.svg and the TensorBoard image `genotype/picture`. `pareto_figure` draws scored
networks against a cost with their Pareto front (ptnas.pareto); `save_pareto_pictures` writes a run dir's
pareto-params.png, pareto-flops.png (and pareto-latency.png) and the TensorBoard images `pareto/<cost>`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.transforms import Bbox

from ptnas import atomic, pareto

TAG = "genotype/picture"  # TensorBoard image tag, next to the `genotype` text
FORMATS = ("png", "svg", "pdf")
DPI = 110

# Layout, in inches (the axes span the figure at one data unit per inch, so arcs and labels keep their shape).
RANK_GAP, ROW_GAP, CELL_GAP, MARGIN = 2.0, 1.1, 0.9, 0.3
NODE_R = 0.21  # intermediate node (circle) radius
BOX_W, BOX_H = 0.72, 0.4  # input / output node box
LABEL_SIZE, NODE_SIZE, TITLE_SIZE = 8.5, 10, 11

PALETTE = (  # op colour by the first matching name fragment
    (("none", "zero"), "#9e9e9e"),
    (("skip", "identity"), "#6d6d6d"),
    (("max_pool",), "#c0392b"),
    (("avg_pool",), "#e67e22"),
    (("sep_conv",), "#1f5fa8"),
    (("dil_conv",), "#2e8b57"),
    (("conv_3x3",), "#1f5fa8"),
    (("conv_1x1",), "#5dade2"),
    (("noise",), "#8e44ad"),
)
NODE_FILL = {"input": "#d6eaf8", "inner": "#fdf2d0", "output": "#d5f5e3"}


def op_colour(op: str) -> str:
    """Colour of an op by family (pooling, skip, separable / dilated / plain conv); dark grey otherwise."""
    for fragments, colour in PALETTE:
        if any(f in op for f in fragments):
            return colour
    return "#333333"


# ---- cell DAG ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """A node of a cell: `role` input / inner / output; `rank` fixes its column (default: longest path)."""

    name: str
    label: str
    role: str = "inner"
    rank: int | None = None


@dataclass(frozen=True)
class Edge:
    """`src -> dst` labelled with its op; `op=None` draws an unlabelled edge (e.g. DARTS' concat)."""

    src: str
    dst: str
    op: str | None = None


@dataclass(frozen=True)
class Cell:
    name: str  # used in gids
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _ranks(cell: Cell) -> dict[str, int]:
    """Column of every node: its own rank, else 0 for an input, else 1 + the largest rank of its sources;
    outputs go one column right of everything else."""
    ranks: dict[str, int] = {}
    sources = {n.name: [e.src for e in cell.edges if e.dst == n.name] for n in cell.nodes}

    def rank(name: str, seen: tuple[str, ...] = ()) -> int:
        if name not in ranks:
            node = next(n for n in cell.nodes if n.name == name)
            if node.rank is not None:
                ranks[name] = node.rank
            elif node.role == "input":
                ranks[name] = 0
            elif name in seen:
                raise ValueError(f"cell {cell.name!r} has a cycle through {name!r}")
            else:
                ranks[name] = 1 + max((rank(s, seen + (name,)) for s in sources[name]
                                       if next(n for n in cell.nodes if n.name == s).role != "output"), default=0)
        return ranks[name]

    for n in cell.nodes:
        if n.role != "output":
            rank(n.name)
    last = max(ranks.values(), default=0)
    for n in cell.nodes:
        if n.role == "output":
            ranks[n.name] = n.rank if n.rank is not None else last + 1
    return ranks


def _positions(cell: Cell) -> dict[str, tuple[float, float]]:
    """Columns by rank, further apart next to a tall column (room for its fan of labels); within a
    column, nodes ordered by the mean height of their sources (as a layered graph drawing does, to cut
    crossings) and centred on y = 0."""
    ranks = _ranks(cell)
    pos: dict[str, tuple[float, float]] = {}
    x, previous = 0.0, None
    for r in sorted(set(ranks.values())):
        column = [n.name for n in cell.nodes if ranks[n.name] == r]

        def barycentre(name: str) -> float:
            ys = [pos[e.src][1] for e in cell.edges if e.dst == name and e.src in pos]
            return -sum(ys) / len(ys) if ys else 0.0

        if previous is not None:
            column = sorted(column, key=barycentre)  # stable: ties keep the listed order
            x += RANK_GAP * (r - previous[0]) + 0.35 * max(0, len(column) - 2, previous[1] - 2)
        for k, name in enumerate(column):
            pos[name] = (x, ((len(column) - 1) / 2 - k) * ROW_GAP)
        previous = (r, len(column))
    return pos


def _bezier(p0, p2, rad: float, t: float) -> tuple[float, float]:
    """Point at t of matplotlib's `arc3,rad=rad` curve from p0 to p2 (a quadratic Bézier)."""
    (x1, y1), (x2, y2) = p0, p2
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    u = 1 - t
    return u * u * x1 + 2 * u * t * cx + t * t * x2, u * u * y1 + 2 * u * t * cy + t * t * y2


def _node_extent(role: str) -> tuple[float, float]:
    return (BOX_W / 2, BOX_H / 2) if role != "inner" else (NODE_R, NODE_R)


def _curvature(p0, p2, others: list[tuple[tuple[float, float], tuple[float, float]]],
               drawn: list[list[tuple[float, float]]]) -> float:
    """The flattest arc from p0 to p2 that keeps clear of the other nodes, preferring a side where no
    edge runs yet."""
    best, best_cost = 0.0, math.inf
    for k, rad in enumerate((0.0, -0.2, 0.2, -0.3, 0.3, -0.42, 0.42, -0.55, 0.55)):
        points = [_bezier(p0, p2, rad, t / 20) for t in range(1, 20)]
        hits = 0
        for (x, y), (hw, hh) in others:
            hits += sum(abs(px - x) < hw + 0.14 and abs(py - y) < hh + 0.14 for px, py in points)
        near = sum(min(math.dist(p, q) for q in curve) < 0.12 for curve in drawn for p in points[3:-3])
        cost = 100 * hits + 3 * near + k * 0.1
        if cost < best_cost:
            best, best_cost = rad, cost
    return best


def cell_figure(cells: Sequence[Cell], title: str | None = None) -> Figure:
    """Cells side by side, each a DAG left to right: nodes as boxes (inputs, output) and circles,
    edges as arrows labelled with their op and coloured by op family. An edge bows around the nodes
    it would cross; its label slides along it to where it covers no node, label or other edge."""
    fig = Figure(dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    renderer = fig.canvas.get_renderer()
    extent: list[Bbox] = []  # everything drawn, in inches: the figure is cut to it
    heads = []
    x = 0.0
    for cell in cells:
        pos = _positions(cell)
        shift = x - min((p[0] for p in pos.values()), default=0.0)
        pos = {name: (px + shift, py) for name, (px, py) in pos.items()}
        roles = {n.name: n.role for n in cell.nodes}
        patches, obstacles = {}, []
        for n in cell.nodes:
            (px, py), (hw, hh) = pos[n.name], _node_extent(n.role)
            if n.role == "inner":
                patch = Circle((px, py), NODE_R, fc=NODE_FILL["inner"], ec="#555555", lw=1.2, zorder=3)
            else:
                patch = FancyBboxPatch((px - hw, py - hh), 2 * hw, 2 * hh, boxstyle="round,pad=0,rounding_size=0.08",
                                       fc=NODE_FILL[n.role], ec="#555555", lw=1.2, zorder=3)
            patch.set_gid(f"node:{cell.name}:{n.name}")
            ax.add_patch(patch)
            patches[n.name] = patch
            ax.text(px, py, n.label, ha="center", va="center", fontsize=NODE_SIZE, zorder=4)
            obstacles.append(Bbox.from_extents(px - hw, py - hh, px + hw, py + hh))
        curves = _route(cell, pos, roles)
        drawn = list(obstacles)
        for e, rad, points in curves:
            colour = op_colour(e.op) if e.op else "#888888"
            arrow = FancyArrowPatch(pos[e.src], pos[e.dst], connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                    mutation_scale=11, patchA=patches[e.src], patchB=patches[e.dst], shrinkA=1,
                                    shrinkB=2, color=colour, lw=1.3 if e.op else 1.0,
                                    ls="-" if e.op else (0, (3, 2)), zorder=1)
            arrow.set_gid(f"{'arrow' if e.op else 'concat'}:{cell.name}:{e.src}->{e.dst}")
            ax.add_patch(arrow)
            drawn.append(Bbox.from_extents(*np.min(points, 0), *np.max(points, 0)))
        labels: list[Bbox] = []
        for k, (e, rad, _points) in enumerate(curves):
            if e.op is None:
                continue
            label = ax.text(0, 0, e.op, ha="center", va="center", fontsize=LABEL_SIZE, color=op_colour(e.op),
                            zorder=5, gid=f"edge:{cell.name}:{e.src}->{e.dst}",
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
            others = np.concatenate([c[2] for j, c in enumerate(curves) if j != k] or [np.zeros((0, 2))])
            labels.append(_place_label(label, pos[e.src], pos[e.dst], rad, obstacles + labels, others, renderer))
        box = Bbox.union(drawn + labels)
        extent += [box]
        heads.append((cell, (box.x0 + box.x1) / 2))
        x = box.x1 + CELL_GAP + BOX_W / 2  # the next cell's first column (input boxes)
    content = Bbox.union(extent) if extent else Bbox.from_extents(0, 0, 1, 1)
    texts = []
    for cell, centre in heads:
        texts.append(ax.text(centre, content.y1 + (0.75 if title else 0.35), cell.title, ha="center", va="center",
                             fontsize=TITLE_SIZE, weight="bold", gid=f"title:{cell.name}"))
    if title:
        texts.append(ax.text((content.x0 + content.x1) / 2, content.y1 + 0.35, title, ha="center", va="center",
                             fontsize=TITLE_SIZE - 2, family="monospace", gid="title"))
    for t in texts:
        w, h = _text_size(t, renderer)
        tx, ty = t.get_position()
        extent.append(Bbox.from_extents(tx - w / 2, ty - h / 2, tx + w / 2, ty + h / 2))
    _fit(fig, ax, Bbox.union(extent))
    return fig


def _route(cell: Cell, pos: dict, roles: dict) -> list[tuple[Edge, float, np.ndarray]]:
    """`(edge, arc3 curvature, 41 points of the curve)` per edge, in the cell's edge order. Long edges
    are routed first: they need the arcs, and short edges then stay straight between them."""
    drawn: list[list[tuple[float, float]]] = []
    routed: dict[int, tuple[Edge, float, np.ndarray]] = {}
    seen: dict[tuple[str, str], int] = {}
    for k in sorted(range(len(cell.edges)), key=lambda k: -math.dist(pos[cell.edges[k].src], pos[cell.edges[k].dst])):
        e = cell.edges[k]
        p0, p2 = pos[e.src], pos[e.dst]
        others = [(pos[n], _node_extent(roles[n])) for n in pos if n not in (e.src, e.dst)]
        rad = _curvature(p0, p2, others, drawn)
        repeat = seen.get((e.src, e.dst), 0)  # parallel edges (one input used twice) bow apart
        seen[(e.src, e.dst)] = repeat + 1
        rad += (-0.3 if repeat % 2 else 0.3) * ((repeat + 1) // 2)
        points = [_bezier(p0, p2, rad, t / 40) for t in range(41)]
        drawn.append(points)
        routed[k] = (e, rad, np.array(points))
    return [routed[k] for k in range(len(cell.edges))]


def _text_size(text, renderer) -> tuple[float, float]:
    """Width and height of a text (with its bbox padding) in inches."""
    box = text.get_window_extent(renderer)
    return box.width / DPI + 0.1, box.height / DPI + 0.08


def _place_label(label, p0, p2, rad: float, obstacles: list[Bbox], curves: np.ndarray, renderer) -> Bbox:
    """Slide `label` along its edge to the spot nearest the middle that overlaps no obstacle (node or
    label) and covers the fewest points of other edges; returns its box."""
    w, h = _text_size(label, renderer)
    best, best_cost = None, math.inf
    for k, t in enumerate((0.5, 0.42, 0.58, 0.35, 0.65, 0.28, 0.72, 0.22, 0.78)):
        x, y = _bezier(p0, p2, rad, t)
        box = Bbox.from_extents(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        covered = int(np.sum((curves[:, 0] > box.x0) & (curves[:, 0] < box.x1)
                             & (curves[:, 1] > box.y0) & (curves[:, 1] < box.y1)))
        cost = 1000 * sum(_area(box, other) for other in obstacles) + covered + 0.2 * k
        if cost < best_cost:
            best, best_cost = (x, y, box), cost
    x, y, box = best
    label.set_position((x, y))
    return box


def _fit(fig: Figure, ax, content: Bbox) -> None:
    """Cut the figure to `content` (inches) plus a margin, at one data unit per inch."""
    x0, y0, x1, y1 = content.x0 - MARGIN, content.y0 - MARGIN, content.x1 + MARGIN, content.y1 + MARGIN / 2
    fig.set_size_inches(x1 - x0, y1 - y0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _area(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


# ---- chain of blocks ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One box of a chain. `searched` blocks get gid `block:<k>` (k counts searched blocks), the others
    `fixed:<label>` and a grey fill; `skipped` draws a dashed, unfilled box; `height` scales the box
    (e.g. by expansion)."""

    label: str
    colour: str = "#dddddd"
    skipped: bool = False
    height: float = 1.0
    searched: bool = True


@dataclass(frozen=True)
class Stage:
    caption: str  # under the stage's bracket, e.g. "24 ch\nstride 2"
    blocks: tuple[Block, ...]


CHAIN_W, CHAIN_GAP, STAGE_GAP, CHAIN_H = 0.42, 0.2, 0.2, 1.25
KERNEL_COLOURS = {1: "#cab2d6", 3: "#a6cee3", 5: "#b2df8a", 7: "#fdbf6f"}
SKIPPED, FIXED = "white", "#e6e6e6"


def mbconv_block(kernel: int, expansion: int) -> Block:
    """A searched inverted-residual block as ProxylessNAS draws it: `MB<expansion> <k>×<k>`, coloured by
    kernel, taller for a larger expansion."""
    return Block(f"MB{expansion} {kernel}×{kernel}", KERNEL_COLOURS.get(kernel, "#dddddd"),
                 height=min(1.0, 0.7 + 0.05 * expansion))


def mbconv_legend(kernels: Sequence[int], skipped: str = "") -> list[tuple[str | None, str]]:
    """Legend entries for `chain_figure`: one per kernel, the skipped style if named, fixed layers and
    the height rule."""
    items: list[tuple[str | None, str]] = [(KERNEL_COLOURS.get(k, "#dddddd"), f"{k}×{k} kernel") for k in kernels]
    if skipped:
        items.append((SKIPPED, skipped))
    return items + [(FIXED, "fixed layer (not searched)"), (None, "taller box: larger expansion")]


def chain_figure(stages: Sequence[Stage], title: str | None = None,
                 legend: Sequence[tuple[str | None, str]] = ()) -> Figure:
    """The blocks left to right as upright boxes (label written bottom to top), joined by arrows;
    a bracket under each stage carries its caption; `legend` is (colour or None, text) pairs."""
    n = sum(len(s.blocks) for s in stages)
    width = n * CHAIN_W + (n - 1) * CHAIN_GAP + (len(stages) - 1) * STAGE_GAP + 2 * MARGIN
    tallest = max((b.height for s in stages for b in s.blocks), default=1.0) * CHAIN_H
    heading = 0.55 if title else 0.1
    fig = Figure(dpi=DPI)
    FigureCanvasAgg(fig)
    rows = _legend_rows(legend, width - 2 * MARGIN, fig.canvas.get_renderer())
    foot = 0.6 + 0.3 * len(rows) + (0.1 if rows else 0.0)
    fig.set_size_inches(width, tallest + heading + foot + MARGIN / 2)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(-foot, tallest + heading + MARGIN / 2)
    ax.set_axis_off()
    if title:
        ax.text(width / 2, tallest + 0.38, title, ha="center", va="center", fontsize=TITLE_SIZE, weight="bold",
                gid="title")
    mid = tallest / 2
    x, searched, previous = MARGIN, 0, None
    for s, stage in enumerate(stages):
        first_x = x
        for block in stage.blocks:
            h = block.height * CHAIN_H
            fill = SKIPPED if block.skipped else block.colour if block.searched else FIXED
            box = FancyBboxPatch((x, mid - h / 2), CHAIN_W, h, boxstyle="round,pad=0,rounding_size=0.06", fc=fill,
                                 ec="#9e9e9e" if block.skipped else "#444444", lw=1.1,
                                 ls=(0, (3, 2)) if block.skipped else "-", zorder=2)
            box.set_gid(f"block:{searched}" if block.searched else f"fixed:{block.label}")
            ax.add_patch(box)
            ax.text(x + CHAIN_W / 2, mid, block.label, rotation=90, ha="center", va="center", fontsize=LABEL_SIZE,
                    color="#777777" if block.skipped else "black", zorder=3)
            if previous is not None:
                ax.add_patch(FancyArrowPatch((previous, mid), (x, mid), arrowstyle="-|>", mutation_scale=8,
                                             shrinkA=0, shrinkB=0, color="#555555", lw=1.0, zorder=1))
            searched += block.searched
            previous = x + CHAIN_W
            x += CHAIN_W + CHAIN_GAP
        last_x = x - CHAIN_GAP
        y = -0.1
        ax.plot([first_x, first_x, last_x, last_x], [y + 0.07, y, y, y + 0.07], color="#777777", lw=0.9)
        ax.text((first_x + last_x) / 2, y - 0.07, stage.caption, ha="center", va="top", fontsize=LABEL_SIZE - 0.5,
                color="#333333", gid=f"stage:{s}")
        x += STAGE_GAP
    for r, row in enumerate(rows):
        y = -foot + 0.22 + 0.3 * (len(rows) - 1 - r)
        for lx, colour, text in row:
            if colour is not None:
                ax.add_patch(FancyBboxPatch((MARGIN + lx, y - 0.07), 0.18, 0.14, lw=0.8,
                                            boxstyle="round,pad=0,rounding_size=0.03", fc=colour,
                                            ec="#9e9e9e" if colour == SKIPPED else "#444444",
                                            ls=(0, (3, 2)) if colour == SKIPPED else "-"))
                lx += 0.25
            ax.text(MARGIN + lx, y, text, ha="left", va="center", fontsize=LABEL_SIZE - 0.5, color="#333333")
    return fig


def _legend_rows(legend: Sequence[tuple[str | None, str]], width: float, renderer):
    """Legend entries as rows of (x, colour, text) that fit `width` inches."""
    font = FontProperties(size=LABEL_SIZE - 0.5)
    rows: list[list[tuple[float, str | None, str]]] = []
    x = math.inf
    for colour, text in legend:
        w = renderer.get_text_width_height_descent(text, font, ismath=False)[0] / DPI + (0.25 if colour else 0.0)
        if x + w > width:
            rows.append([])
            x = 0.0
        rows[-1].append((x, colour, text))
        x += w + 0.35
    return rows


# ---- output ------------------------------------------------------------------------------------
def write_figure(fig: Figure, path: str | Path, fmt: str | None = None) -> Path:
    """Write `fig` atomically (a temporary file in the same directory, then rename) with the permissions a
    plainly created file gets (0o666 less the umask); `fmt` defaults to the suffix: png, svg or pdf."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot write {path}: the format comes from the suffix, one of "
                         f"{', '.join('.' + f for f in FORMATS)}")
    with atomic.open_atomic(path, "wb") as f:
        # svg: text stays text (small, searchable); fixed ids and no date, so a picture is reproducible
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ptnas"}):
            fig.savefig(f, format=fmt, dpi=DPI, metadata={"Date": None} if fmt in ("svg", "pdf") else None)
    return path


def figure_array(fig: Figure) -> np.ndarray:
    """The figure as an RGB uint8 array (H, W, 3), as TensorBoard's add_image takes it with dataformats="HWC"."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_genotype_picture(space: Any, genotype: Any, directory: str | Path, writer: Any = None) -> list[Path]:
    """Draw `genotype` (object or text) of `space` into `directory`/genotype.png and genotype.svg, and,
    given a TensorBoard SummaryWriter, as the image `genotype/picture`. A space that cannot draw
    only warns (the run's other results stand); returns the files written."""
    try:
        fig = space.draw(genotype)
    except NotImplementedError as e:
        warnings.warn(f"no genotype picture: {e}", stacklevel=2)
        return []
    directory = Path(directory)
    paths = [write_figure(fig, directory / "genotype.png"), write_figure(fig, directory / "genotype.svg")]
    if writer is not None:
        writer.add_image(TAG, figure_array(fig), 0, dataformats="HWC")
        writer.flush()
    return paths


# ---- score against cost ----------------------------------------------------------------------------
PARETO_AXES = {  # cost name: (axis label, its value of a ptnas.spaces.cost.Cost)
    "params": ("parameters (millions)", lambda c: c.params / 1e6),
    "flops": ("FLOPs: multiply-adds per image (millions)", lambda c: c.macs / 1e6),
    "latency": ("predicted latency (ms)", lambda c: c.latency),
}
PARETO_TAG = "pareto/{}"  # TensorBoard image tag per cost name


def pareto_figure(costs: Sequence[float], scores: Sequence[float], xlabel: str, ylabel: str = "score",
                  title: str | None = None) -> Figure:
    """One dot per network, score against cost, the Pareto front (`pareto.front`: fewer costs and higher scores
    are better) marked and joined as the staircase of what it attains. The dots carry gids `pareto:others` and
    `pareto:front`."""
    on_front = pareto.front(costs, scores)
    others = sorted(set(range(len(costs))) - set(on_front))
    fig = Figure(figsize=(6.4, 4.4), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter([costs[i] for i in others], [scores[i] for i in others], s=18, c="#9e9e9e", alpha=0.7,
               label="evaluated", gid="pareto:others")
    fx, fy = [costs[i] for i in on_front], [scores[i] for i in on_front]
    ax.step(fx, fy, where="post", c="#c0392b", lw=1.2, zorder=2)
    ax.scatter(fx, fy, s=30, c="#c0392b", zorder=3, label=f"Pareto front ({len(on_front)})", gid="pareto:front")
    ax.set_xlabel(f"{xlabel}, fewer is better")
    ax.set_ylabel(f"{ylabel}, higher is better")
    ax.set_title(title or f"{ylabel} against {xlabel}", fontsize=TITLE_SIZE)
    ax.grid(True, lw=0.4, alpha=0.5)
    ax.legend(loc="lower right", fontsize=LABEL_SIZE)
    fig.tight_layout()
    return fig


def save_pareto_pictures(scored: Sequence[tuple[Any, float]], cost_of: Callable[[Any], Any], directory: str | Path,
                         writer: Any = None, latency: bool = False, score: str = "score") -> list[Path]:
    """`scored` (genotype, score) pairs drawn against their parameters, FLOPs and, with `latency`, latency
    (`cost_of(genotype)`: a `Cost`) into `directory`/pareto-<cost>.png and, given a SummaryWriter, the images
    `pareto/<cost>`. Nothing scored: nothing drawn (a warning). Returns the files written."""
    if not scored:
        warnings.warn("no Pareto pictures: no network was scored", stacklevel=2)
        return []
    costs = [cost_of(g) for g, _ in scored]
    scores = [float(v) for _, v in scored]
    paths = []
    for name in ("params", "flops", "latency") if latency else ("params", "flops"):
        label, value = PARETO_AXES[name]
        fig = pareto_figure([value(c) for c in costs], scores, label, score,
                            title=f"{score} against {label.split(' (')[0]} ({len(scored)} networks)")
        paths.append(write_figure(fig, Path(directory) / f"pareto-{name}.png"))
        if writer is not None:
            writer.add_image(PARETO_TAG.format(name), figure_array(fig), 0, dataformats="HWC")
    if writer is not None:
        writer.flush()
    return paths
