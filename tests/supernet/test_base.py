"""The decision API: discretize A + (e, o), perturb A - (e, o), snapshots, errors, MixedOp weights."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from ptnas.spaces.nb201 import EDGES, NB201Genotype
from ptnas.supernet import MixedOp, Supernet


def out(net, x):
    net.eval()
    with torch.no_grad():
        return net(x)


def test_edges_are_the_six_cell_edges_in_input_to_output_order(tiny_nb201):
    assert tiny_nb201.edges() == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    assert tiny_nb201.candidates("2<-1") == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def test_perturb_then_exit_restores_outputs_bit_identically(tiny_nb201, batch):
    x = batch[0]
    before = out(tiny_nb201, x)
    with tiny_nb201.perturb("2<-1", "nor_conv_3x3"):
        during = out(tiny_nb201, x)
        assert "nor_conv_3x3" not in tiny_nb201.candidates("2<-1")
    after = out(tiny_nb201, x)
    assert not torch.equal(before, during)
    assert torch.equal(before, after)


def test_perturb_restores_even_when_the_body_raises(tiny_nb201, batch):
    x = batch[0]
    before = out(tiny_nb201, x)
    with pytest.raises(RuntimeError, match="boom"):
        with tiny_nb201.perturb("1<-0", "skip_connect"):
            raise RuntimeError("boom")
    assert "skip_connect" in tiny_nb201.candidates("1<-0")
    assert torch.equal(before, out(tiny_nb201, x))


def test_perturb_edge_restores_and_changes_output(tiny_nb201, batch):
    x = batch[0]
    before = out(tiny_nb201, x)
    with pytest.raises(KeyError):
        with tiny_nb201.perturb_edge("3<-2"):
            assert not torch.equal(before, out(tiny_nb201, x))
            raise KeyError("x")
    assert torch.equal(before, out(tiny_nb201, x))


def test_a_removed_op_is_never_executed(tiny_nb201, batch):
    calls = {"removed": 0, "kept": 0}
    for cell in tiny_nb201.net.cells:
        if hasattr(cell, "edges"):
            cell.edges["3<-1"].ops["nor_conv_3x3"].register_forward_hook(
                lambda *a: calls.__setitem__("removed", calls["removed"] + 1))
            cell.edges["3<-1"].ops["nor_conv_1x1"].register_forward_hook(
                lambda *a: calls.__setitem__("kept", calls["kept"] + 1))
    with tiny_nb201.perturb("3<-1", "nor_conv_3x3"):
        out(tiny_nb201, batch[0])
    assert calls == {"removed": 0, "kept": 3}  # three search cells (N=1 per stage)


def test_discretize_is_permanent_and_shrinks_candidates(tiny_nb201, batch):
    tiny_nb201.discretize("2<-0", "avg_pool_3x3")
    assert tiny_nb201.is_decided("2<-0")
    assert tiny_nb201.candidates("2<-0") == ("avg_pool_3x3",)
    assert "2<-0" not in tiny_nb201.undecided()
    with tiny_nb201.perturb("1<-0", "none"):
        pass
    assert tiny_nb201.candidates("2<-0") == ("avg_pool_3x3",)


def test_decided_edge_runs_only_its_op_with_weight_one():
    torch.manual_seed(0)
    net = _TwoOpNet()
    x = torch.randn(3, 2)
    net.discretize("e", "twice")
    assert torch.equal(net(x), 2 * x)


def test_mixed_op_output_is_softmax_weighted_sum_of_alive_ops_without_renormalising():
    torch.manual_seed(0)
    net = _TwoOpNet()
    with torch.no_grad():
        net.alphas["e"].copy_(torch.tensor([0.0, 1.0, 2.0]))
    w = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0)
    x = torch.randn(3, 2)
    assert torch.allclose(net(x), w[0] * x + w[1] * 2 * x + w[2] * (-x))
    with net.perturb("e", "neg"):
        # the removed op's weight is 0 and the others keep theirs (sum < 1)
        assert torch.allclose(net(x), w[0] * x + w[1] * 2 * x)


def test_decisions_round_trip_through_json_and_reproduce_outputs(tiny_nb201, batch):
    tiny_nb201.discretize("1<-0", "nor_conv_3x3")
    tiny_nb201.discretize("3<-2", "skip_connect")
    tiny_nb201.prune_edge("3<-0")
    expected = out(tiny_nb201, batch[0])
    snapshot = json.loads(json.dumps(tiny_nb201.decisions()))
    tiny_nb201.reset_decisions()
    assert tiny_nb201.undecided() == list(EDGES)
    assert not torch.equal(expected, out(tiny_nb201, batch[0]))
    tiny_nb201.load_decisions(snapshot)
    assert torch.equal(expected, out(tiny_nb201, batch[0]))
    assert tiny_nb201.decisions() == snapshot


def test_deciding_every_edge_gives_a_valid_genotype(tiny_nb201):
    ops = ["nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_1x1"]
    for e, o in zip(tiny_nb201.edges(), ops):
        tiny_nb201.discretize(e, o)
    g = tiny_nb201.genotype()
    assert isinstance(g, NB201Genotype)
    assert str(g) == "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_genotype_before_all_edges_are_decided_names_the_open_edges(tiny_nb201):
    tiny_nb201.discretize("1<-0", "none")
    with pytest.raises(ValueError, match="undecided: 2<-0, 2<-1"):
        tiny_nb201.genotype()


@pytest.mark.parametrize("call, message", [
    (lambda n: n.discretize("9<-0", "none"), "unknown edge '9<-0'"),
    (lambda n: n.discretize("1<-0", "sep_conv_3x3"), "not alive on edge '1<-0'"),
    (lambda n: n.perturb("1<-0", "conv").__enter__(), "not alive"),
    (lambda n: n.load_decisions({"ops": {"1<-0": "conv"}}), "not a candidate"),
    (lambda n: n.candidates("x"), "unknown edge"),
])
def test_illegal_calls_raise_a_clear_value_error(tiny_nb201, call, message):
    with pytest.raises(ValueError, match=message):
        call(tiny_nb201)


def test_discretizing_or_perturbing_a_decided_edge_is_refused(tiny_nb201):
    tiny_nb201.discretize("1<-0", "none")
    with pytest.raises(ValueError, match="already decided"):
        tiny_nb201.discretize("1<-0", "none")
    with pytest.raises(ValueError, match="decided"):
        with tiny_nb201.perturb("1<-0", "none"):
            pass


def test_the_last_alive_op_cannot_be_removed():
    net = _TwoOpNet()
    with net.perturb("e", "same"):
        with net.perturb("e", "twice"):
            with pytest.raises(ValueError, match="last alive op"):
                with net.perturb("e", "neg"):
                    pass
    assert net.candidates("e") == ("same", "twice", "neg")


def test_alpha_is_separate_from_the_weights(tiny_nb201):
    arch = {id(p) for p in tiny_nb201.arch_parameters()}
    weights = {id(p) for p in tiny_nb201.weight_parameters()}
    assert len(arch) == 6 and not arch & weights
    assert arch | weights == {id(p) for p in tiny_nb201.parameters()}


class _Scale(nn.Module):
    def __init__(self, k: float):
        super().__init__()
        self.k = k

    def forward(self, x):
        return self.k * x


class _TwoOpNet(Supernet):
    """One edge 'e' with three linear ops: same, twice, neg."""

    def __init__(self):
        super().__init__({"e": ("same", "twice", "neg")})
        self.mixed = MixedOp({"same": _Scale(1.0), "twice": _Scale(2.0), "neg": _Scale(-1.0)})

    def forward(self, x):
        return self.mixed(x, self.edge_weights()["e"])
