"""Replicas: K decision states of one supernet, run side by side in one forward.

A Zero-Cost-PT scoring pass measures K candidates (perturbations `A - (e, o)`, or discretizations, or
removed edges) on the same minibatch; DARTS-PT's V evaluates K perturbations on the same batches.
Instead of K forwards of n rows, `replicated(net, setups, n)` lets one forward of K·n rows do it: the
minibatch is tiled K times (`tile`), and rows k·n..(k+1)·n run candidate k's decision state. Every
replica computes what its own forward computes, up to the kernels' rounding:

- Op weights per replica: an op alive in every replica with one weight runs as usual; one alive in at
  least half of them runs on every row and the other replicas' rows are set to exactly 0; one alive in
  fewer runs only on its replicas' rows (`index_select`, `index_copy`); an op removed in every replica
  is not executed, nor is a `none` op where its replicas run other ops. For a row, the arithmetic is
  MixedOp's, in the same order.
- An edge switched off in some replicas adds nothing to their rows (NB201, DARTS); chain spaces,
  whose switched-off block passes its input through, refuse that mix (`edge_off_is_zero`).
- BatchNorm that normalises with batch statistics (train mode, or no running statistics) normalises
  each replica's rows on their own; with running statistics (eval mode) it is per-sample already.
- `owners()` tells code that sees a module's input (a proxy's hooks) which replica each block of n
  rows belongs to, so a proxy can score every replica from the one forward (ptnas/proxies/base.py).

The K states are read once on entry (each setup entered, the supernet's edge weights read, the setup
left), so the supernet's own state is untouched inside the block.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, ContextManager, Iterator, Sequence

import torch
from torch import nn

_OWNERS: contextvars.ContextVar[tuple[int, ...] | None] = contextvars.ContextVar("ptnas_replica_owners", default=None)
_ROWS: contextvars.ContextVar[int | None] = contextvars.ContextVar("ptnas_replica_rows", default=None)


def owners(rows: int) -> tuple[int, ...]:
    """The replica of each block of n rows in a tensor of `rows` rows that a module sees now, -1 for a
    block computed only to be discarded (a proxy must skip it); outside a replicated forward, every block
    is its own replica (one block of n rows: `(0,)`)."""
    current = _OWNERS.get()
    if current is not None:
        return current
    n = _ROWS.get()
    return tuple(range(rows // n)) if n else (0,)


def tile(x: torch.Tensor, k: int) -> torch.Tensor:
    """x repeated k times along the batch dimension, keeping x's memory format."""
    return x if k == 1 else torch.cat([x] * k)


class ReplicaEdge:
    """One edge's ops in a replicated forward: `(op, rows, owners, scale, dead)` per op alive in any replica.

    rows: LongTensor of the rows where the op runs (None: every row); owners: the replica of each block of
    n rows it runs on, in order, -1 for a block it runs on only to be discarded; scale: the weight, a 0-d
    tensor shared by all its rows, a per-row column, or None (weight 1); dead: a per-row bool column of
    the discarded rows (None: none), whose output is set to 0.
    """

    def __init__(self, entries: list[tuple]):
        self.entries = entries
        # per entry: whether every replica where its op is alive also runs another op of this edge
        alive = [{r for r in who if r >= 0} for _, _, who, _, _ in entries]
        self.covered = [mine <= set().union(*(a for j, a in enumerate(alive) if j != i)) for i, mine in enumerate(alive)]

    def run(self, ops: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
        """Σ over the entries, as MixedOp sums: a `none` op is skipped where its replicas run other ops."""
        out = None
        for i, (name, rows, who, scale, dead) in enumerate(self.entries):
            if self.covered[i] and getattr(ops[name], "adds_nothing", False):
                continue
            token = _OWNERS.set(who)
            try:
                y = ops[name](x if rows is None else x.index_select(0, rows))
            finally:
                _OWNERS.reset(token)
            if scale is not None and scale.dim():
                scale = scale.reshape((-1,) + (1,) * (y.dim() - 1))
            if dead is not None:  # exactly 0, also where a discarded row is not finite
                y = torch.where(dead.reshape((-1,) + (1,) * (y.dim() - 1)), y.new_zeros(()), y)
            if rows is None:  # every row: the arithmetic of MixedOp.forward
                if out is None:
                    out = y if scale is None else scale * y
                else:
                    out = out + y if scale is None else torch.addcmul(out, scale, y)
                continue
            if out is None:  # some rows: the same arithmetic on those rows, zeros on the others
                out = torch.zeros((x.shape[0],) + y.shape[1:], dtype=y.dtype, device=y.device)
                if y.dim() == 4 and y.is_contiguous(memory_format=torch.channels_last):
                    out = out.contiguous(memory_format=torch.channels_last)
                out = out.index_copy(0, rows, y if scale is None else scale * y)
            else:
                part = out.index_select(0, rows)
                out = out.index_copy(0, rows, part + y if scale is None else torch.addcmul(part, scale, y))
        if out is None:
            raise RuntimeError("a replicated MixedOp has no op alive in any replica")
        return out


def _merge(net, states: list[dict], n: int, device: torch.device) -> dict:
    """Per edge: None if it is off in every replica, the common (op, w) list if every replica has the
    same one, else a ReplicaEdge. An op alive in at least half the replicas runs on every row (the
    others' rows discarded), which costs less than gathering and scattering rows; one alive in fewer
    runs on its replicas' rows only. Weights are compared by value, read in one transfer."""
    k = len(states)
    tensors = [w for s in states for ws in s.values() if ws is not None for _, w in ws if w is not None]
    values = iter(torch.stack(tensors).tolist() if tensors else [])
    value = [{e: None if ws is None else [(o, None if w is None else next(values)) for o, w in ws]
              for e, ws in s.items()} for s in states]  # the same shape as states, floats for tensors
    merged = {}
    for e in net.edges():
        per = [s[e] for s in states]
        if all(p is None for p in per):
            merged[e] = None
            continue
        if any(p is None for p in per) and not net.edge_off_is_zero:
            raise ValueError(f"edge {e!r} is switched off in some replicas only; {type(net).__name__} passes a "
                             "switched-off edge's input through, which a replicated forward cannot mix")
        if all(v[e] == value[0][e] for v in value):
            merged[e] = per[0]
            continue
        entries = []
        for op in net.ops(e):
            weight = {r: dict(p)[op] for r, p in enumerate(per) if p is not None and op in dict(p)}
            if not weight:
                continue
            seen = {dict(value[r][e])[op] for r in weight}
            dense = 2 * len(weight) >= k
            who = tuple(r if r in weight else -1 for r in range(k)) if dense else tuple(weight)
            if seen == {None}:
                scale = None
            elif len(seen) == 1:
                scale = next(iter(weight.values()))  # one weight for every row the op runs on
            else:
                one = next(w for w in weight.values() if w is not None).new_ones(())
                scale = torch.stack([one if weight.get(r) is None else weight[r] for r in who]).repeat_interleave(n)
            rows = None if dense else torch.cat([torch.arange(r * n, (r + 1) * n, device=device) for r in who])
            dead = None
            if dense and len(weight) < k:
                dead = torch.tensor([r < 0 for r in who], device=device).repeat_interleave(n)
            entries.append((op, rows, who, scale, dead))
        merged[e] = ReplicaEdge(entries)
    return merged


def _batchnorm_per_replica(bn: nn.modules.batchnorm._BatchNorm, n: int) -> Callable:
    plain = type(bn).forward

    def forward(x: torch.Tensor) -> torch.Tensor:
        if (not bn.training and bn.track_running_stats) or x.shape[0] <= n:
            return plain(bn, x)  # running statistics (per sample), or one replica's rows
        return torch.cat([plain(bn, chunk) for chunk in x.split(n)])

    return forward


@contextlib.contextmanager
def replicated(net: nn.Module, setups: Sequence[Callable[[], ContextManager]], n: int,
               device: torch.device | str = "cpu") -> Iterator[int]:
    """Within the block, a forward of `net` on `tile(x, K)` (x of n rows) runs candidate k's decision
    state on rows k·n..(k+1)·n, K = len(setups). Yields K."""
    if n < 1 or not setups:
        raise ValueError(f"a replicated forward needs n >= 1 rows per replica and at least one setup, got n={n}, "
                         f"{len(setups)} setups")
    states = []
    for setup in setups:
        with setup():
            states.append(net.edge_weights())
    merged = _merge(net, states, n, torch.device(device))
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    rows_token = _ROWS.set(n)
    net._replica_weights = merged
    for bn in bns:
        bn.forward = _batchnorm_per_replica(bn, n)
    try:
        yield len(setups)
    finally:
        for bn in bns:
            del bn.forward
        net._replica_weights = None
        _ROWS.reset(rows_token)


class Chunks:
    """How many candidates one replicated forward takes, and running them chunk by chunk.

    replicas: the chunk size; 0 = auto: every candidate at once on CUDA, one per forward elsewhere (on
    CPU batching was measured not to pay, docs/results.md). A chunk that runs out of CUDA memory is halved
    and tried again, and the size that fitted caps every later chunk.
    """

    def __init__(self, replicas: int = 0):
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ValueError(f"replicas must be an integer >= 0 (0 = auto), got {replicas!r}")
        self.replicas = replicas
        self.fits: int | None = None

    def size(self, count: int, device: torch.device) -> int:
        """The chunk size for `count` candidates on `device` (1: one forward per candidate)."""
        size = self.replicas or (count if device.type == "cuda" else 1)
        return max(1, min(size, count, self.fits or count))

    def run(self, items: list, device: torch.device, measure: Callable[[list], list]) -> list:
        """`measure(chunk)` over consecutive chunks, the results concatenated in order."""
        out: list = []
        size = self.size(len(items), device)
        while len(out) < len(items):
            chunk = items[len(out):len(out) + size]
            try:
                rows = measure(chunk)
            except torch.cuda.OutOfMemoryError:
                if len(chunk) == 1:
                    raise
                size = self.fits = max(1, len(chunk) // 2)
                torch.cuda.empty_cache()
                continue
            out.extend(rows)
        return out


__all__ = ["Chunks", "ReplicaEdge", "owners", "replicated", "tile"]
