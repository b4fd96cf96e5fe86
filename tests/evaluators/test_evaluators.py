"""Evaluators of whole subnetworks: one interface, scores higher = better, statuses, and the values each
evaluator's definition gives on tiny networks."""
from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
import torch

from ptnas import evaluators, proxies, spaces
from ptnas.data.decoded import DecodedImages
from ptnas.data.synthetic import synthetic_cifar10
from ptnas.evaluators import Context, Record
from ptnas.evaluators.fear import Fear, freeze_prefix
from ptnas.evaluators.shortreg import ShortReg
from ptnas.runtime.config import explicit
from tests.conftest import shared_data

NB201 = spaces.get("nb201")
GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # the input never reaches the classifier


def tiny_context(tmp_path=None, **kw) -> Context:
    """NB201 at C=4, N=1 on 512 synthetic CIFAR-10 images (a learnable task; 256 train, 256 valid)."""
    ctx = Context(NB201, 10, {"C": 4, "N": 1}, seed=0, run_dir=tmp_path, **{"dataset": "synthetic-cifar10", **kw})
    x, y = synthetic_cifar10(512).tensors
    ctx.__dict__["decoded_splits"] = (DecodedImages(x[:256], y[:256], augment=False, num_classes=10),
                                      DecodedImages(x[256:], y[256:], augment=False, num_classes=10))
    return ctx


def args_for(argv):
    """The parsed flags, with those given (`given`, as a job records them)."""
    p = argparse.ArgumentParser()
    evaluators.add_flags(p)
    args = p.parse_args(argv)
    args.given = explicit(p, argv)
    return args


def test_the_registry_holds_the_four_evaluators_and_refuses_foreign_flags():
    assert evaluators.names() == ["zero-cost", "table", "shortreg", "fear"]
    with pytest.raises(ValueError, match="unknown evaluator 'fearr'; choose from: zero-cost, table"):
        evaluators.get("fearr")
    with pytest.raises(ValueError, match="--fear-threshold applies to --evaluator fear, not shortreg"):
        evaluators.check_flags(args_for(["--evaluator", "shortreg", "--fear-threshold", "0.5"]))
    with pytest.raises(ValueError, match="--train-epochs applies to --evaluator shortreg, not fear"):
        evaluators.check_flags(args_for(["--evaluator", "fear", "--train-epochs", "3"]))
    evaluators.check_flags(args_for(["--evaluator", "fear", "--train-batch-size", "32"]))  # shared by both


def test_a_record_that_is_not_finite_is_failed_and_ranks_last():
    records = [Record("a", 1.0), Record("b", math.nan), Record("c", 3.0), Record("d", None, "rejected", reason="slow")]
    assert records[1].status == "failed" and records[1].score is None
    assert evaluators.ranked(records) == [2, 0, 1, 3]


def test_zero_cost_sums_the_proxy_over_the_batches_and_turns_a_lower_is_better_proxy_around():
    g = torch.Generator().manual_seed(3)
    batches = [(torch.randn(8, 3, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)) for _ in range(2)]

    def network(genotype):
        torch.manual_seed(0)
        return NB201.network(genotype, C=4, N=1)

    for name in ("nwot", "ntk_cond"):
        proxy = proxies.get(name)
        record, = evaluators.ZeroCost(proxy, lambda: iter(batches), network).evaluate([NB201.parse(GOOD)])
        by_hand = sum(proxy(network(GOOD), b, bn_mode="eval") for b in batches)
        assert record.details["total"] == pytest.approx(by_hand, rel=1e-12)
        assert record.score == pytest.approx(by_hand if proxy.higher_is_better else -by_hand, rel=1e-12)


def test_table_scores_are_the_benchmark_accuracy_of_the_chosen_column(tmp_path):
    path = shared_data("nb201_test_accuracy.csv")
    table = evaluators.table("nb201", path)
    ctx = tiny_context(dataset="cifar100")
    ev = evaluators.build(argparse.Namespace(**{**vars(args_for(["--evaluator", "table"])), "table": str(path)}), ctx)
    best, worst = ev.evaluate([GOOD, EMPTY])
    assert ev.dataset == "cifar100"  # --dataset names a column of the table
    assert best.score == table.test_accuracy(GOOD, "cifar100") and best.status == "ok"
    assert worst.score == table.test_accuracy(EMPTY, "cifar100")
    macro = shared_data("nas_bench_macro_cifar10.json")
    ev = evaluators.TableEvaluator(evaluators.table("macro", macro), "cifar10")
    assert ev.evaluate_one("22212220").score == pytest.approx(93.127, abs=1e-3)


def test_shortreg_scores_the_last_epochs_training_accuracy_and_is_deterministic():
    ev = ShortReg(tiny_context(), epochs=2, batch_size=64)
    first, again = ev.evaluate([GOOD]), ev.evaluate([GOOD])
    r = first[0]
    assert r.ok and r.score == r.details["train_accuracy"] == r.details["train_accuracy_per_epoch"][-1]
    assert r.details["steps"] == 2 * (256 // 64) and 0 <= r.details["valid_accuracy"] <= 100
    assert again[0].score == r.score and again[0].details["valid_accuracy"] == r.details["valid_accuracy"]


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16),
                                              ("auto", torch.float32)])  # auto: fp32 on the CPU
def test_train_precision_sets_the_arithmetic_of_shortreg_and_fear(precision, dtype, monkeypatch):
    seen = []
    network = Context.network

    def watched(self, genotype):  # every candidate network reports the dtype its first conv computes in
        model = network(self, genotype)
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype) if m.training else None)
        return model

    monkeypatch.setattr(Context, "network", watched)
    record = ShortReg(tiny_context(), epochs=1, batch_size=64, precision=precision).evaluate([GOOD])[0]
    assert record.ok and set(seen) == {dtype}
    seen.clear()
    Fear(tiny_context(), threshold=0.05, epochs=1, batch_size=64, stage1_batch_size=64, max_epochs=1,
         precision=precision).evaluate([GOOD])
    assert seen and set(seen) == {dtype}
    assert ShortReg(tiny_context(), precision=precision).describe()["precision"] == precision
    args = args_for(["--evaluator", "shortreg", "--train-precision", "bf16"])
    assert args.train_precision == "bf16"
    with pytest.raises(ValueError, match="--train-precision applies to --evaluator shortreg or fear, not table"):
        evaluators.check_flags(args_for(["--evaluator", "table", "--train-precision", "bf16"]))


def test_a_candidate_whose_loss_goes_nan_fails_and_the_others_go_on():
    ctx = tiny_context()
    build = ctx.network

    def poisoned(genotype):
        net = build(genotype)
        if str(genotype) == GOOD:
            with torch.no_grad():
                net.classifier.weight.fill_(math.nan)
        return net

    ctx.network = poisoned
    bad, ok = ShortReg(ctx, epochs=1, batch_size=64).evaluate([GOOD, EMPTY])
    assert bad.status == "failed" and bad.score is None and "nan" in bad.reason.lower()
    assert ok.status == "ok"


def test_fear_freezes_the_stem_and_the_first_three_quarters_of_the_blocks():
    torch.manual_seed(0)
    net = NB201.network(GOOD, C=4, N=5)
    blocks = NB201.feature_blocks(net)
    assert len(blocks) == 17  # 3 stages of 5 cells and 2 residual reductions
    frozen, total = freeze_prefix(net, blocks)
    count = lambda modules: sum(p.numel() for m in modules for p in m.parameters())  # noqa: E731
    assert frozen == count([net.stem, *blocks[:13]])  # the last round(17 / 4) = 4 blocks train
    assert total == sum(p.numel() for p in net.parameters())
    assert all(not p.requires_grad for p in net.stem.parameters())
    assert all(p.requires_grad for m in (*blocks[13:], net.lastact, net.classifier) for p in m.parameters())


def test_fear_trains_to_the_threshold_then_the_unfrozen_part_and_scores_its_training_accuracy():
    ev = Fear(tiny_context(), threshold=0.3, epochs=2, batch_size=64, stage1_batch_size=64, clock="steps")
    r = ev.evaluate_one(NB201.parse(GOOD))
    assert r.ok, r.reason
    assert r.details["stage1_running_accuracy"] >= 30.0 and r.details["stage1_steps"] > 1
    assert r.details["stage2_steps"] == 2 * (256 // 64)
    assert r.score == r.details["train_accuracy"] == r.details["train_accuracy_per_epoch"][-1]
    assert ev.fastest == r.details["stage1_steps"]


def test_fear_rejects_a_candidate_slower_than_r_times_the_fastest():
    ev = Fear(tiny_context(), threshold=0.3, reject_ratio=2, epochs=1, batch_size=64, stage1_batch_size=64,
              max_epochs=20, clock="steps")
    fast, empty = ev.evaluate([NB201.parse(GOOD), NB201.parse(EMPTY)])
    assert fast.ok
    assert empty.status == "rejected" and empty.score is None and "2 × the fastest" in empty.reason
    # stopped at the first step past 2 × the fastest time to threshold (a step is the clock's unit)
    assert empty.details["stage1_steps"] == 2 * fast.details["stage1_steps"] + 1


def test_fear_rejects_a_candidate_that_never_reaches_the_threshold():
    ev = Fear(tiny_context(), threshold=0.9, epochs=1, batch_size=64, stage1_batch_size=64, max_epochs=2)
    r = ev.evaluate_one(NB201.parse(EMPTY))
    assert r.status == "rejected" and "did not reach 0.900 in 2 epochs" in r.reason
    assert r.details["stage1_epochs"] == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 1.0}, "--fear-threshold must be in (0, 1)"),
    ({"threshold": 0.0}, "--fear-threshold must be in (0, 1)"),
    ({"reject_ratio": 0.5}, "--fear-reject-ratio must be at least 1"),
    ({"epochs": 0}, "--fear-epochs must be at least 1"),
])
def test_fear_settings_out_of_range_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Fear(tiny_context(), **kwargs)


def test_the_shallow_learner_threshold_is_computed_once_and_cached_in_the_run_dir(tmp_path):
    ctx = tiny_context(tmp_path)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (200, 3, 32, 32), dtype=np.uint8))
    labels = torch.from_numpy(rng.integers(0, 10, 200))
    ctx.__dict__["decoded_splits"] = (DecodedImages(images, labels, augment=False, num_classes=10), None)
    value = Fear(ctx).threshold
    assert 0 < value <= 1
    cache = tmp_path / "fear_threshold.json"
    assert cache.is_file()
    text = cache.read_text().replace(str(value), "0.5")
    cache.write_text(text)
    assert Fear(ctx).threshold == 0.5  # read from the run dir, not computed again
