"""`search.py --strategy ...`: the same front door, run dir and TensorBoard as the supernet searches."""
from __future__ import annotations

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas import evaluators, strategies
from ptnas.cli.search import main
from tests.conftest import shared_data

TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8", "--device", "cpu"]


def rows(out):
    return [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]


def test_evolution_on_the_table_writes_every_evaluation_and_the_best_so_far(tmp_path, capsys):
    table = shared_data("nb201_test_accuracy.csv")
    out = tmp_path / "run"
    assert main([*TINY, "--strategy", "evolution", "--population", "6", "--tournament", "3", "--trials", "20",
                 "--evaluator", "table", "--table", str(table), "--table-dataset", "cifar100", "--out", str(out)]) == 0
    evaluations = [r for r in rows(out) if r["kind"] == "evaluation"]
    assert [r["trial"] for r in evaluations] == list(range(20))
    nb201 = evaluators.table("nb201", table)
    assert all(r["value"] == nb201.test_accuracy(r["genotype"], "cifar100") for r in evaluations)
    summary = json.loads((out / "genotype.json").read_text())
    best = max(evaluations, key=lambda r: r["value"])
    assert summary["genotype"] == best["genotype"] == (out / "genotype.txt").read_text().strip()
    assert summary["evaluations"] == 20 and summary["strategy"]["population"] == 6
    assert summary["best_so_far"][-1] == best["value"]
    assert summary["benchmark"]["test_accuracy"]["cifar100"] == best["value"]
    events = EventAccumulator(str(out / "events"))
    events.Reload()
    assert [e.value for e in events.Scalars("evaluation/best")] == pytest.approx(summary["best_so_far"])
    assert (out / "genotype.png").is_file()
    assert f"genotype: {best['genotype']}" in capsys.readouterr().out


def test_naswot_scores_with_the_proxy_and_trains_nothing(tmp_path):
    out = tmp_path / "run"
    assert main([*TINY, "--strategy", "naswot", "--samples", "5", "--proxy", "synflow", "--out", str(out)]) == 0
    records = rows(out)
    proxy = [r for r in records if r["kind"] == "proxy"]
    assert len(proxy) == 5 and not any(r["kind"] == "evaluation" for r in records)
    summary = json.loads((out / "genotype.json").read_text())
    assert summary["genotype"] == max(proxy, key=lambda r: r["value"])["genotype"]
    assert summary["evaluator"] is None and summary["proxy_evaluations"] == 5


def test_random_search_with_a_proxy_cache_warm_up(tmp_path):
    table = shared_data("nb201_test_accuracy.csv")
    nb201 = evaluators.table("nb201", table)
    cache = tmp_path / "cache.jsonl"
    cache.write_text("".join(json.dumps({"arch": a, "score": nb201.test_accuracy(a)}) + "\n" for a in nb201.archs()))
    out = tmp_path / "run"
    assert main([*TINY, "--strategy", "random", "--warmup", "200", "--proxy-cache", str(cache), "--proxy", "synflow",
                 "--trials", "5", "--evaluator", "table", "--table", str(table), "--out", str(out)]) == 0
    values = [r["value"] for r in rows(out) if r["kind"] == "evaluation"]
    assert values == sorted(values, reverse=True)  # a perfect proxy's order


@pytest.mark.parametrize("flags, message", [
    (["--strategy", "annealing"], "unknown strategy 'annealing'; choose from: random, naswot, evolution, local"),
    (["--strategy", "random", "--trials", "0"], "--trials must be at least 1"),
    (["--strategy", "random", "--time-budget", "-1"], "--time-budget must be positive"),
    (["--strategy", "evolution", "--population", "8", "--tournament", "2", "--warmup", "4"],
     "--warmup 4 is smaller than --population 8"),
    (["--strategy", "random", "--population", "8"], "--population applies to --strategy evolution, not random"),
    (["--strategy", "random", "--order", "fixed"], "--order applies to supernet selection (--selector)"),
    (["--trials", "5"], "--trials applies to multi-trial search"),
    (["--strategy", "local", "--evaluator", "table"], "--evaluator table needs --table FILE"),
    (["--strategy", "local", "--resume", "--out", "/nonexistent"], "--resume: there is no run dir /nonexistent"),
    # settings that the chosen strategy and evaluator would never read
    (["--strategy", "random", "--evaluator", "shortreg", "--proxy", "synflow"],
     "--proxy is not read by --strategy random with --evaluator shortreg"),
    (["--strategy", "local", "--evaluator", "shortreg", "--proxy-batches", "2"],
     "--proxy-batches is not read by --strategy local with --evaluator shortreg"),
    (["--strategy", "random", "--evaluator", "shortreg", "--valid-batches", "3"],
     "--valid-batches is not read by --strategy random with --evaluator shortreg (it is the zero-cost evaluator's V)"),
    (["--strategy", "naswot", "--train-epochs", "2"], "--train-epochs applies to strategies that evaluate architectures"),
    (["--strategy", "random", "--seed", "-1"], "--seed must be at least 0, got -1"),
    (["--strategy", "random", "--seed", str(2**70)], "--seed must be at most 2**31 - 1 = 2147483647"),
    (["--strategy", "naswot", "--proxy-cache", "EMPTY"], "holds no scores"),
    (["--strategy", "random", "--evaluator", "shortreg", "--precision", "bf16"],
     "--precision is not read by --strategy random with --evaluator shortreg (it is a proxy's arithmetic; a "
     "training's is --train-precision)"),
    # executors
    (["--jobs", "2"], "--jobs applies to multi-trial search (--strategy), not to --selector zc-pt"),
    (["--selector", "zc-disc", "--executor", "ray"], "--executor applies to multi-trial search (--strategy)"),
    (["--strategy", "random", "--executor", "dask"], "unknown executor 'dask'; choose from: local, torchrun, ray"),
    (["--strategy", "random", "--jobs", "0"], "--jobs must be at least 1, got 0"),
    (["--strategy", "random", "--ray-address", "auto"], "--ray-address applies to --executor ray, not local"),
    (["--strategy", "naswot", "--jobs", "2"], "--jobs applies to strategies that evaluate architectures"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, flags, message):
    (tmp_path / "empty.jsonl").write_text("")
    flags = [str(tmp_path / "empty.jsonl") if f == "EMPTY" else f for f in flags]
    with pytest.raises(SystemExit) as e:
        main([*TINY, "--out", str(tmp_path / "x"), *flags])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x").exists()


def test_a_one_line_cache_is_read_and_an_all_nan_cache_warns(tmp_path, capsys):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"arch": arch, "score": 2.5}) + "\n")  # one JSON line, not a {arch: score} object
    assert strategies.read_proxy_cache(one) == {arch: 2.5}
    archs = evaluators.table("nb201", shared_data("nb201_test_accuracy.csv")).archs()
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps({a: None for a in archs}))
    out = tmp_path / "run"
    assert main([*TINY, "--strategy", "naswot", "--samples", "3", "--proxy-cache", str(nan), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: every nwot score of the 3 sampled architectures was NaN" in err


def test_a_smaller_mobilenet_is_sampled_at_its_own_depth(tmp_path, capsys):
    """--layers 3 (3 blocks per stage at most: 16 blocks) is what naswot and ptnas-evaluate draw."""
    from ptnas.cli.evaluate import main as evaluate
    from ptnas.spaces import get

    small = ["--space", "mobilenet", "--layers", "3", "--init-channels", "8", "--batch-size", "4", "--device", "cpu"]
    assert main([*small, "--strategy", "naswot", "--samples", "2", "--out", str(tmp_path / "s")]) == 0
    assert get("mobilenet").parse((tmp_path / "s" / "genotype.txt").read_text().strip()).layers == 3
    assert evaluate([*small, "--sample", "2", "--valid-batches", "1", "--out", str(tmp_path / "e")]) == 0
    texts = [json.loads(line)["genotype"] for line in (tmp_path / "e" / "evaluations.jsonl").read_text().splitlines()]
    assert len(texts) == 2 and all(len(t.split(",")) == 16 for t in texts)
    assert get("mobilenet").at_size(layers=4) is get("mobilenet")
