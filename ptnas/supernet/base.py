"""The decision API every selection policy rests on: discretize A + (e, o) and perturb A - (e, o).

A `Supernet` knows its edges (decision points) and the candidate operations of each. It keeps the
decision state (decided op per edge, ops removed by an active perturbation, pruned edges) and the
architecture parameters α (one vector per edge). Space-specific subclasses build the modules and call
`self.edge_weights()` in their forward pass to learn, per edge, which ops to run and with what weight.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import torch
from torch import nn

EdgeId = str


class Supernet(nn.Module):
    """Base class: decision state + α. Subclasses implement `forward` and `genotype`.

    MixedOp weights follow the design: w = softmax(α_e) over all of e's ops, ops removed by a
    perturbation get weight 0 and are not executed, the rest are not renormalised; a decided edge
    runs only its op, with weight 1.

    Inside `replicas.replicated(net, setups, n)` a forward runs K decision states at once (one per
    block of n rows); `edge_weights()` then returns the merged per-replica weights.
    """

    edge_off_is_zero = True  # a switched-off edge adds nothing (False: it passes its input through)
    _replica_weights = None  # set by replicas.replicated for the duration of its block

    def __init__(self, edge_ops: dict[EdgeId, Sequence[str]]):
        super().__init__()
        if not edge_ops:
            raise ValueError("a supernet needs at least one edge")
        self._edge_ops: dict[EdgeId, tuple[str, ...]] = {e: tuple(ops) for e, ops in edge_ops.items()}
        for e, ops in self._edge_ops.items():
            if len(ops) < 1 or len(set(ops)) != len(ops):
                raise ValueError(f"edge {e!r} needs distinct candidate ops, got {ops}")
        # α: one vector per edge, DARTS initialisation 1e-3·N(0, 1).
        self.alphas = nn.ParameterDict(
            {e: nn.Parameter(1e-3 * torch.randn(len(ops))) for e, ops in self._edge_ops.items()}
        )
        self._decided: dict[EdgeId, str] = {}
        self._removed: dict[EdgeId, set[str]] = {e: set() for e in self._edge_ops}
        self._pruned: set[EdgeId] = set()
        self._switched_off: set[EdgeId] = set()

    # ---- queries -------------------------------------------------------------------------
    def edges(self) -> list[EdgeId]:
        """Every decision point, in a stable input-to-output order."""
        return list(self._edge_ops)

    def ops(self, edge: EdgeId) -> tuple[str, ...]:
        """All operations the edge was built with (alive or not), in a fixed order."""
        self._check_edge(edge)
        return self._edge_ops[edge]

    def candidates(self, edge: EdgeId) -> tuple[str, ...]:
        """The operations still alive on `edge`."""
        self._check_edge(edge)
        if edge in self._decided:
            return (self._decided[edge],)
        return tuple(o for o in self._edge_ops[edge] if o not in self._removed[edge])

    def is_decided(self, edge: EdgeId) -> bool:
        self._check_edge(edge)
        return edge in self._decided

    def is_pruned(self, edge: EdgeId) -> bool:
        self._check_edge(edge)
        return edge in self._pruned

    def undecided(self) -> list[EdgeId]:
        return [e for e in self._edge_ops if e not in self._decided and e not in self._pruned]

    def topology_groups(self) -> list[tuple[list[EdgeId], int]]:
        """Groups of edges of which only `keep` may stay (DARTS: each node keeps 2 inputs).

        Empty for spaces without a topology step (NAS-Bench-201, chain spaces).
        """
        return []

    # ---- the two primitives ----------------------------------------------------------------
    def discretize(self, edge: EdgeId, op: str) -> None:
        """A + (e, o): edge `edge` keeps only `op`, permanently."""
        self._check_edge(edge)
        if edge in self._decided:
            raise ValueError(f"edge {edge!r} is already decided ({self._decided[edge]!r})")
        if edge in self._pruned:
            raise ValueError(f"edge {edge!r} is pruned")
        if op not in self.candidates(edge):
            raise ValueError(f"op {op!r} is not alive on edge {edge!r}; alive: {', '.join(self.candidates(edge))}")
        self._decided[edge] = op

    @contextlib.contextmanager
    def perturb(self, edge: EdgeId, op: str) -> Iterator[None]:
        """A - (e, o): remove `op` from an undecided edge for the duration of the `with` block."""
        self._check_edge(edge)
        if edge in self._decided:
            raise ValueError(f"edge {edge!r} is decided ({self._decided[edge]!r}); only undecided edges can be perturbed")
        alive = self.candidates(edge)
        if op not in alive:
            raise ValueError(f"op {op!r} is not alive on edge {edge!r}; alive: {', '.join(alive)}")
        if len(alive) == 1:
            raise ValueError(f"op {op!r} is the last alive op on edge {edge!r}; it cannot be removed")
        self._removed[edge].add(op)
        try:
            yield
        finally:
            self._removed[edge].discard(op)

    @contextlib.contextmanager
    def perturb_edge(self, edge: EdgeId) -> Iterator[None]:
        """Remove the whole edge (it contributes nothing) for the duration of the `with` block."""
        self._check_edge(edge)
        if edge in self._pruned or edge in self._switched_off:
            raise ValueError(f"edge {edge!r} is already removed")
        self._switched_off.add(edge)
        try:
            yield
        finally:
            self._switched_off.discard(edge)

    def prune_edge(self, edge: EdgeId) -> None:
        """Remove the whole edge permanently (DARTS topology step)."""
        self._check_edge(edge)
        if edge in self._pruned:
            raise ValueError(f"edge {edge!r} is already pruned")
        self._pruned.add(edge)

    # ---- snapshots ------------------------------------------------------------------------
    def decisions(self) -> dict[str, Any]:
        """Permanent decisions as plain JSON-able data."""
        return {"ops": dict(self._decided), "pruned": sorted(self._pruned, key=self.edges().index)}

    def load_decisions(self, decisions: dict[str, Any]) -> None:
        """Replace the current decisions by a snapshot from `decisions()` (validated first)."""
        ops = dict(decisions.get("ops", {}))
        pruned = list(decisions.get("pruned", []))
        for e, o in ops.items():
            self._check_edge(e)
            if o not in self._edge_ops[e]:
                raise ValueError(f"op {o!r} is not a candidate of edge {e!r}; candidates: {', '.join(self._edge_ops[e])}")
        for e in pruned:
            self._check_edge(e)
        self._decided = ops
        self._pruned = set(pruned)

    def reset_decisions(self) -> None:
        self._decided = {}
        self._pruned = set()

    def genotype(self):
        """The architecture once every edge is decided (or pruned); space-specific."""
        raise NotImplementedError

    def _require_all_decided(self) -> None:
        left = self.undecided()
        if left:
            raise ValueError(f"genotype needs every edge decided; undecided: {', '.join(left)}")

    # ---- α ----------------------------------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas.values())

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter except α (what the weight optimizer trains)."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def edge_weights(self) -> dict[EdgeId, list[tuple[str, torch.Tensor | None]] | None]:
        """Per edge, the (op, weight) pairs to run; None for an edge that is removed or pruned (inside a
        replicated forward: the replicas' merged weights, ptnas/supernet/replicas.py)."""
        if self._replica_weights is not None:
            return self._replica_weights
        out: dict[EdgeId, list[tuple[str, torch.Tensor | None]] | None] = {}
        for e, ops in self._edge_ops.items():
            if e in self._pruned or e in self._switched_off:
                out[e] = None
            elif e in self._decided:
                out[e] = [(self._decided[e], None)]
            else:
                w = torch.softmax(self.alphas[e], dim=-1)
                out[e] = [(o, w[i]) for i, o in enumerate(ops) if o not in self._removed[e]]
        return out

    def _check_edge(self, edge: EdgeId) -> None:
        if edge not in self._edge_ops:
            raise ValueError(f"unknown edge {edge!r}; edges: {', '.join(self._edge_ops)}")
