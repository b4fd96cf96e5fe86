"""Chain supernets (x → stem → block 1 → … → block n → head, one decision per block) and the prefix
cache that lets a perturbation of block i recompute only blocks i..n.

Zero-cost scoring of a chain space evaluates many supernets that differ in one block, on the same
minibatch. Blocks before the changed one compute exactly what they computed last time, so their
output can be reused. Proxies see only `(model, batch)`, so the cache must be invisible to them:

- Hooks: a proxy such as NASWOT reads every ReLU's input through forward hooks registered on the
  whole model. A reused block runs no module, so its hooks would not fire and the score would
  silently lose the prefix's contribution. The cache therefore records, while a block runs, the
  inputs and outputs of every module that has a hook at that moment, and on reuse calls the hooks
  that are registered *now* with those recorded values, in the original order.
- Side effects: BatchNorm in training mode updates its running statistics. The cache snapshots each
  block's buffers before and after it runs, and on reuse writes the "after" snapshot back, so
  buffers end exactly as a full forward leaves them.
- Gradients: a backward pass needs the prefix's graph (SynFlow differentiates w.r.t. prefix weights),
  so the cache is off whenever autograd records.
- Tracing, compilation and dispatch modes (FLOP counting, fake tensors) see a forward's ops: the cache is
  off there too (ptnas/ops/eager.py), or a counter would miss the reused blocks.

A block is reused only when everything it depends on is unchanged: the same input tensor object
(same in-place version), its decision state (alive ops and α weights), every module's train/eval
flag, every parameter (identity, storage, in-place version), the buffer values, and no hook that
cannot be replayed faithfully. Otherwise it is recomputed, so a stale result is never returned.
The cache is not carried into copies of the model (`copy.deepcopy` and pickling give an empty one),
is not used by `nn.DataParallel` replicas, and is not thread-safe.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from ptnas.ops.eager import eager, global_hooks
from ptnas.supernet.base import EdgeId, Supernet


@dataclass
class Stage:
    """One link of the chain: `run(h)` computes it, `module` owns its parameters, buffers and hooks,
    and `state` is the decision state it depends on (any value; tensors are compared by value)."""

    module: nn.Module
    run: Callable[[torch.Tensor], torch.Tensor]
    state: Any = None


@dataclass
class _Call:
    """What one hooked module saw during one call: its positional inputs and (if it has forward hooks)
    its output."""

    module: nn.Module
    args: tuple
    output: Any = None
    final_args: tuple | None = None
    raw_output: Any = None


@dataclass
class _Entry:
    key: tuple
    hooked: _Hooked
    buffers_before: list[torch.Tensor]
    buffers_after: list[torch.Tensor]
    calls: list[_Call]
    output: torch.Tensor
    versions: list[tuple[torch.Tensor, int]] = field(default_factory=list)
    replayable: bool = True


_OTHER_HOOKS = ("_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                "_backward_hooks", "_backward_pre_hooks")


class PrefixCache:
    """Reuses the leading stages of a chain forward whose inputs and state are unchanged.

    `enabled=False` turns it off; `stages_run` and `stages_reused` count stage evaluations.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.stages_run = 0
        self.stages_reused = 0
        self.clear()

    def clear(self) -> None:
        """Forget everything cached (frees the stored activations)."""
        self._input: torch.Tensor | None = None
        self._input_version = -1
        self._entries: list[_Entry] = []

    def __deepcopy__(self, memo) -> PrefixCache:
        return PrefixCache(self.enabled)

    def __getstate__(self) -> dict:  # pickling (torch.save of a whole model) keeps no activations
        return {"enabled": self.enabled}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["enabled"])

    # ---- the forward ------------------------------------------------------------------------
    def run(self, x: torch.Tensor, stages: Sequence[Stage], allowed: bool = True) -> torch.Tensor:
        """The output of the last stage, reusing cached leading stages where that is exact.
        `allowed=False` runs every stage (and forgets the cache) for this call."""
        if not (self.enabled and allowed and _cacheable(x)):
            self.clear()
            h = x
            for stage in stages:
                h = stage.run(h)
            self.stages_run += len(stages)
            return h
        if self._input is not x or x._version != self._input_version:
            self.clear()
            self._input, self._input_version = x, x._version
        contents = [_Contents.of(stage.module) for stage in stages]
        reused = 0
        while (reused < min(len(stages), len(self._entries))
               and self._matches(self._entries[reused], stages[reused], contents[reused])):
            reused += 1
        del self._entries[reused:]
        for entry, c in zip(self._entries, contents):
            _replay(entry, c)
        h = self._entries[-1].output if self._entries else x
        for stage, c in zip(stages[reused:], contents[reused:]):
            entry = _record(stage, c, h)
            self._entries.append(entry)
            h = entry.output
        self.stages_reused += reused
        self.stages_run += len(stages) - reused
        return h

    def _matches(self, entry: _Entry, stage: Stage, c: _Contents) -> bool:
        if not entry.replayable:
            return False
        if not _Hooked.of(c.modules).covered_by(entry.hooked) or _key(stage, c) != entry.key:
            return False
        if any(t._version != v for t, v in entry.versions):
            return False  # a recorded tensor was modified in place since
        return len(c.buffers) == len(entry.buffers_before) and all(
            b.shape == s.shape and b.dtype == s.dtype and torch.equal(b, s)
            for b, s in zip(c.buffers, entry.buffers_before))


class _Contents(NamedTuple):
    """A stage's modules, parameters and buffers, gathered in one traversal per forward."""

    modules: list[nn.Module]
    params: list[torch.Tensor]
    buffers: list[torch.Tensor]

    @classmethod
    def of(cls, module: nn.Module) -> _Contents:
        modules = list(module.modules())
        return cls(modules, [p for m in modules for p in m._parameters.values() if p is not None],
                   [b for m in modules for b in m._buffers.values() if b is not None])


def _cacheable(x: torch.Tensor) -> bool:
    """Caching needs no autograd recording, an eager forward on an ordinary tensor (no tracing, compilation
    or dispatch mode: a FLOP counter must see every stage) and no global module hooks."""
    if torch.is_grad_enabled() or torch.is_inference_mode_enabled() or not eager(x) or x.is_inference():
        return False
    return not global_hooks()


class _Hooked(NamedTuple):
    """Ids of the modules that have forward pre-hooks / forward hooks; ok=False if any module has a
    hook the cache cannot replay (kwargs, always-called or backward hooks)."""

    pre: frozenset[int]
    post: frozenset[int]
    ok: bool

    @classmethod
    def of(cls, modules: Sequence[nn.Module]) -> _Hooked:
        pre, post = set(), set()
        for m in modules:
            if any(getattr(m, name, None) for name in _OTHER_HOOKS):
                return cls(frozenset(), frozenset(), False)
            if m._forward_pre_hooks:
                pre.add(id(m))
            if m._forward_hooks:
                post.add(id(m))
        return cls(frozenset(pre), frozenset(post), True)

    def covered_by(self, recorded: _Hooked) -> bool:
        return self.ok and self.pre <= recorded.pre | recorded.post and self.post <= recorded.post


def _freeze(value: Any) -> Any:
    """A comparable snapshot of a stage's decision state (tensors by value)."""
    if isinstance(value, torch.Tensor):
        return tuple(value.detach().reshape(-1).tolist()) if value.numel() != 1 else value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _key(stage: Stage, c: _Contents) -> tuple:
    params = tuple((id(p), p.data_ptr(), p._version, p.dtype, p.device) for p in c.params)
    return (_freeze(stage.state), tuple(m.training for m in c.modules), params)


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def _rng_states(x: torch.Tensor) -> list[torch.Tensor]:
    states = [torch.random.get_rng_state()]
    if x.is_cuda:
        states.append(torch.cuda.get_rng_state(x.device))
    return states


def _record(stage: Stage, c: _Contents, h: torch.Tensor) -> _Entry:
    """Run one stage, capturing what its hooked modules see, its buffers and its output.

    For a module with pre-hooks its inputs are kept; with forward hooks, its output too. Capture
    hooks placed first and last around the module's own hooks tell whether those changed anything.
    """
    hooked = _Hooked.of(c.modules)
    replayable = hooked.ok
    key = _key(stage, c)
    before = [b.detach().clone() for b in c.buffers]
    calls: list[_Call] = []
    open_calls: dict[int, list[_Call]] = {}
    handles = []

    def first_pre(m, args):  # before any other pre-hook: the module's true input
        call = _Call(m, args)
        calls.append(call)
        open_calls.setdefault(id(m), []).append(call)

    def last_pre(m, args):  # after every other pre-hook: the input the module really gets
        call = open_calls[id(m)][-1]
        call.final_args = args
        if id(m) not in hooked.post:
            open_calls[id(m)].pop()

    def first_post(m, args, output):  # before any other forward hook: the module's true output
        open_calls[id(m)][-1].raw_output = output

    def last_post(m, args, output):  # after every other forward hook: the output the caller gets
        open_calls[id(m)].pop().output = output

    by_id = {id(m): m for m in c.modules}
    for i in hooked.pre | hooked.post:
        m = by_id[i]
        handles += [m.register_forward_pre_hook(first_pre, prepend=True), m.register_forward_pre_hook(last_pre)]
        if i in hooked.post:
            handles += [m.register_forward_hook(first_post, prepend=True), m.register_forward_hook(last_post)]
    rng = _rng_states(h)
    try:
        out = stage.run(h)
    finally:
        for handle in handles:
            handle.remove()
    # A stage that drew random numbers, or whose hooks changed inputs or outputs, cannot be replayed.
    if any(not torch.equal(a, b) for a, b in zip(rng, _rng_states(h))):
        replayable = False
    for call in calls:
        if (call.final_args is None or len(call.final_args) != len(call.args)
                or any(a is not b for a, b in zip(call.args, call.final_args)) or call.raw_output is not call.output):
            replayable = False
        call.final_args = call.raw_output = None
    tensors = [out] + [t for call in calls for t in _tensors(call.args) + _tensors(call.output)]
    return _Entry(key=key, hooked=hooked, buffers_before=before,
                  buffers_after=[b.detach().clone() for b in c.buffers], calls=calls, output=out,
                  versions=[(t, t._version) for t in tensors], replayable=replayable)


def _replay(entry: _Entry, c: _Contents) -> None:
    """What a reused stage would have done: its buffer updates and the hooks registered now."""
    for b, after in zip(c.buffers, entry.buffers_after):
        b.copy_(after)
    for call in entry.calls:
        m = call.module
        for hook in list(m._forward_pre_hooks.values()):
            if hook(m, call.args) is not None:
                raise RuntimeError(f"a forward pre-hook on {type(m).__name__} changed its input while the prefix "
                                   "cache replayed it; turn the cache off (net.prefix_cache.enabled = False)")
        for hook in list(m._forward_hooks.values()):
            if hook(m, call.args, call.output) is not None:
                raise RuntimeError(f"a forward hook on {type(m).__name__} changed its output while the prefix "
                                   "cache replayed it; turn the cache off (net.prefix_cache.enabled = False)")


class ChainSupernet(Supernet):
    """A supernet whose edges are the blocks of a chain: x → stem → block_1 → … → block_n → head.

    Subclasses build `stem`, `head` and one block per edge (in `edges()` order); a block is called as
    `block(h, weights)` with that edge's `(op, weight)` pairs, or None when the edge is switched off.
    `prefix_cache=True` reuses unchanged leading blocks across forwards (see the module docstring); a
    replicated forward (ptnas/supernet/replicas.py) does not use it.
    """

    edge_off_is_zero = False  # a switched-off block passes its input through

    def __init__(self, edge_ops: dict[EdgeId, Sequence[str]], stem: nn.Module, blocks: Sequence[nn.Module],
                 head: nn.Module, prefix_cache: bool = True):
        super().__init__(edge_ops)
        if len(blocks) != len(edge_ops):
            raise ValueError(f"a chain supernet needs one block per edge: {len(blocks)} blocks, {len(edge_ops)} edges")
        self.stem = stem
        self.blocks = nn.ModuleList(blocks)
        self.head = head
        self.prefix_cache = PrefixCache(prefix_cache)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.edge_weights()
        stages = [Stage(self.stem, self.stem)]
        for e, block in zip(self.edges(), self.blocks):
            stages.append(Stage(block, _bind(block, weights[e]), weights[e]))
        # nn.DataParallel replicas share this object across threads: they never use it.
        allowed = not getattr(self, "_is_replica", False) and self._replica_weights is None
        return self.head(self.prefix_cache.run(x, stages, allowed=allowed))


def _bind(block: nn.Module, weights) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda h: block(h, weights)


__all__ = ["ChainSupernet", "PrefixCache", "Stage"]
