"""Edges × ops heatmaps of a supernet, one per cell type: the search log's latest scores and the
trainer's softmax(α) are both drawn with these."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np


def cell_type(edge: str) -> str:
    """`normal:2<-0` -> `normal`; `''` for spaces whose edges carry no cell type (NB201)."""
    return edge.split(":", 1)[0] if ":" in edge else ""


def edge_op_tables(net, value: Callable[[str, str], float]) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """Per cell type: (edges, the union of their ops in first-seen order, an edges × ops array of
    `value(edge, op)`, NaN where an edge lacks the op)."""
    groups: dict[str, list[str]] = {}
    for e in net.edges():
        groups.setdefault(cell_type(e), []).append(e)
    out = {}
    for group, edges in groups.items():
        ops: list[str] = []
        for e in edges:
            ops.extend(o for o in net.ops(e) if o not in ops)
        table = np.full((len(edges), len(ops)), math.nan)
        for i, e in enumerate(edges):
            for o in net.ops(e):
                table[i, ops.index(o)] = value(e, o)
        out[group] = (edges, ops, table)
    return out


def render_heatmap(values: np.ndarray, rows: list[str], cols: list[str], marked: set) -> np.ndarray:
    """A labelled heatmap as an RGB uint8 array (matplotlib, off-screen); `marked` (row, col) cells get a red frame."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(cols), 0.8 + 0.3 * len(rows)), dpi=80)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if (r, c) in marked:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2))
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return image
