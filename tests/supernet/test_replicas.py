"""Replicated scoring (ptnas/supernet/replicas.py): K candidates of a scoring pass in one forward compute
what K forwards compute, in every space, BN mode and memory format, for every proxy that can score
replicas and for population proxies; removed ops stay unexecuted; the supernet is left as it was."""
from __future__ import annotations

import contextlib
import math

import pytest
import torch
from torch import nn

from ptnas import proxies, spaces
from ptnas.proxies.tenas import rank_sum
from ptnas.selectors import ZeroCostDISC, ZeroCostPT
from ptnas.selectors.base import discretized
from ptnas.supernet.replicas import replicated, tile

TINY = {"nb201": {"C": 4, "N": 1}, "darts": {"C": 4, "layers": 2}, "mobilenet": {"C": 8, "layers": 1},
        "macro": {"C": 8}}
REPLICATED = ("nwot", "jacob_cov", "fisher", "linear_regions", "meco", "swap", "swap_reg")


def make(name: str, channels_last: bool = True):
    space = spaces.get(name)
    torch.manual_seed(0)
    net = space.supernet(num_classes=10, **TINY[name])
    return net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def fixed(batch):
    while True:
        yield batch


def a_batch(n=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 16, 16, generator=g), torch.randint(0, 10, (n,), generator=g)


def pass_scores(selector_cls, proxy, net, replicas, bn_mode, edges=None, topology=None):
    selector = selector_cls(proxy, fixed(a_batch()), bn_mode=bn_mode, replicas=replicas)
    if topology is not None:
        return selector.score_edges(net, topology)
    return selector.score_ops(net, edges or net.undecided())


def assert_same_scores(got: dict, want: dict, rel: float = 1e-5):
    assert got.keys() == want.keys()
    for key in want:
        if math.isnan(want[key]):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(want[key], rel=rel, abs=1e-6), key


@pytest.mark.parametrize("space", list(TINY))
@pytest.mark.parametrize("bn_mode", ["eval", "train"])
def test_replicated_logits_equal_one_forward_per_candidate(space, bn_mode):
    """Perturbations, a temporary discretization and (cell spaces) a switched-off edge, side by side."""
    net = make(space).train(bn_mode == "train")
    x = a_batch()[0]
    e0, e1 = net.edges()[:2]
    setups = [lambda o=o: net.perturb(e0, o) for o in net.candidates(e0)]
    setups.append(lambda: discretized(net, e1, net.candidates(e1)[-1]))
    if net.edge_off_is_zero:
        setups.append(lambda: net.perturb_edge(e1))
    with torch.no_grad():
        want = []
        for setup in setups:
            with setup():
                want.append(net(x))
        with replicated(net, setups, x.shape[0]) as k:
            got = net(tile(x, k))
    assert k == len(setups)
    want = torch.cat(want)  # equal up to rounding (kernels for K·n rows may sum in another order)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * want.abs().max().item())


@pytest.mark.parametrize("space", list(TINY))
@pytest.mark.parametrize("proxy", REPLICATED)
def test_zc_pt_pass_scores_equal_the_unbatched_pass(space, proxy):
    net = make(space)
    edges = net.undecided()[:3]
    want = pass_scores(ZeroCostPT, proxies.get(proxy), net, 1, "eval", edges)
    # jacob_cov: the untrained eval-mode supernets' input gradients are ~1e-11 with cancellations, so
    # summing a gradient in another order (the replicated graph) moves its eigenvalue terms by ~1e-4
    rel = 1e-3 if proxy == "jacob_cov" else 1e-5
    for replicas in (4, len(want)):  # chunked (the last chunk shorter) and the whole pass at once
        assert_same_scores(pass_scores(ZeroCostPT, proxies.get(proxy), net, replicas, "eval", edges), want, rel)


@pytest.mark.parametrize("space", ["nb201", "darts", "macro"])
@pytest.mark.parametrize("proxy", ["nwot", "fisher"])
def test_bn_train_mode_normalises_each_replica_on_its_own(space, proxy):
    net = make(space, channels_last=False)
    edges = net.undecided()[:2]
    want = pass_scores(ZeroCostPT, proxies.get(proxy), net, 1, "train", edges)
    # BN with batch statistics magnifies the convolutions' rounding (oneDNN picks other kernels for K·n
    # rows); statistics shared by the replicas would move the scores by far more than 1e-3
    assert_same_scores(pass_scores(ZeroCostPT, proxies.get(proxy), net, 5, "train", edges), want, rel=1e-3)


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_zc_disc_and_the_topology_pass_replicated(space):
    net = make(space)
    nwot = proxies.get("nwot")
    edges = net.undecided()[:2]
    assert_same_scores(pass_scores(ZeroCostDISC, nwot, net, 3, "eval", edges),
                       pass_scores(ZeroCostDISC, nwot, net, 1, "eval", edges))
    group = net.topology_groups()[0][0] if net.topology_groups() else net.edges()[1:4]
    assert_same_scores(pass_scores(ZeroCostPT, nwot, net, 3, "eval", topology=group),
                       pass_scores(ZeroCostPT, nwot, net, 1, "eval", topology=group))


@pytest.mark.parametrize("space", ["nb201", "mobilenet"])
def test_population_proxies_mix_replicated_and_per_candidate_parts(space):
    """tenas: linear_regions replicated, ntk_cond per candidate; a population of replicated parts only."""
    net = make(space)
    edges = net.undecided()[:2]
    both = proxies.PopulationProxy("nwot+regions", (proxies.get("nwot"), proxies.get("linear_regions")), rank_sum)
    for proxy in (proxies.get("tenas"), both):
        want = pass_scores(ZeroCostPT, proxy, net, 1, "eval", edges)
        got = pass_scores(ZeroCostPT, proxy, net, 4, "eval", edges)
        assert got == want  # ranks of equal measurements: exactly equal
        assert len(set(want.values())) > 1  # the ranking discriminates, so the test could fail


def test_proxies_without_per_replica_values_measure_candidate_by_candidate():
    net = make("nb201")
    edges = net.undecided()[:1]
    for name in ("synflow", "snip"):
        assert proxies.get(name).per_replica is None
        assert pass_scores(ZeroCostPT, proxies.get(name), net, 5, "eval", edges) == \
            pass_scores(ZeroCostPT, proxies.get(name), net, 1, "eval", edges)


def test_an_op_runs_only_on_the_rows_of_the_replicas_where_it_is_alive():
    """Removed everywhere: not executed. Alive in 1 of 3 replicas: run on that replica's n rows only.
    Alive in 3 of 4: run on every row, the discarded rows adding exactly nothing even when not finite.
    `none` next to other ops: skipped, its zeros change no sum."""
    net = make("nb201", channels_last=False).eval()
    x = a_batch()[0]
    n = x.shape[0]
    e = net.edges()[0]
    ops = net.candidates(e)
    skip, conv1, conv3, pool = (o for o in ops if o != "none")
    cell = next(c for c in net.net.cells if hasattr(c, "edges"))

    def run(setups, poison_first_rows_of=None):
        seen = {o: [] for o in ops}
        handles = [cell.edges[e].ops[o].register_forward_pre_hook(lambda m, a, o=o: seen[o].append(a[0].shape[0]))
                   for o in ops]
        if poison_first_rows_of is not None:  # NaN in replica 0's rows of this op's output
            handles.append(cell.edges[e].ops[poison_first_rows_of].register_forward_hook(
                lambda m, a, out: torch.where(torch.arange(out.shape[0]).reshape(-1, 1, 1, 1) < n,
                                              torch.full_like(out, math.nan), out)))
        try:
            with torch.no_grad(), replicated(net, setups, n) as k:
                got = net(tile(x, k))
        finally:
            for h in handles:
                h.remove()
        with torch.no_grad():
            want = []
            for setup in setups:
                with setup():
                    want.append(net(x))
        torch.testing.assert_close(got, torch.cat(want), rtol=1e-5, atol=1e-6)
        return seen, k

    # skip, conv3, pool alive in 3 of 4 replicas, conv1 and none in all 4
    seen, k = run([lambda: net.perturb(e, skip), lambda: net.perturb(e, conv3), lambda: net.perturb(e, pool),
                   contextlib.nullcontext], poison_first_rows_of=skip)
    assert seen[skip] == seen[conv1] == seen[conv3] == seen[pool] == [k * n]  # dense (skip: NaN rows discarded)
    assert seen["none"] == []  # next to other ops in every replica
    # each replica decides the edge: alive in 1 of 3 replicas, or in none
    seen, k = run([lambda: discretized(net, e, skip), lambda: discretized(net, e, conv1),
                   lambda: discretized(net, e, "none")])
    assert seen[conv3] == seen[pool] == []  # removed in every replica: never executed
    assert seen[skip] == seen[conv1] == seen["none"] == [n]  # its replica's rows only (none: nothing else there)


def test_the_supernet_is_left_as_it_was():
    net = make("darts").train()
    e = net.edges()[0]
    before = (net.decisions(), [(o, None if w is None else w.item()) for o, w in net.edge_weights()[e]])
    buffers = [b.clone() for b in net.buffers()]
    x = a_batch()[0]
    with torch.no_grad(), replicated(net, [lambda: net.perturb(e, net.candidates(e)[0]),
                                           lambda: net.perturb_edge(e)], x.shape[0]) as k:
        net(tile(x, k))
    assert (net.decisions(), [(o, None if w is None else w.item()) for o, w in net.edge_weights()[e]]) == before
    assert net.candidates(e) == net.ops(e)
    assert not any("forward" in vars(m) for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    with torch.no_grad():
        net(x)  # a plain forward again runs every op with the usual weights
    assert len(buffers) == len(list(net.buffers()))


def test_chain_spaces_refuse_an_edge_switched_off_in_some_replicas_only():
    net = make("macro")
    e = net.edges()[1]
    with pytest.raises(ValueError, match="switched off in some replicas only"):
        with replicated(net, [lambda: net.perturb_edge(e), lambda: net.perturb(e, net.candidates(e)[0])], 4):
            pass


def test_replicas_must_be_a_non_negative_integer():
    with pytest.raises(ValueError, match="replicas must be an integer >= 0"):
        ZeroCostPT(proxies.get("nwot"), fixed(a_batch()), replicas=-1)


def test_a_chunk_that_runs_out_of_memory_is_halved_and_the_size_remembered():
    from ptnas.proxies.nwot import nwot, nwot_replicas

    tried = []

    def fits_three(model, batch, k):
        tried.append(k)
        if k > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (test: more than 3 replicas)")
        return nwot_replicas(model, batch, k)

    proxy = proxies.Proxy("nwot3", nwot, per_replica=fits_three)
    net = make("nb201")
    edges = net.undecided()[:2]  # 10 candidates
    selector = ZeroCostPT(proxy, fixed(a_batch()), bn_mode="eval", replicas=8)
    got = selector.score_ops(net, edges)
    assert tried[:3] == [8, 4, 2] and set(tried[3:]) == {2} and selector.chunks.fits == 2
    want = pass_scores(ZeroCostPT, proxies.get("nwot"), net, 1, "eval", edges)
    assert_same_scores({k: v for k, v in got.items()}, want)
    tried.clear()
    selector.score_ops(net, edges)  # the next pass starts at the size that fitted
    assert set(tried) == {2}


@pytest.mark.parametrize("proxy", ["meco", "swap", "swap_reg"])
@pytest.mark.parametrize("bn_mode", ["eval", "train"])
def test_per_sample_proxies_score_replicas_as_their_own_forwards_and_discriminate(proxy, bn_mode):
    """A batch of 16 keeps swap's count below its ceiling (2^16 patterns), so equal scores would show."""
    net = make("nb201", channels_last=False)
    edges = net.undecided()[:2]
    g = torch.Generator().manual_seed(2)
    batch = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)

    def scores(replicas):
        return ZeroCostPT(proxies.get(proxy), fixed(batch), bn_mode=bn_mode, replicas=replicas).score_ops(net, edges)

    want = scores(1)
    assert len(set(want.values())) > 1
    assert_same_scores(scores(4), want, rel=1e-3 if bn_mode == "train" else 1e-5)
