"""The correlation study end to end on 20 archs and a tiny table whose accuracies are known functions
of the architecture, so the expected correlations are exact; plus resume and one-line errors."""
import csv
import itertools
import json
import time
import warnings

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas import rank_correlation
from ptnas.cli import correlate
from ptnas.evaluators.nb201_table import count_params
from ptnas.ops.nb201 import OPS
from ptnas.spaces.nb201 import NB201Genotype

PROXIES = "params,flops,synflow,vote"


def twenty_archs():
    every = list(itertools.product(OPS, repeat=6))
    rng = np.random.default_rng(1)
    return [str(NB201Genotype(every[i])) for i in rng.choice(len(every), 20, replace=False)]


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory):
    """cifar10 accuracy = parameter count, cifar100 = its negative, imagenet16_120 = a fixed shuffle."""
    path = tmp_path_factory.mktemp("table") / "tiny.csv"
    rows = [(a, count_params(a)) for a in twenty_archs()]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch", "cifar10", "cifar100", "imagenet16_120"])
        for i, (a, n) in enumerate(rows):
            w.writerow([a, n, -n, (7 * i) % 20])
    return path, dict(rows)


def args(table, out, *extra):
    return ["--space", "nb201", "--proxies", PROXIES, "--sample", "20", "--seed", "0", "--table", str(table),
            "--batch-size", "8", "--device", "cpu", "--out", str(out), "--log-every", "10", *extra]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def study(tiny_table, tmp_path_factory):
    table, params = tiny_table
    out = tmp_path_factory.mktemp("runs") / "study"
    assert correlate.main(args(table, out)) == 0
    return out, table, params


def test_correlations_are_exact_where_the_table_makes_them_so(study):
    out, _, _ = study
    rows = {(r["proxy"], r["dataset"]): r for r in read_csv(out / "correlation.csv")}
    assert len(rows) == 4 * 3
    assert float(rows[("params", "cifar10")]["spearman"]) == pytest.approx(1.0)
    assert float(rows[("params", "cifar10")]["kendall"]) == pytest.approx(1.0)
    assert float(rows[("params", "cifar10")]["precision_top10pct"]) == 1.0
    assert float(rows[("params", "cifar100")]["spearman"]) == pytest.approx(-1.0)
    # An arch whose cells cut the input off (only `none` into the output node) has a zero input
    # Jacobian: jacob_cov is NaN there, so vote leaves it out and counts it.
    cut_off = sum(a.split("+")[2].count("none") == 3 for a in twenty_archs())
    assert int(rows[("vote", "cifar10")]["n"]) == 20 - cut_off and int(rows[("vote", "cifar10")]["nan"]) == cut_off


def test_every_arch_is_measured_once_and_written_out(study):
    out, _, params = study
    records = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert sorted(r["arch"] for r in records) == sorted(params)
    assert all(r["parts"]["params"] == params[r["arch"]] for r in records)
    assert set(records[0]["parts"]) == {"params", "flops", "synflow", "jacob_cov", "snip"}
    scores = read_csv(out / "proxy_scores.csv")
    assert len(scores) == 20 and sorted(float(s["vote"]) for s in scores)[-1] <= 19
    for name in PROXIES.split(","):
        assert (out / f"scatter_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tensorboard_holds_the_correlations(study):
    out, _, _ = study
    acc = EventAccumulator(str(out / "events"))
    acc.Reload()
    final = acc.Scalars("correlation/cifar10/params/spearman")
    assert final[-1].value == pytest.approx(1.0) and final[-1].step == 20
    running = acc.Scalars("running/cifar10/params/spearman")
    assert [e.step for e in running] == [10, 20]


def strict(line: str):
    """json.loads that refuses NaN / Infinity tokens, as strict JSON readers do."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token} in {line[:60]}")
    return json.loads(line, parse_constant=refuse)


def test_scores_are_strict_json_with_nan_as_null(study):
    out, _, _ = study
    records = [strict(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    nulls = [r["arch"] for r in records if r["parts"]["jacob_cov"] is None]
    assert len(nulls) == sum(a.split("+")[2].count("none") == 3 for a in twenty_archs()) > 0  # the cut-off archs


def test_an_interrupted_study_continues_where_it_stopped(study, tmp_path):
    out, table, _ = study
    lines = (out / "scores.jsonl").read_text().splitlines()
    part = tmp_path / "part"
    part.mkdir()
    (part / "config.yaml").write_text((out / "config.yaml").read_text().replace(str(out), str(part)))
    (part / "scores.jsonl").write_text("\n".join(lines[:12]) + "\n" + lines[12][:30])  # crash mid-line
    # the interrupted process's event file, named as if from a host/pid that sorts after ours, two seconds ahead
    (part / "events").mkdir()
    (part / "events" / f"events.out.tfevents.{int(time.time()) + 2}.zzzz.99999.0").write_bytes(b"")
    assert correlate.main(args(table, part)) == 0
    events = sorted(p.name for p in (part / "events").iterdir())
    assert len(events) == 2 and ".zzzz." not in events[-1]  # TensorBoard reads the continued study's file last
    resumed = (part / "scores.jsonl").read_text().splitlines()
    assert resumed[:12] == lines[:12] and len(resumed) == 20
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k != "seconds"}  # noqa: E731
    assert sorted(map(str, map(strip, resumed))) == sorted(map(str, map(strip, lines)))
    assert any(strict(line)["parts"]["jacob_cov"] is None for line in lines[:12])  # nulls were read back as NaN
    assert read_csv(part / "correlation.csv") == read_csv(out / "correlation.csv")


@pytest.mark.parametrize("garbage", ['{"arch": 3}', "[1, 2]", '{"parts": {"nwot": 1.0}}', '"text"'])
def test_a_line_the_study_did_not_write_is_measured_again_not_a_traceback(study, tmp_path, garbage):
    out, table, _ = study
    lines = (out / "scores.jsonl").read_text().splitlines()
    part = tmp_path / "part"
    part.mkdir()
    (part / "config.yaml").write_text((out / "config.yaml").read_text().replace(str(out), str(part)))
    (part / "scores.jsonl").write_text("\n".join(lines[:5]) + "\n" + garbage + "\n" + lines[7] + "\n")
    assert correlate.main(args(table, part)) == 0
    resumed = (part / "scores.jsonl").read_text().splitlines()
    assert resumed[:5] == lines[:5] and len(resumed) == 20 and garbage not in resumed
    assert read_csv(part / "correlation.csv") == read_csv(out / "correlation.csv")


def test_reference_values_are_correlated_with_ours(study, tmp_path):
    out, table, params = study
    reference = {a: {"cifar10": {"params": n / 1e6}} for a, n in params.items()}
    ref_path = tmp_path / "ref.json"
    ref_path.write_text(json.dumps(reference))
    again = tmp_path / "again"
    assert correlate.main(args(table, again, "--reference", str(ref_path)) + ["--proxies", "params"]) == 0
    rows = read_csv(again / "reference.csv")
    assert [r["proxy"] for r in rows] == ["params"]
    assert float(rows[0]["spearman_ours_vs_naslib"]) == pytest.approx(1.0) and int(rows[0]["n"]) == 20


def test_a_sample_larger_than_the_table_is_capped_with_a_note(tiny_table, tmp_path, capsys):
    table, _ = tiny_table
    assert correlate.main(args(table, tmp_path / "all") + ["--sample", "25", "--proxies", "params"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "--sample" in line]
    assert err == [f"--sample 25 is more than the 20 archs in {table}: using all 20"]
    assert len(read_csv(tmp_path / "all" / "proxy_scores.csv")) == 20


def test_user_errors_are_one_line_with_exit_code_2(study, tmp_path, capsys):
    out, table, _ = study
    broken = tmp_path / "ref.json"
    broken.write_text('{"|a|": 1,\n}')
    cases = [
        (args(table, tmp_path / "a") + ["--proxies", "synflow,nope"], "unknown proxy 'nope'; choose from:"),
        (args(table, tmp_path / "b") + ["--space", "nope"], "unknown space 'nope'"),
        (args(tmp_path / "missing.csv", tmp_path / "c"), "--table"),
        (args(table, out) + ["--batch-size", "4"], "holds a different study (differs in batch_size)"),
        (args(table, tmp_path / "d") + ["--archs", "reference"], "--archs reference needs --reference"),
        (args(table, tmp_path / "e") + ["--reference", str(broken)],
         f"--reference {broken}: not valid JSON (line 2, column 1: Expecting property name enclosed in double quotes)"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as e:
            correlate.main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err


def test_correlation_statistics_by_hand():
    acc = np.array([90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0, 0.0, 5.0, 15.0])
    score = acc / 10 + 1  # the same order as acc
    c = rank_correlation.correlations(score, acc, top_k=3)
    assert c["spearman"] == pytest.approx(1.0) and c["kendall"] == pytest.approx(1.0)
    assert c["precision_top10pct"] == 1.0 and c["precision_top_k"] == 1.0 and c["n"] == 12
    swapped = score.copy()
    swapped[[0, 5]] = swapped[[5, 0]]  # the best arch now scores 6th: top-2 by score = archs 5 and 1
    c = rank_correlation.correlations(swapped, acc, top_k=3)
    assert c["precision_top10pct"] == 0.5 and c["precision_top_k"] == pytest.approx(2 / 3)
    with_nan = score.copy()
    with_nan[3] = np.nan
    assert rank_correlation.correlations(with_nan, acc, 3)["nan"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = rank_correlation.correlations(np.ones(12), acc, 3)
    assert np.isnan(flat["spearman"]) and np.isnan(flat["spearman_top10"])


# ---- NAS-Bench-Macro ---------------------------------------------------------------------------
def test_macro_study_correlates_with_the_benchmark_json(tmp_path, capsys):
    """A macro table whose accuracy is each key's parameter count (of the benchmark's C=32 network):
    the params proxy then ranks exactly, and the table has CIFAR-10 only."""
    from ptnas import spaces

    keys = ["".join(k) for k in itertools.islice(itertools.product("012", repeat=8), 0, 6561, 547)]  # 12 keys
    macro = spaces.get("macro")
    params = {k: sum(p.numel() for p in macro.network(k).parameters()) for k in keys}
    table = tmp_path / "macro.json"
    table.write_text(json.dumps({k: {"test_acc": [n] * 3, "mean_acc": float(n), "std": 0.0, "params": n, "flops": 1}
                                 for k, n in params.items()}))
    out = tmp_path / "macro_study"
    argv = ["--space", "macro", "--proxies", "params,synflow", "--sample", "12", "--table", str(table),
            "--batch-size", "2", "--device", "cpu", "--out", str(out)]
    assert correlate.main(argv) == 0
    rows = {(r["proxy"], r["dataset"]): r for r in read_csv(out / "correlation.csv")}
    assert set(rows) == {("params", "cifar10"), ("synflow", "cifar10")}
    assert float(rows[("params", "cifar10")]["spearman"]) == pytest.approx(1.0)
    records = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert {r["arch"]: r["parts"]["params"] for r in records} == params  # the network at the benchmark's size
    printed = capsys.readouterr().out
    assert "Rank correlation with NAS-Bench-Macro test accuracy (12 archs" in printed and "C100" not in printed
    with pytest.raises(SystemExit) as e:
        correlate.main([*argv, "--reference", str(table), "--force"])
    assert e.value.code == 2 and "does not apply to --space macro" in capsys.readouterr().err
