"""DARTS-PT: V(A − (e, o)) as supernet accuracy under BN train mode, fine-tuning between decisions."""
import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from ptnas import spaces
from ptnas.data import BatchSource
from ptnas.search_log import SearchLog
from ptnas.selectors import DartsPT, orders, search
from ptnas.selectors.proposals import Proposal
from ptnas.spaces.nb201 import NB201Supernet
from ptnas.supernet.training import BilevelConfig, BilevelTrainer, evaluate



class WithTopology(NB201Supernet):
    """NB201 with DARTS-style topology constraints: node 3 keeps 1 of 3 inputs, node 2 keeps 1 of 2."""

    def topology_groups(self):
        return [(["3<-0", "3<-1", "3<-2"], 1), (["2<-0", "2<-1"], 1)]


def tiny_net(cls=NB201Supernet):
    torch.manual_seed(0)
    return cls(C=4, N=1, num_classes=10)


def sources(n=16, batch=16):
    """Train and valid halves; one valid batch holds the whole split, so V does not depend on the shuffle."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2 * n, 3, 8, 8, generator=g)
    y = torch.randint(0, 10, (2 * n,), generator=g)
    return BatchSource(TensorDataset(x[:n], y[:n]), 8), BatchSource(TensorDataset(x[n:], y[n:]), batch)


def tuner_for(net, train, valid, fix_alpha=False):
    cfg = BilevelConfig(lr=0.0025, lr_min=0.0025, fix_alpha=fix_alpha, arch_lr=0.01)
    return BilevelTrainer(net, train, valid, cfg, epochs=None, steps_per_epoch=1, eval_batches=0, phase=1)


def zeroed(net, edge, op):
    """Independent A − (e, o): a forward hook replaces op's output on `edge` with zeros in every cell."""
    handles = []
    for cell in net.net.cells:
        if hasattr(cell, "edges") and edge in cell.edges:
            handles.append(cell.edges[edge].ops[op].register_forward_hook(lambda m, i, out: torch.zeros_like(out)))
    return handles


@pytest.mark.parametrize("criterion", ["acc", "loss"])
def test_scores_are_the_perturbed_supernet_validation_metric(criterion):
    net = tiny_net()
    train, valid = sources()
    sel = DartsPT(valid, eval_batches=1, criterion=criterion)
    scores = sel.score_ops(net, ["2<-1"])
    assert set(scores) == {("2<-1", o) for o in net.ops("2<-1")}
    (x, y), = valid.take(0, 1)
    for (e, o), v in scores.items():
        handles = zeroed(net, e, o)
        acc, loss = evaluate(net, [(x, y)])
        for h in handles:
            h.remove()
        assert v == pytest.approx(acc if criterion == "acc" else loss, rel=1e-5)
    # removing `none` leaves the supernet as it is
    assert scores[("2<-1", "none")] == pytest.approx(evaluate(net, [(x, y)])[criterion == "loss"], rel=1e-5)


@pytest.mark.parametrize("criterion", ["acc", "loss"])
def test_the_op_whose_removal_hurts_most_stays(criterion):
    net = tiny_net()
    train, valid = sources()
    log = SearchLog(None)
    p = Proposal(0, net, DartsPT(valid, 1, criterion), np.random.default_rng(0), log)
    p.decide_edge("3<-0")
    scores = {r["op"]: r["value"] for r in log.records if r["kind"] == "score"}
    worst = min(scores, key=scores.get) if criterion == "acc" else max(scores, key=scores.get)
    assert net.candidates("3<-0") == (worst,)


def test_topology_removes_the_edge_whose_removal_leaves_the_best_accuracy():
    net = tiny_net()
    train, valid = sources()
    sel = DartsPT(valid, 1, "acc")
    for e in net.edges():
        net.discretize(e, "nor_conv_3x3")
    edges = ["3<-0", "3<-1", "3<-2"]
    scores = sel.score_edges(net, edges)
    (x, y), = valid.take(0, 1)
    for e in edges:
        with net.perturb_edge(e):
            assert scores[e] == pytest.approx(evaluate(net, [(x, y)])[0])
    log = SearchLog(None)
    Proposal(0, net, sel, np.random.default_rng(0), log).topology(edges, 2)
    first = {r["edge"]: r["value"] for r in log.records if r["kind"] == "score"}
    pruned = [r["edge"] for r in log.records if r["kind"] == "pruned"]
    assert len(pruned) == 1 and first[pruned[0]] == max(first.values())


def test_scoring_leaves_modes_and_bn_statistics_alone():
    net = tiny_net()
    train, valid = sources()
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    DartsPT(valid, 1).score_ops(net, ["1<-0"])
    assert not any(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_fine_tuning_runs_between_decisions_but_not_inside_a_node_nor_after_the_last():
    net = tiny_net(WithTopology)
    train, valid = sources()
    tuner = tuner_for(net, train, valid)
    alpha0 = net.alphas["3<-2"].detach().clone()  # decided last, so α trains in every fine-tuning round
    w0 = net.net.classifier.weight.detach().clone()
    log = SearchLog(None)
    result = search(net, DartsPT(valid, 1, tuner=tuner, tune_epochs=2), orders.get("fixed"), 1, log=log)
    # 6 op decisions (topology still to come after each) + node 3 finished (node 2 left) = 7 rounds of 2
    # epochs; none after node 3's first pruning (half done) nor after node 2's (nothing left).
    assert tuner.epoch == 14
    assert len([r for r in log.records if r["kind"] == "pruned"]) == 3
    assert str(result.genotype).count("none") >= 3
    assert not torch.equal(net.net.classifier.weight, w0)
    assert not torch.equal(net.alphas["3<-2"].detach(), alpha0)


def test_fix_alpha_fine_tunes_the_weights_only():
    net = tiny_net()
    train, valid = sources()
    alphas = [a.detach().clone() for a in net.arch_parameters()]
    w0 = net.net.classifier.weight.detach().clone()
    search(net, DartsPT(valid, 1, tuner=tuner_for(net, train, valid, fix_alpha=True), tune_epochs=1),
           orders.get("random"), 1)
    assert all(torch.equal(a, b) for a, b in zip(net.arch_parameters(), alphas))
    assert not torch.equal(net.net.classifier.weight, w0)


def test_every_proposal_starts_from_the_trained_supernet():
    net = tiny_net()
    train, valid = sources()
    log = SearchLog(None)
    search(net, DartsPT(valid, 1, tuner=tuner_for(net, train, valid), tune_epochs=1), orders.get("fixed"), 2,
           log=log)
    per_proposal = [[(r["edge"], r["op"], r["value"]) for r in log.records if r["kind"] == "score" and r["proposal"] == p]
                    for p in (0, 1)]
    assert per_proposal[0] == per_proposal[1] and len(per_proposal[0]) == 6 * 5


@pytest.mark.parametrize("order", orders.names())
def test_every_order_gives_a_valid_architecture(order):
    net = tiny_net()
    train, valid = sources()
    log = SearchLog(None)
    result = search(net, DartsPT(valid, 1, criterion="loss"), orders.get(order), 1, seed=1, log=log)
    space = spaces.get("nb201")
    assert space.parse(str(result.genotype)) == result.genotype
    decisions = [r for r in log.records if r["kind"] == "decision"]
    assert sorted(r["edge"] for r in decisions) == sorted(net.edges())


def test_bad_arguments_are_refused():
    _, valid = sources()
    with pytest.raises(ValueError, match="acc, loss"):
        DartsPT(valid, criterion="top5")
    with pytest.raises(ValueError, match="tune_epochs"):
        DartsPT(valid, tune_epochs=-1)


@pytest.mark.parametrize("criterion", ["acc", "loss"])
def test_replicated_passes_give_the_unbatched_values(criterion):
    """V of every perturbation (ops, then a topology pass) with 3 replicas per forward over 2 validation
    batches (the last chunk shorter) equals one evaluation per perturbation."""
    net = tiny_net(WithTopology)
    _, valid = sources(n=16, batch=8)
    values = []
    for replicas in (1, 3):
        sel = DartsPT(valid, eval_batches=2, criterion=criterion, replicas=replicas)
        values.append((sel.score_ops(net, ["2<-1", "3<-0"]), sel.score_edges(net, ["3<-0", "3<-1", "3<-2"])))
    (ops1, edges1), (ops3, edges3) = values
    assert ops1.keys() == ops3.keys() and edges1.keys() == edges3.keys()
    for one, three in ((ops1, ops3), (edges1, edges3)):
        for key in one:
            assert three[key] == pytest.approx(one[key], rel=1e-6, abs=1e-9), key
    assert len(set(ops1.values())) > 1  # the perturbations differ, so a mix-up of replicas would show
