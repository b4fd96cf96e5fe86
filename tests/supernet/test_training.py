"""Bilevel DARTS supernet training: α gradients, schedule, checkpoints, resume, TensorBoard."""
import copy
import math

import pytest
import torch
from torch.utils.data import TensorDataset

from ptnas import spaces
from ptnas.data import BatchSource
from ptnas.supernet import checkpoint
from ptnas.supernet.architect import Architect, _virtual_sgd_step
from ptnas.supernet.training import BilevelConfig, BilevelTrainer, alpha_entropy, evaluate



def tiny_net(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return spaces.get("nb201").supernet(num_classes=10, C=4, N=1).to(dtype)


def tiny_sources(n=32, batch=8, size=8, dtype=torch.float32):
    """Train and valid halves of a small labelled set whose labels depend on the pixels (learnable)."""
    g = torch.Generator().manual_seed(123)
    x = torch.randn(2 * n, 3, size, size, generator=g, dtype=dtype)
    y = (x[:, 0].mean((1, 2)) * 20).long().clamp(-4, 5) + 4
    return BatchSource(TensorDataset(x[:n], y[:n]), batch), BatchSource(TensorDataset(x[n:], y[n:]), batch)


def batches(source, count=1, seed=0):
    return list(source.take(seed, count))


# ---- the α update --------------------------------------------------------------------------
def test_virtual_step_is_what_sgd_would_do():
    net = tiny_net()
    train, _ = tiny_sources()
    (x, y), = batches(train)
    opt = torch.optim.SGD(net.weight_parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(2):  # the second step has momentum buffers
        weights = net.weight_parameters()
        grads = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y), weights, allow_unused=True)
        predicted = _virtual_sgd_step(weights, grads, opt)
        for w, g in zip(weights, grads):
            w.grad = g
        opt.step()
        for w, p in zip(weights, predicted):
            torch.testing.assert_close(w.detach(), p, rtol=0, atol=1e-7)


def test_first_order_gradient_is_the_validation_gradient():
    net = tiny_net()
    train, valid = tiny_sources()
    tb, vb = batches(train)[0], batches(valid)[0]
    arch = Architect(net)
    opt = torch.optim.SGD(net.weight_parameters(), lr=0.025)
    arch.gradient(tb, vb, opt)
    got = [a.grad.clone() for a in net.arch_parameters()]
    expected = torch.autograd.grad(torch.nn.functional.cross_entropy(net(vb[0]), vb[1]), net.arch_parameters())
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)
    assert all(w.grad is None for w in net.weight_parameters())


def test_second_order_gradient_matches_exact_hessian_vector_product():
    """Finite differences (DARTS §2.3) against double-backward autograd, in float64.

    A tiny ReLU/BN net is far from smooth at DARTS's radius 0.01, so the check uses a radius at which
    central differences are exact to rounding; DARTS's own radius is checked for its size only.
    """
    net = tiny_net(dtype=torch.float64)
    train, valid = tiny_sources(dtype=torch.float64)
    tb, vb = batches(train)[0], batches(valid)[0]
    ce = torch.nn.functional.cross_entropy
    opt = torch.optim.SGD(net.weight_parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    # One real step first, so the virtual step includes a momentum buffer.
    ce(net(tb[0]), tb[1]).backward()
    opt.step()
    net.zero_grad()
    before = copy.deepcopy(net.state_dict())

    Architect(net, second_order=True, fd_radius=1e-7).gradient(tb, vb, opt)
    got = [a.grad.clone() for a in net.arch_parameters()]
    after = net.state_dict()
    for k in before:  # the weights are back exactly where they were (BN running stats may move)
        if "running" not in k and "num_batches" not in k:
            assert torch.equal(before[k], after[k]), k

    # Exact: ∇_α L_val(w', α) − ξ ∇²_{α,w} L_train(w, α) v, with v = ∇_{w'} L_val(w', α).
    net.load_state_dict(before)
    weights, alphas = net.weight_parameters(), net.arch_parameters()
    g_train = torch.autograd.grad(ce(net(tb[0]), tb[1]), weights, allow_unused=True)
    unrolled = _virtual_sgd_step(weights, g_train, opt)
    names = [n for n, p in net.named_parameters() if all(p is not a for a in alphas)]
    params = {n: w.clone().requires_grad_() for n, w in zip(names, unrolled)}
    loss = ce(torch.func.functional_call(net, params, (vb[0],)), vb[1])
    grads = torch.autograd.grad(loss, [*alphas, *params.values()], allow_unused=True)
    d_alpha = grads[: len(alphas)]
    v = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads[len(alphas):])]
    g_w = torch.autograd.grad(ce(net(tb[0]), tb[1]), weights, create_graph=True, allow_unused=True)
    dot = sum((g * vi).sum() for g, vi in zip(g_w, v) if g is not None)
    hvp = torch.autograd.grad(dot, alphas)
    xi = opt.param_groups[0]["lr"]
    for g, d, h in zip(got, d_alpha, hvp):
        torch.testing.assert_close(g, d - xi * h, rtol=1e-5, atol=1e-9)
    assert max(float((xi * h).abs().max()) for h in hvp) > 1e-3  # the second-order term is really there
    assert Architect(net, second_order=True).fd_radius == 0.01


def test_alpha_of_a_decided_edge_is_left_alone():
    net = tiny_net()
    train, valid = tiny_sources()
    net.discretize("1<-0", "nor_conv_3x3")
    arch = Architect(net, lr=0.1)
    frozen = net.alphas["1<-0"].detach().clone()
    opt = torch.optim.SGD(net.weight_parameters(), lr=0.025)
    for second_order in (False, True):
        arch.second_order = second_order
        arch.step(batches(train)[0], batches(valid)[0], opt)
    assert torch.equal(net.alphas["1<-0"], frozen)  # no gradient, and Adam's weight decay skips it
    assert not torch.equal(net.alphas["2<-0"].detach(), tiny_net().alphas["2<-0"].detach())


# ---- training loop -------------------------------------------------------------------------
def test_defaults_are_darts_and_the_lr_follows_the_cosine():
    net = tiny_net()
    train, valid = tiny_sources()
    t = BilevelTrainer(net, train, valid, epochs=4, steps_per_epoch=1, eval_batches=1)
    group = t.weight_optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.025, 0.9, 3e-4)
    arch_group = t.architect.optimizer.param_groups[0]
    assert (arch_group["lr"], arch_group["betas"], arch_group["weight_decay"]) == (3e-4, (0.5, 0.999), 1e-3)
    assert t.config.grad_clip == 5.0 and t.config.lr_min == 0.001
    t.fit()
    expected = [0.001 + (0.025 - 0.001) * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)]
    assert [h["lr"] for h in t.history] == pytest.approx(expected, rel=1e-12)


def test_fixed_alpha_never_moves_and_trained_alpha_sharpens():
    train, valid = tiny_sources()
    fixed = tiny_net()
    init = [a.detach().clone() for a in fixed.arch_parameters()]
    BilevelTrainer(fixed, train, valid, BilevelConfig(fix_alpha=True), epochs=2, steps_per_epoch=2, eval_batches=1).fit()
    assert all(torch.equal(a, b) for a, b in zip(fixed.arch_parameters(), init))

    net = tiny_net()
    h0 = alpha_entropy(net)[""]
    t = BilevelTrainer(net, train, valid, BilevelConfig(arch_lr=0.05), epochs=3, steps_per_epoch=4, eval_batches=1)
    t.fit()
    entropies = [h["alpha_entropy"][""] for h in t.history]
    assert h0 == pytest.approx(math.log(5), abs=1e-5)  # 1e-3·N(0, 1) initialisation: nearly uniform
    assert entropies[0] < h0 and entropies[-1] < h0 - 1e-3


def test_evaluate_uses_batch_statistics_and_restores_the_net():
    net = tiny_net()
    _, valid = tiny_sources()
    bs = batches(valid, 2)
    net.eval()
    buffers = copy.deepcopy({k: v for k, v in net.state_dict().items() if "running" in k})
    acc, loss = evaluate(net, bs)
    net.train()
    with torch.no_grad():
        logits = [net(x) for x, _ in bs]
    n = sum(len(y) for _, y in bs)
    assert acc == sum(int((lg.argmax(1) == y).sum()) for lg, (_, y) in zip(logits, bs)) / n
    assert loss == pytest.approx(sum(float(torch.nn.functional.cross_entropy(lg, y)) * len(y)
                                     for lg, (_, y) in zip(logits, bs)) / n, rel=1e-6)
    net.load_state_dict({**net.state_dict(), **buffers})
    net.eval()
    evaluate(net, bs)
    assert not any(m.training for m in net.modules())
    assert all(torch.equal(net.state_dict()[k], v) for k, v in buffers.items())


# ---- checkpoints and resume ----------------------------------------------------------------
def test_resume_from_a_checkpoint_is_bit_identical(tmp_path):
    train, valid = tiny_sources()
    cfg = BilevelConfig(second_order=True)
    full = BilevelTrainer(tiny_net(), train, valid, cfg, epochs=3, steps_per_epoch=2, eval_batches=1)
    full.fit()

    first = BilevelTrainer(tiny_net(), train, valid, cfg, epochs=3, steps_per_epoch=2, eval_batches=1)
    first.train_epoch()
    checkpoint.save(tmp_path / "ckpt.pt", first.state_dict())
    torch.manual_seed(999)  # a different process state, and a differently initialised net
    resumed = BilevelTrainer(tiny_net(seed=7), train, valid, cfg, epochs=3, steps_per_epoch=2, eval_batches=1)
    resumed.load_state_dict(checkpoint.load(tmp_path / "ckpt.pt"))
    assert resumed.epoch == 1
    resumed.fit()

    assert resumed.history == full.history
    for k, v in full.net.state_dict().items():
        assert torch.equal(v, resumed.net.state_dict()[k]), k
    full_opt, res_opt = full.weight_optimizer.state_dict(), resumed.weight_optimizer.state_dict()
    assert all(torch.equal(full_opt["state"][i]["momentum_buffer"], res_opt["state"][i]["momentum_buffer"])
               for i in full_opt["state"])


def test_checkpoint_refuses_other_settings(tmp_path):
    train, valid = tiny_sources()
    t = BilevelTrainer(tiny_net(), train, valid, epochs=2, steps_per_epoch=1, eval_batches=1)
    t.train_epoch()
    other = BilevelTrainer(tiny_net(), train, valid, BilevelConfig(lr=0.1), epochs=2, steps_per_epoch=1, eval_batches=1)
    with pytest.raises(checkpoint.CheckpointError, match="lr 0.025"):
        other.load_state_dict(t.state_dict())


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "supernet.pt"
    checkpoint.save(path, {"epoch": 1, "w": torch.ones(3)})

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(path, {"epoch": 2, "w": torch.zeros(3)})
    monkeypatch.undo()
    state = checkpoint.load(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["supernet.pt"]  # no temporary file left behind


def test_checkpoint_load_rejects_foreign_files(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(checkpoint.CheckpointError, match="cannot be read"):
        checkpoint.load(tmp_path / "x.pt")
    with pytest.raises(checkpoint.CheckpointError, match="not a ptnas supernet checkpoint"):
        checkpoint.load(tmp_path / "other.pt")
    with pytest.raises(checkpoint.CheckpointError, match="no such file"):
        checkpoint.load(tmp_path / "missing.pt")


def test_rng_states_round_trip():
    import random

    import numpy as np

    state = checkpoint.rng_state()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(5), np.random.rand(5), random.random()
    checkpoint.set_rng_state(state)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


# ---- TensorBoard ---------------------------------------------------------------------------
def test_tensorboard_holds_losses_accuracies_and_alpha_heatmaps(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    train, valid = tiny_sources()
    t = BilevelTrainer(tiny_net(), train, valid, epochs=2, steps_per_epoch=1, eval_batches=1)
    writer = SummaryWriter(str(tmp_path))
    t.fit(writer=writer)
    writer.close()
    acc = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    for split in ("train", "valid"):
        for metric in ("loss", "accuracy"):
            events = acc.Scalars(f"{metric}/{split}")
            assert [e.step for e in events] == [1, 2]
            assert [e.value for e in events] == pytest.approx([h[f"{split}_{metric}"] for h in t.history], rel=1e-6)
    assert [e.value for e in acc.Scalars("alpha_entropy")] == pytest.approx(
        [h["alpha_entropy"][""] for h in t.history], rel=1e-6)
    images = acc.Images("alpha")
    assert [i.step for i in images] == [1, 2] and images[0].width > 50 and images[0].height > 50
