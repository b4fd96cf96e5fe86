"""`search.py` end to end on tiny settings: run dir contents, determinism, TensorBoard, errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas import spaces
from ptnas.cli.search import main
from tests.conftest import shared_data

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--proposals", "2",
        "--valid-batches", "2", "--batch-size", "8", "--order", "random"]  # 2 different candidates


def run(tmp_path: Path, *extra: str, name: str = "run") -> Path:
    out = tmp_path / name
    assert main([*TINY, "--out", str(out), *extra]) == 0
    return out


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "scores.jsonl").read_text().splitlines()]


def test_a_run_writes_config_scores_genotype_and_events(tmp_path, capsys):
    out = run(tmp_path)
    printed = capsys.readouterr().out
    summary = json.loads((out / "genotype.json").read_text())
    assert summary["space"] == "nb201"
    genotype = spaces.get("nb201").parse(summary["genotype"])
    assert f"genotype: {genotype}" in printed and f"run dir: {out}" in printed
    assert (out / "genotype.txt").read_text().strip() == summary["genotype"]
    validated = [c["validation_score"] is not None for c in summary["candidates"]]
    assert validated == [len(validated) > 1] * len(validated)  # a single candidate needs no validation
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["proposals"] == 2 and config["bn_mode"] == "eval" and config["supernet_size"] == {"C": 4, "N": 1}
    rows = records(out)
    scores = [r for r in rows if r["kind"] == "score"]
    assert len(scores) == 2 * 6 * 5  # proposals × edges × ops: the random order decides one edge per pass
    assert {r["kind"] for r in rows} == {"score", "decision", "proposal", "validation", "result"}
    assert rows[-1] == {"kind": "result", "genotype": summary["genotype"]}


def test_tensorboard_holds_every_score_heatmaps_decisions_and_the_genotype(tmp_path):
    out = run(tmp_path)
    events = EventAccumulator(str(out / "events"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    score = next(r for r in records(out) if r["kind"] == "score" and r["edge"] == "2<-1" and r["op"] == "nor_conv_3x3")
    scalar = events.Scalars(f"proposal_{score['proposal']}/score/2_from_1/nor_conv_3x3")
    assert [(s.step, s.value) for s in scalar if s.step == score["step"]] == [(score["step"], pytest.approx(score["value"], rel=1e-6))]
    assert len(events.Images("proposal_0/heatmap")) == 6  # one per decision step
    assert "validation/score" in tags["scalars"]
    texts = {t: events.Tensors(t) for t in tags["tensors"]}
    genotype = json.loads((out / "genotype.json").read_text())["genotype"]
    assert texts["genotype/text_summary"][0].tensor_proto.string_val[0].decode() == genotype
    assert len(texts["proposal_1/decision/text_summary"]) == 6


def test_same_seed_and_config_give_the_same_genotype_and_scores(tmp_path):
    a, b = run(tmp_path, name="a"), run(tmp_path, name="b")
    c = run(tmp_path, "--seed", "1", name="c")
    values = lambda d: [r["value"] for r in records(d) if r["kind"] == "score"]  # noqa: E731
    assert (a / "genotype.txt").read_text() == (b / "genotype.txt").read_text()
    assert values(a) == values(b)
    assert values(a) != values(c)


def test_replicated_scoring_gives_the_search_the_same_decisions(tmp_path):
    """--replicas 4 (global-op-iter passes of 30, 24, ... candidates in chunks of 4) against one forward
    per candidate: the same genotype, and every score equal up to rounding."""
    a = run(tmp_path, "--order", "global-op-iter", "--proposals", "1", "--replicas", "1", name="a")
    b = run(tmp_path, "--order", "global-op-iter", "--proposals", "1", "--replicas", "4", name="b")
    assert (a / "genotype.txt").read_text() == (b / "genotype.txt").read_text()
    scores = lambda d: [(r["proposal"], r["step"], r["edge"], r["op"], r["value"])  # noqa: E731
                        for r in records(d) if r["kind"] == "score"]
    assert len(scores(a)) == len(scores(b)) == 105  # ½|O||E|(|E|+1) perturbations
    for x, y in zip(scores(a), scores(b)):
        assert x[:4] == y[:4] and y[4] == pytest.approx(x[4], rel=1e-6)


def test_yaml_config_sets_defaults_and_the_command_line_overrides_them(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("proposals: 1\nvalid-batches: 1\nbn_mode: train\norder: global-op-iter\n")
    out = tmp_path / "run"
    assert main([*TINY, "--config", str(cfg), "--order", "random", "--out", str(out)]) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["bn_mode"] == "train" and config["order"] == "random"
    # TINY's --proposals 2 on the command line beats the YAML's 1
    assert config["proposals"] == 2


def test_table_reports_the_benchmark_accuracy(tmp_path, capsys):
    table = shared_data("nb201_test_accuracy.csv")
    out = run(tmp_path, "--table", str(table))
    summary = json.loads((out / "genotype.json").read_text())
    acc = summary["benchmark"]["test_accuracy"]
    assert set(acc) == {"cifar10", "cifar100", "imagenet16_120"} and 10 < acc["cifar10"] < 95
    assert f"cifar10 {acc['cifar10']:.2f}%" in capsys.readouterr().out


def test_a_table_without_the_found_genotype_still_writes_the_result(tmp_path, capsys):
    """The header of a real table and one row of another architecture: the search ends with exit 0,
    genotype.json and genotype.txt, and the report says the architecture is not in the table."""
    lines = shared_data("nb201_test_accuracy.csv").read_text().splitlines()
    out = run(tmp_path, "--table", str(_table_with(tmp_path, lines[0], lines[1:])))
    summary = json.loads((out / "genotype.json").read_text())
    assert (out / "genotype.txt").read_text().strip() == summary["genotype"]
    assert "is not in" in summary["benchmark"]["missing"]
    assert "benchmark: not in the table" in capsys.readouterr().out


def _table_with(tmp_path, header, rows):
    """A table holding one row whose arch differs from every genotype a tiny search can find: its first row,
    relabelled with an arch of only `none` ops kept, which zc-pt never keeps on all six edges."""
    arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    cells = rows[0].split(",")
    fields = header.split(",")
    cells[fields.index("arch")] = arch
    path = tmp_path / "one_row.csv"
    path.write_text(header + "\n" + ",".join(cells) + "\n")
    return path


def test_search_on_real_cifar10_images(tmp_path):
    data = shared_data("cifar10-jpg")
    out = run(tmp_path, "--dataset", "cifar10", "--data", str(data))
    assert json.loads((out / "genotype.json").read_text())["genotype"].startswith("|")


@pytest.mark.parametrize("flags, message", [
    (["--space", "nb999"], "unknown space 'nb999'; choose from: nb201"),
    (["--selector", "pt"], "unknown selector 'pt'; choose from: zc-pt, zc-disc"),
    (["--order", "greedy"], "unknown order 'greedy'; choose from: fixed, random, global-op-iter"),
    (["--proxy", "nwt"], "unknown proxy 'nwt'; choose from: nwot"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'; choose from: cifar10, cifar100, synthetic-cifar10"),
    (["--bn-mode", "test"], "argument --bn-mode: invalid choice: 'test'"),
    (["--proposals", "0"], "--proposals must be at least 1"),
    (["--dataset", "cifar10", "--data", "/nonexistent"], "no cifar10 data in /nonexistent: looked for"),
    (["--table", "/nonexistent.csv"], "--table /nonexistent.csv: no such file"),
    (["--workers", "-1"], "--workers must be at least 0, got -1"),
    (["--selector", "darts-alpha", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--evaluator", "fear", "--train-epochs", "2"], "--train-epochs applies to --evaluator shortreg, not fear"),
    (["--evaluator", "nope"], "unknown evaluator 'nope'; choose from: zero-cost, table, shortreg, fear"),
    (["--init-channels", "0"], "C (--init-channels) must be a positive integer in the nb201 space, got 0"),
    (["--init-channels", "-1"], "C (--init-channels) must be a positive integer in the nb201 space, got -1"),
    (["--layers", "0"], "N (--layers) must be a positive integer in the nb201 space, got 0"),
    (["--layers", "-3"], "N (--layers) must be a positive integer in the nb201 space, got -3"),
    (["--init-channels", "100000000"], "C=100000000, N=1 in the nb201 space gives a supernet of about"),
    (["--space", "darts", "--init-channels", "0", "--layers", "2"], "C (--init-channels) must be a positive integer"),
    (["--space", "macro", "--layers", "-1", "--init-channels", "-4"], "--layers does not apply to the macro space"),
    (["--precision", "bf16", "--proxy", "synflow"], "--precision bf16 is refused for --proxy synflow: it computes in float64"),
    (["--precision", "fp16"], "argument --precision: invalid choice: 'fp16'"),
    (["--replicas", "-2"], "--replicas must be at least 0, got -2"),
    (["--replicas", "1.5"], "argument --replicas: '1.5' is not an integer"),
    # a selector's own setting, given at its default value too, where the selector does not read it
    (["--lr", "0.025"], "--lr applies to --selector darts-alpha or darts-pt, not zc-pt"),
    (["--arch-weight-decay", "0.01"], "--arch-weight-decay applies to --selector darts-alpha or darts-pt, not zc-pt"),
    (["--selector", "darts-alpha", "--tune-lr", "0.1"], "--tune-lr applies to --selector darts-pt, not darts-alpha"),
    (["--selector", "darts-alpha", "--replicas", "2"], "--replicas applies to --selector zc-pt or zc-disc or darts-pt, "
                                                       "not darts-alpha"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        main([*TINY, "--out", str(tmp_path / "x"), *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "x").exists()  # nothing written for a run that never started


@pytest.mark.parametrize("flag", ["--lr", "--grad-clip", "--tune-lr"])
def test_a_selector_setting_given_to_a_strategy_is_one_line(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_info:
        main(["--strategy", "random", "--evaluator", "table", flag, "0.025", "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{flag} applies to --selector darts-" in err
    assert err.endswith("not --strategy random") and not (tmp_path / "x").exists()


def test_tables_of_the_wrong_kind_or_with_a_bad_cell_are_one_line(tmp_path, capsys):
    macro = tmp_path / "macro.json"
    macro.write_text(json.dumps({"22212220": {"test_acc": [93.0], "mean_acc": 93.0, "std": 0, "params": 1, "flops": 1}}))
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,cifar10,cifar100,imagenet16_120\n|x|,abc,1,2\n")
    for table, message in ((macro, f"{macro} is a NAS-Bench-Macro table (--space macro); --space nb201 needs"),
                           (bad, f"{bad}, line 2: cifar10 of |x| is 'abc', not a number")):
        with pytest.raises(SystemExit) as exit_info:
            main([*TINY, "--out", str(tmp_path / "x"), "--table", str(table)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
        assert not (tmp_path / "x").exists()


def test_existing_run_dir_is_refused_without_force_no_traceback(tmp_path):
    out = run(tmp_path)
    cmd = [sys.executable, str(ROOT / "search.py"), *TINY, "--out", str(out)]
    refused = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"search.py: error: run dir {out} already holds a run (config.yaml, scores.jsonl, events, genotype.json, "
        "genotype.txt, genotype.png, genotype.svg); pass --force to overwrite it or --out to choose another"]
    before = len(records(out))
    forced = subprocess.run([*cmd, "--force"], capture_output=True, text=True, cwd=ROOT)
    assert forced.returncode == 0, forced.stderr
    assert len(records(out)) == before  # old scores were replaced, not appended to


def test_an_all_nan_search_says_so():
    from ptnas.jobs.search import _warnings

    nan = float("nan")
    assert _warnings([{"kind": "score", "value": nan}, {"kind": "score", "value": None}, {"kind": "decision"}]) == [
        "every score of this search was NaN (the proxy failed on every perturbation); "
        "the genotype says nothing about the architectures"]
    assert _warnings([{"kind": "score", "value": nan}, {"kind": "score", "value": 1.0}]) == []


def test_ctrl_c_during_a_zero_cost_search_points_to_resume_not_to_a_checkpoint(tmp_path, capsys, monkeypatch):
    from ptnas import selectors

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(selectors, "search", interrupted)
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"search.py: interrupted; the run so far is in {out}: continue with --resume --out {out}"


@pytest.mark.parametrize("value", ["4", "0"])  # 0 (auto) too: a setting given at a default value is given
def test_replicas_is_refused_with_a_strategy(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["--strategy", "random", "--replicas", value, "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["search.py: error: --replicas applies to supernet selection (--selector), not to --strategy random"]
    assert not (tmp_path / "x").exists()


def test_the_search_pool_is_decoded_once_for_the_search_and_its_validation(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from ptnas import data

    for c in range(10):  # a small CIFAR-10 ImageFolder: 8 JPEGs per class
        folder = tmp_path / "data" / "train" / f"c{c}"
        folder.mkdir(parents=True)
        for i in range(8):
            pixels = np.random.default_rng(10 * c + i).integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.jpg")
    calls = []
    real = data.search_pool
    monkeypatch.setattr(data, "search_pool", lambda *a, **k: calls.append(a) or real(*a, **k))
    out = run(tmp_path, "--dataset", "cifar10", "--data", str(tmp_path / "data"))
    assert any(r["kind"] == "validation" for r in records(out))  # the validation stage drew batches too
    assert len(calls) == 1
