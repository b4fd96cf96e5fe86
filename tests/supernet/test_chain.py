"""Prefix caching in chain supernets: scores with the cache equal scores without it, the prefix is
really reused where it may be, and it is recomputed wherever reuse could be wrong."""
from __future__ import annotations

import copy
import itertools
import pickle

import pytest
import torch
from torch import nn

from ptnas import proxies, spaces
from ptnas.supernet import ChainSupernet, MixedOp

SPACE = spaces.get("mobilenet")


def twin_supernets(layers: int = 2):
    """The same MobileNet supernet (same weights), with and without the prefix cache."""
    torch.manual_seed(0)
    cached = SPACE.supernet(C=8, layers=layers, prefix_cache=True)
    torch.manual_seed(0)
    plain = SPACE.supernet(C=8, layers=layers, prefix_cache=False)
    return cached, plain


def perturbation_scores(net, proxy, batch, edges: list[str] | None = None) -> list[float]:
    """S(A − (e, o)) for two ops of every edge from the output back to the input, then of the first
    three edges again: consecutive perturbations of one block, and moves to earlier and later blocks."""
    out = []
    edges = edges or net.edges()[::-1] + net.edges()[:3]
    for e in edges:
        for o in net.candidates(e)[:2]:
            with net.perturb(e, o):
                out.append(proxy(net, batch))
    return out


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(6, 3, 32, 32, generator=g), torch.randint(0, 10, (6,), generator=g)


@pytest.mark.parametrize("bn_mode", ["train", "eval"])
def test_nwot_scores_are_identical_with_and_without_the_cache(batch, bn_mode):
    cached, plain = twin_supernets()
    nwot = proxies.get("nwot")
    with_cache = perturbation_scores(cached, lambda n, b: nwot(n, b, bn_mode=bn_mode), batch)
    without = perturbation_scores(plain, lambda n, b: nwot(n, b, bn_mode=bn_mode), batch)
    assert with_cache == without  # bit for bit
    assert len(set(without)) > 1  # the perturbations do change the score
    # Every stage before the first block whose state differs from the previous forward is reused:
    # 12 stages (stem + 11 blocks) per forward, nothing cached before the first one.
    states = [(e, o) for e in cached.edges()[::-1] + cached.edges()[:3] for o in cached.candidates(e)[:2]]
    index = {e: k for k, e in enumerate(cached.edges())}
    expected = sum(1 + min(index[prev[0]], index[cur[0]]) for prev, cur in itertools.pairwise(states))
    assert cached.prefix_cache.stages_reused == expected == 131
    assert cached.prefix_cache.stages_run + cached.prefix_cache.stages_reused == 12 * len(without)
    assert plain.prefix_cache.stages_reused == 0


def test_synflow_scores_are_identical_and_the_cache_stays_off_under_autograd(batch):
    cached, plain = twin_supernets(layers=1)
    synflow = proxies.get("synflow")
    edges = ["block04", "block02", "block03"]
    assert perturbation_scores(cached, synflow, batch, edges) == perturbation_scores(plain, synflow, batch, edges)
    assert cached.prefix_cache.stages_reused == 0 and cached.prefix_cache.stages_run == 0  # scored on copies


def test_reused_blocks_still_fire_the_hooks_registered_now(batch):
    """NASWOT-style pre-hooks on every ReLU6 and forward hooks on every BN see the same inputs and
    outputs, in the same order, with the cache (a cache that only reused outputs would skip them)."""
    cached, plain = twin_supernets()
    seen = {}
    for name, net in (("cached", cached), ("plain", plain)):
        seen[name] = log = []
        net.eval()  # (in training mode, BN statistics change between the two forwards)
        for _ in range(2):  # the second forward reuses every block
            handles = [m.register_forward_pre_hook(lambda m, a, log=log: log.append(("in", a[0].sum().item())))
                       for m in net.modules() if isinstance(m, nn.ReLU6)]
            handles += [m.register_forward_hook(lambda m, a, out, log=log: log.append(("out", out.sum().item())))
                        for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
            with torch.no_grad():
                net(batch[0])
            for h in handles:
                h.remove()
    assert seen["cached"] == seen["plain"] and len(seen["plain"]) > 50
    assert cached.prefix_cache.stages_reused == 12  # the whole chain the second time


def test_batchnorm_statistics_end_as_after_a_full_forward(batch):
    """Training-mode BN updates running statistics; a reused block writes back what the full forward
    would have written. Without a restore in between (as proxies do), the changed statistics make
    the blocks recompute."""
    cached, plain = twin_supernets()
    e = cached.edges()[-1]
    for net in (cached, plain):
        net.train()
        with torch.no_grad():
            with proxies.preserved(net):  # a proxy call: buffers restored afterwards
                net(batch[0])
            with net.perturb(e, net.candidates(e)[0]):
                net(batch[0])  # the cached net reuses the stem and all blocks but the last
    assert cached.prefix_cache.stages_reused == 11
    for (k, a), b in zip(cached.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), k
    for net in (cached, plain):
        with torch.no_grad():
            net(batch[0])  # running statistics moved on since the last record: nothing is reused
    assert cached.prefix_cache.stages_reused == 11
    for (k, a), b in zip(cached.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), k


def test_changed_weights_mode_or_batch_recompute_the_prefix(batch):
    cached, plain = twin_supernets()
    x = batch[0]

    def same_output() -> bool:
        with torch.no_grad():
            return torch.equal(cached(x), plain(x))

    assert same_output()
    with torch.no_grad():  # an optimiser step on a stem weight
        for net in (cached, plain):
            net.stem[0][0].weight.mul_(1.5)
    assert same_output()
    cached.eval()
    plain.eval()
    assert same_output()
    x = x.clone()  # equal values, another tensor: recomputed (the cache keys on the tensor object)
    before = cached.prefix_cache.stages_reused
    assert same_output() and cached.prefix_cache.stages_reused == before
    x.mul_(-1)  # the same tensor changed in place
    assert same_output() and cached.prefix_cache.stages_reused == before


def test_autograd_bypasses_the_cache_and_gradients_reach_the_prefix(batch):
    cached, _ = twin_supernets(layers=1)
    with torch.no_grad():
        cached(batch[0])
    cached(batch[0]).sum().backward()
    assert cached.prefix_cache.stages_reused == 0
    assert cached.stem[0][0].weight.grad is not None and cached.stem[0][0].weight.grad.abs().sum() > 0


def test_a_copy_or_a_pickle_starts_with_an_empty_cache(batch):
    cached, _ = twin_supernets(layers=1)
    with torch.no_grad():
        cached(batch[0])
    clone = copy.deepcopy(cached)
    assert clone.prefix_cache is not cached.prefix_cache and clone.prefix_cache._entries == []
    assert clone.prefix_cache.enabled
    unpickled = pickle.loads(pickle.dumps(cached))
    assert unpickled.prefix_cache._entries == [] and unpickled.prefix_cache.enabled


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = nn.Parameter(torch.tensor(factor))

    def forward(self, x):
        return x * self.factor


class Block(nn.Module):
    """A toy chain block: a mixed op over two scalings, then an optional extra module."""

    def __init__(self, extra: nn.Module | None = None):
        super().__init__()
        self.mixed = MixedOp({"a": Scale(2.0), "b": Scale(-1.0)})
        self.extra = extra or nn.Identity()

    def forward(self, x, weights):
        return self.extra(self.mixed(x, weights))


def toy_chain(extra: nn.Module | None = None) -> ChainSupernet:
    torch.manual_seed(0)
    return ChainSupernet({"b0": ("a", "b"), "b1": ("a", "b")}, nn.Identity(), [Block(extra), Block()], nn.Identity())


def test_a_stage_that_draws_random_numbers_is_never_reused():
    net = toy_chain(nn.Dropout(0.5)).train()
    x = torch.ones(4, 16)
    with torch.no_grad():
        first, second = net(x), net(x)
    assert not torch.equal(first, second)  # a fresh dropout mask each time, as without a cache
    assert net.prefix_cache.stages_reused == 1  # only the stem


def test_a_hook_that_changes_an_output_makes_the_stage_uncacheable():
    net = toy_chain()
    net.blocks[0].mixed.ops["a"].register_forward_hook(lambda m, a, out: out + 1)
    x = torch.ones(2, 3)
    with torch.no_grad():
        first, second = net(x), net(x)
    assert torch.equal(first, second)
    assert net.prefix_cache.stages_reused == 1  # block 0 is recomputed each time


def test_switching_the_cache_off_recomputes_everything():
    net = toy_chain()
    net.prefix_cache.enabled = False
    with torch.no_grad():
        net(torch.ones(2, 3)), net(torch.ones(2, 3))
    assert net.prefix_cache.stages_reused == 0 and net.prefix_cache.stages_run == 6


def test_a_dispatch_mode_sees_every_stage_even_with_a_warm_cache(batch):
    """A dispatch mode (one that counts convolutions, as FLOP counters do) must see the whole forward: a
    cached prefix would go uncounted."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class CountConvolutions(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.calls += func.overloadpacket is torch.ops.aten.convolution
            return func(*args, **(kwargs or {}))

    cached, plain = twin_supernets()
    cached.eval(), plain.eval()  # (in training mode, BN statistics change between forwards)
    x = batch[0]
    with torch.no_grad():
        cached(x), cached(x)
        assert cached.prefix_cache.stages_reused == 12  # warm: every stage is cached for x
        cached.prefix_cache.stages_reused = 0
        counts = []
        for net in (cached, plain):
            with CountConvolutions() as mode:
                net(x)
            counts.append(mode.calls)
    assert counts[0] == counts[1] > 0
    assert cached.prefix_cache.stages_reused == 0
