"""DARTS-α: argmax of α over the non-`none` ops, DARTS's topology rule, every edge order."""
import math

import pytest
import torch

from ptnas import spaces
from ptnas.search_log import SearchLog
from ptnas.selectors import DartsAlpha, orders, search
from ptnas.spaces.nb201 import NB201Supernet

# NB201 op order: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
ALPHAS = {
    "1<-0": [5.0, 1.0, 2.0, 3.0, 0.0],   # `none` is largest: nor_conv_3x3 must win
    "2<-0": [0.0, 4.0, 1.0, 1.5, 1.0],   # skip_connect
    "2<-1": [0.0, 0.1, 0.2, 0.3, 1.0],   # avg_pool_3x3
    "3<-0": [0.0, 1.0, 2.0, 0.0, 0.5],   # nor_conv_1x1
    "3<-1": [9.0, 0.0, 0.2, 0.5, 0.0],   # nor_conv_3x3, but its edge is the weakest once `none` is excluded
    "3<-2": [1.0, 0.0, 0.0, 0.0, 3.0],   # avg_pool_3x3
}
EXPECTED = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|"


class NodeThreeKeepsTwo(NB201Supernet):
    """NB201 with a DARTS-style topology constraint on node 3: only 2 of its 3 inputs may stay."""

    def topology_groups(self):
        return [(["3<-0", "3<-1", "3<-2"], 2)]


def with_alphas(net):
    with torch.no_grad():
        for e, values in ALPHAS.items():
            net.alphas[e].copy_(torch.tensor(values))
    return net


@pytest.mark.parametrize("order", orders.names())
def test_argmax_alpha_without_none_under_every_order(order):
    net = with_alphas(spaces.get("nb201").supernet(C=4, N=1))
    log = SearchLog(None)
    result = search(net, DartsAlpha(), orders.get(order), proposals=2, seed=3, log=log)
    assert str(result.genotype) == EXPECTED
    scored = [r for r in log.records if r["kind"] == "score"]
    assert scored and all(r["op"] != "none" for r in scored)
    # the score is the op's MixedOp weight, softmax(α_e)_o
    r = next(r for r in scored if r["edge"] == "2<-0" and r["op"] == "skip_connect")
    assert r["value"] == pytest.approx(math.exp(4) / sum(math.exp(a) for a in ALPHAS["2<-0"]))


def test_topology_keeps_the_two_strongest_inputs():
    net = with_alphas(NodeThreeKeepsTwo(C=4, N=1))
    log = SearchLog(None)
    result = search(net, DartsAlpha(), orders.get("fixed"), proposals=1, log=log)
    # 3<-1's best non-none weight is e^0.5 / (e^9 + ...): tiny, so that edge goes
    assert str(result.genotype) == EXPECTED.replace("nor_conv_3x3~1|avg", "none~1|avg")
    topo = {r["edge"]: r["value"] for r in log.records if r["kind"] == "score" and r["stage"] == "topology"}
    for e, v in topo.items():
        z = sum(math.exp(a) for a in ALPHAS[e])
        assert v == pytest.approx(max(math.exp(a) for a in ALPHAS[e][1:]) / z)
    assert [r["edge"] for r in log.records if r["kind"] == "pruned"] == ["3<-1"]


def test_score_edges_ranks_by_strongest_non_none_weight_directly():
    net = with_alphas(spaces.get("nb201").supernet(C=4, N=1))
    scores = DartsAlpha().score_edges(net, ["3<-0", "3<-1", "3<-2"])
    assert min(scores, key=scores.get) == "3<-1"
    assert max(scores, key=scores.get) == "3<-2"


def test_an_edge_with_only_none_alive_is_an_error():
    net = spaces.get("nb201").supernet(C=4, N=1)
    e = "1<-0"
    with net.perturb(e, "skip_connect"), net.perturb(e, "nor_conv_1x1"), \
            net.perturb(e, "nor_conv_3x3"), net.perturb(e, "avg_pool_3x3"):
        with pytest.raises(ValueError, match="no alive operation other than 'none'"):
            DartsAlpha().score_ops(net, [e])
