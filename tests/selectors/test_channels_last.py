"""channels_last (`SearchSpace.channels_last`, `place`) computes what NCHW computes: proxy scores within
float rounding, the same Zero-Cost-PT decisions and genotypes, and the format survives the proxies' copies."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ptnas import proxies, spaces
from ptnas.evaluators import Context
from ptnas.search_log import SearchLog
from ptnas.selectors import ZeroCostPT, orders, search

TINY = {"nb201": {"C": 4, "N": 1}, "darts": {"C": 4, "layers": 2}, "mobilenet": {"C": 8, "layers": 1},
        "macro": {"C": 8}}
PROXIES = ("nwot", "synflow", "snip", "jacob_cov")


def batches(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randn(n, 3, 16, 16, generator=g), torch.randint(0, 10, (n,), generator=g)


def supernet(name: str, channels_last: bool):
    space = spaces.get(name)
    torch.manual_seed(0)
    net = space.supernet(num_classes=10, **TINY[name])
    return net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def test_every_space_runs_channels_last_and_place_applies_it():
    for name in spaces.names():
        space = spaces.get(name)
        assert space.channels_last
        net = space.place(space.supernet(num_classes=10, **TINY[name]), "cpu")
        conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_evaluator_networks_are_built_in_the_space_format():
    context = Context(spaces.get("nb201"), 10, size=TINY["nb201"])
    net = context.network(spaces.get("nb201").sample(np.random.default_rng(0)))
    conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("space", list(TINY))
@pytest.mark.parametrize("proxy", PROXIES)
def test_proxy_scores_equal_nchw_scores(space, proxy):
    batch = next(batches())
    values = [proxies.get(proxy)(supernet(space, cl), batch, bn_mode="eval") for cl in (False, True)]
    assert values[1] == pytest.approx(values[0], rel=1e-5)


def test_synflow_copy_keeps_the_channels_last_format():
    net = supernet("nb201", True)
    seen = []  # the copy's 3×3 convs, found by a global hook
    handle = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda m, a: seen.append(m.weight.is_contiguous(memory_format=torch.channels_last))
        if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) and m.weight.dtype == torch.float64 else None)
    try:
        proxies.get("synflow")(net, next(batches()))
    finally:
        handle.remove()
    assert seen and all(seen)


@pytest.mark.parametrize("proxy", PROXIES)
def test_a_tiny_search_decides_the_same_with_channels_last(proxy):
    found = []
    for cl in (False, True):
        net = supernet("nb201", cl)
        log = SearchLog(None, tensorboard=False)
        selector = ZeroCostPT(proxies.get(proxy), lambda i: batches(seed=i), bn_mode="eval")
        result = search(net, selector, orders.get("global-op-iter"), 2, evaluator=_first(), seed=0, log=log)
        scores = [r["value"] for r in log.records if r["kind"] == "score"]
        decisions = [(r["edge"], r["op"]) for r in log.records if r["kind"] == "decision"]
        found.append((str(result.genotype), decisions, scores))
    assert found[1][0] == found[0][0] and found[1][1] == found[0][1]
    assert found[1][2] == pytest.approx(found[0][2], rel=1e-5)


def _first():
    from ptnas.evaluators import Evaluator, Record

    class First(Evaluator):
        name = "first"

        def evaluate(self, genotypes, on_record=None):
            return [Record(str(g), float(-i), "ok", 0.0, {}) for i, g in enumerate(genotypes)]

    return First()


def test_nwot_codes_of_a_channels_last_input_are_a_view():
    from ptnas.proxies.nwot import codes

    x = torch.randn(4, 8, 5, 5).contiguous(memory_format=torch.channels_last)
    assert codes(x).shape == (4, 200)
    assert sorted(codes(x)[1].tolist()) == sorted((x[1] > 0).flatten().to(torch.int8).tolist())
    assert codes(x.contiguous()).sum(1).tolist() == codes(x).sum(1).tolist()
