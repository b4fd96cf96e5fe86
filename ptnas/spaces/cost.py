"""What a genotype's standalone network costs: parameters and multiply-adds (MACs) of one inference, and,
with a measured latency table (ptnas.spaces.latency), its latency on a device.

Convention: parameters are `sum(p.numel())` over the network; MACs are the multiply-adds of every
convolution and matrix product of one eval-mode forward of a 1×3×S×S input, counted by
`torch.utils.flop_counter.FlopCounterMode` (which reports 2 FLOPs per multiply-add; we halve it).
Biases, BN, activations, pooling and additions are not counted: the "mult-adds" of the DARTS and
ProxylessNAS papers and exactly NAS-Bench-Macro's `flops` (docs/costs.md has the reference checks).
FlopCounterMode sees aten ops, so no layer type can be missed, and it is what ptnas-train reports.

A space's `cost_model(...)` is additive: cost(genotype) = fixed + Σ over its chosen (edge, op) of a
table entry, computed once per (space, size). So a partial decision has a range: the cost of its
cheapest and dearest completion (`CostModel.range`), and a selector can ask which ops of an edge
still leave a completion within a budget (`CostModel.allowed`). A space's `layout(...)` says where each
edge's op runs in the network (its slots and their input shapes); the cost model and the latency table
are both built from it (`additive`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Hashable, NamedTuple

import torch
from torch import nn

EdgeId = str


@dataclass(frozen=True)
class Cost:
    """Parameters, multiply-adds (MACs) and latency (milliseconds of one batch-1 eval forward on a latency
    table's device; 0 where no table was given) of one inference. Every component adds up."""

    params: int
    macs: int
    latency: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.params + other.params, self.macs + other.macs, self.latency + other.latency)

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.params - other.params, self.macs - other.macs, self.latency - other.latency)

    def within(self, max_params: int | None = None, max_macs: int | None = None,
               max_latency: float | None = None) -> bool:
        """Whether no limit (None: no limit) is exceeded."""
        return ((max_params is None or self.params <= max_params) and (max_macs is None or self.macs <= max_macs)
                and (max_latency is None or self.latency <= max_latency))


ZERO = Cost(0, 0)


@torch.no_grad()
def count(module: nn.Module | None, input_shape: Sequence[int]) -> Cost:
    """Parameters and MACs of one eval-mode forward of `module` on zeros of `input_shape` (CPU);
    `None` (an op that is no module, such as a skipped block) costs nothing."""
    if module is None:
        return ZERO
    was_training = module.training
    module.eval()
    try:
        from torch.utils.flop_counter import FlopCounterMode  # it loads triton (0.2 s): only when counting

        with FlopCounterMode(display=False) as counter:
            module(torch.zeros(*input_shape))
    finally:
        module.train(was_training)
    return Cost(sum(p.numel() for p in module.parameters()), int(counter.get_total_flops()) // 2)


def count_network(network: nn.Module, input_size: int) -> Cost:
    """`count` of a whole network on one 3×input_size×input_size image."""
    return count(network, (1, 3, input_size, input_size))


def io_shapes(network: nn.Module, modules: Iterable[nn.Module],
              input_size: int) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input shape, output shape) of each of `modules` (by `id`) in one forward of `network`."""
    shapes: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def record(module, args, output):
        shapes.setdefault(id(module), (tuple(args[0].shape), tuple(output.shape)))

    handles = [m.register_forward_hook(record) for m in modules]
    try:
        count_network(network, input_size)
    finally:
        for h in handles:
            h.remove()
    return shapes


class Slot(NamedTuple):
    """One place where an edge's op runs in the standalone network: `build(op, *args)` makes the op's
    module (None for no module) and it sees an input of `shape`. Cell spaces have one slot per cell."""

    edge: EdgeId
    args: tuple
    shape: tuple[int, ...]


Measure = Callable[[nn.Module | None, tuple[int, ...]], Cost]  # a module's cost on an input of a shape


def op_table(slots: Iterable[Slot], edge_ops: Mapping[EdgeId, Sequence[str]],
             build: Callable[..., nn.Module | None], measure: Measure = count) -> dict[EdgeId, dict[str, Cost]]:
    """Per edge and op, the summed cost (`measure`: `count` by default) of that op's module in every slot of
    the edge (each distinct (op, args, shape) measured once)."""
    cache: dict[tuple, Cost] = {}
    table: dict[EdgeId, dict[str, Cost]] = {e: dict.fromkeys(ops, ZERO) for e, ops in edge_ops.items()}
    for slot in slots:
        for op in edge_ops[slot.edge]:
            key = (op, slot.args, slot.shape)
            if key not in cache:
                with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the caller's RNG alone
                    cache[key] = measure(build(op, *slot.args), slot.shape)
            table[slot.edge][op] += cache[key]
    return table


@dataclass(frozen=True)
class Layout:
    """Where a space's edges run in its standalone network at one size: what both the cost model and the
    latency table (ptnas.spaces.latency) are built from, so the slots are found in one place per space.

    `network` is the network of `reference` on a 1×3×input_size×input_size input; `slots` list every place
    an edge's op runs in it, `build(op, *slot.args)` makes that op's module; `edge_ops` are the ops the table
    holds per edge, `candidates` the default supernet's alive ops; `choices(g)` a genotype's (edge, op)
    pairs or None where the table does not describe it; `network_of(g)` builds a genotype's network at this
    size (for those); `groups` as in `CostModel`.
    """

    network: nn.Module
    reference: Hashable
    input_size: int
    slots: tuple[Slot, ...]
    edge_ops: Mapping[EdgeId, tuple[str, ...]]
    build: Callable[..., nn.Module | None]
    candidates: Mapping[EdgeId, tuple[str, ...]]
    choices: Callable[[Hashable], list[tuple[EdgeId, str]] | None]
    network_of: Callable[[Hashable], nn.Module]
    groups: tuple[tuple[tuple[EdgeId, ...], int], ...] = ()

    def distinct(self) -> int:
        """How many distinct (op, args, shape) modules `op_table` measures."""
        return len({(op, s.args, s.shape) for s in self.slots for op in self.edge_ops[s.edge]})


def additive(layout: Layout, measure: Measure = count,
             whole: Callable[[nn.Module, int], Cost] = count_network) -> tuple[Cost, dict[EdgeId, dict[str, Cost]]]:
    """(fixed, table): the op table by `measure`, and `fixed` = `whole` of the reference network minus its
    ops' entries, so fixed + Σ entries of the reference's choices is exactly `whole` of its network."""
    table = op_table(layout.slots, layout.edge_ops, layout.build, measure)
    fixed = whole(layout.network, layout.input_size)
    for e, o in layout.choices(layout.reference):
        fixed -= table[e][o]
    return fixed, table


def cost_model(layout: Layout) -> CostModel:
    """The parameters-and-MACs `CostModel` of a layout (what `SearchSpace.cost_model` caches)."""
    fixed, table = additive(layout)
    network, input_size = layout.network_of, layout.input_size  # not the layout: its reference network is not kept
    return CostModel(fixed, table, layout.candidates, choices=layout.choices,
                     direct=lambda g: count_network(network(g), input_size), groups=layout.groups, network=network)


State = Any  # a Supernet (duck-typed: candidates(e), is_pruned(e)), its decisions() dict, or None


@dataclass(frozen=True)
class CostModel:
    """Cost of a space's networks at one size: `fixed` + Σ `table[edge][op]` over a genotype's choices.

    `candidates` are the alive ops of an undecided edge when a state does not say (a decisions dict or
    None: the default supernet's ops). `groups` are topology constraints (DARTS: of each node's input
    edges exactly `keep` stay; a pruned or left-out edge costs nothing); edges outside every group are
    all kept. `choices(genotype)` lists a genotype's (edge, op) pairs, or None where the table does not
    describe it (e.g. another width); `direct(genotype)` then counts its network. `network(genotype)` builds
    a genotype's network at the model's size (what `with_latency` measures for a genotype outside the table).
    `has_latency`: latency is a measured component (set by `with_latency`; `allowed` refuses a latency limit
    otherwise, rather than pass every op on latencies of 0).
    """

    fixed: Cost
    table: Mapping[EdgeId, Mapping[str, Cost]] = field(repr=False)
    candidates: Mapping[EdgeId, tuple[str, ...]] = field(repr=False)
    choices: Callable[[Hashable], list[tuple[EdgeId, str]] | None] = field(repr=False)
    direct: Callable[[Hashable], Cost] = field(repr=False)
    groups: tuple[tuple[tuple[EdgeId, ...], int], ...] = field(default=(), repr=False)
    network: Callable[[Hashable], nn.Module] | None = field(default=None, repr=False)
    has_latency: bool = False  # whether latency is a measured component (`with_latency`), not everywhere 0

    def with_latency(self, table: Any) -> CostModel:
        """This model with latency as its third component, from a `ptnas.spaces.latency.LatencyTable`
        (`fixed` and `ops[edge][op]` in ms) of the same space and size; a genotype outside the table (`choices`
        None) has its network measured the table's way (`table.measure_network`) on the table's device."""
        ops = table.ops
        if set(ops) != set(self.table) or any(set(ops[e]) != set(self.table[e]) for e in self.table):
            raise ValueError(f"the latency table's edges or ops ({table.space}, {table.size}) are not this cost model's; "
                             "build it for the same space and size")
        if self.network is None:
            raise ValueError("this cost model cannot build networks, so genotypes outside its table have no latency")
        direct, network = self.direct, self.network
        return replace(self, has_latency=True, fixed=replace(self.fixed, latency=float(table.fixed)),
                       table={e: {o: replace(c, latency=float(ops[e][o])) for o, c in row.items()}
                              for e, row in self.table.items()},
                       direct=lambda g: replace(direct(g), latency=table.measure_network(network(g))))

    def of(self, genotype: Hashable) -> Cost:
        """The genotype's cost: the additive table where it applies, else its network counted."""
        pairs = self.choices(genotype)
        if pairs is None:
            return self.direct(genotype)
        total = self.fixed
        for e, o in pairs:
            total += self.table[e][o]
        return total

    def range(self, state: State = None, assume: Mapping[EdgeId, str] | None = None,
              prune: Iterable[EdgeId] = ()) -> tuple[Cost, Cost]:
        """(low, high): the least and the most cost of any completion of `state` (with `assume`'s edges
        decided as given and `prune`'s edges pruned on top of it).

        Exact per component: low.params is the fewest parameters of any completion, low.macs the fewest
        MACs and low.latency the least latency of any completion; they can come from different completions (then no single
        completion attains `low`). A completion picks one alive op per kept edge and, in each group,
        `keep` of its unpruned edges (the cheapest ones for `low`: costs are additive and groups are
        disjoint, so each group is chosen on its own).
        """
        alive = self._alive(state, assume or {}, set(prune))
        low = high = self.fixed
        grouped = {e for edges, _ in self.groups for e in edges}
        for e, ops in alive.items():
            if e not in grouped and ops:
                low, high = low + self._least(e, ops), high + self._most(e, ops)
        for edges, keep in self.groups:
            open_ = [e for e in edges if alive[e]]
            if len(open_) < keep:
                raise ValueError(f"{len(open_)} unpruned edges left of {', '.join(edges)}; {keep} must stay")
            least = [self._least(e, alive[e]) for e in open_]
            most = [self._most(e, alive[e]) for e in open_]
            low += Cost(_smallest([c.params for c in least], keep), _smallest([c.macs for c in least], keep),
                        _smallest([c.latency for c in least], keep))
            high += Cost(-_smallest([-c.params for c in most], keep), -_smallest([-c.macs for c in most], keep),
                         -_smallest([-c.latency for c in most], keep))
        return low, high

    def allowed(self, state: State, edge: EdgeId, max_params: int | None = None,
                max_macs: int | None = None, max_latency: float | None = None) -> tuple[str, ...]:
        """The alive ops of `edge` that, decided, still leave a completion within every limit (each limit
        met by some completion: `range`'s per-component rule), in the edge's order."""
        if max_latency is not None and not self.has_latency:
            raise ValueError("max_latency needs a cost model with latency: cost_model(...).with_latency(table)")
        ops = self._alive(state, {}, set())[edge]
        return tuple(o for o in ops
                     if self.range(state, assume={edge: o})[0].within(max_params, max_macs, max_latency))


    # ---- helpers -------------------------------------------------------------------------------
    def _least(self, e: EdgeId, ops: Iterable[str]) -> Cost:
        costs = [self.table[e][o] for o in ops]
        return Cost(min(c.params for c in costs), min(c.macs for c in costs), min(c.latency for c in costs))

    def _most(self, e: EdgeId, ops: Iterable[str]) -> Cost:
        costs = [self.table[e][o] for o in ops]
        return Cost(max(c.params for c in costs), max(c.macs for c in costs), max(c.latency for c in costs))

    def _alive(self, state: State, assume: Mapping[EdgeId, str], prune: set[EdgeId]) -> dict[EdgeId, tuple[str, ...]]:
        """Alive ops per edge; () for a pruned edge."""
        if state is None or isinstance(state, Mapping):
            decided = dict((state or {}).get("ops", {}))
            pruned = set((state or {}).get("pruned", ())) | prune
            alive = {e: () if e in pruned else ((decided[e],) if e in decided else ops)
                     for e, ops in self.candidates.items()}
            unknown = (set(decided) | pruned) - set(alive)
        else:
            alive = {e: () if e in prune or state.is_pruned(e) else tuple(state.candidates(e)) for e in state.edges()}
            unknown = set(alive) - set(self.table)
            missing = set(self.table) - set(alive)
            if missing:
                raise ValueError(f"the supernet lacks edges of this cost model: {', '.join(sorted(missing))}")
        unknown |= set(assume) - set(alive)
        if unknown:
            raise ValueError(f"unknown edge(s) {', '.join(sorted(unknown))}; edges: {', '.join(self.table)}")
        for e, o in assume.items():
            if o not in alive[e]:
                raise ValueError(f"op {o!r} is not alive on edge {e!r}; alive: {', '.join(alive[e]) or 'none (pruned)'}")
            alive[e] = (o,)
        for e, ops in alive.items():
            bad = [o for o in ops if o not in self.table[e]]
            if bad:
                raise ValueError(f"op {bad[0]!r} of edge {e!r} has no cost entry; known: {', '.join(self.table[e])}")
        return alive


def _smallest(values: list[float], k: int) -> float:
    """The sum of the k smallest values."""
    return sum(sorted(values)[:k])
