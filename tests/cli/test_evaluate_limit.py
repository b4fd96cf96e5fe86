"""`ptnas-evaluate --max-params / --max-flops / --max-latency`: architectures over the limit are recorded rejected
with the reason and never evaluated; a limit no architecture meets is refused before any run dir."""
from __future__ import annotations

import json

import pytest

from ptnas import evaluators, spaces
from ptnas.cli.evaluate import main
from ptnas.spaces import latency
from tests.conftest import shared_data

NB201 = spaces.get("nb201")
TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8", "--device", "cpu"]
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|",
         "|nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
         "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"]


def records(out):
    return [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]


def test_architectures_over_the_parameter_limit_are_rejected_with_the_reason(tmp_path, capsys):
    table = shared_data("nb201_test_accuracy.csv")
    nb201 = evaluators.table("nb201", table)
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    params = [NB201.cost(a).params for a in ARCHS]
    over = [p > 500_000 for p in params]
    assert 0 < sum(over) < len(ARCHS)  # the limit splits them
    out = tmp_path / "ev"
    assert main([*TINY, "--evaluator", "table", "--table", str(table), "--genotypes", str(archs), "--max-params", "0.5",
                 "--out", str(out)]) == 0
    rows = records(out)
    assert [r["genotype"] for r in rows] == ARCHS
    for row, p, too_big in zip(rows, params, over):
        if too_big:
            assert row["status"] == "rejected" and row["value"] is None
            assert row["reason"] == f"{p / 1e6:.4g}M parameters, over --max-params 0.5"
        else:
            assert row["status"] == "ok" and row["value"] == nb201.test_accuracy(row["genotype"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["statuses"]["rejected"] == sum(over) and summary["evaluator"]["max_params"] == 0.5
    assert f"{sum(over)} of {len(ARCHS)} rejected early" in capsys.readouterr().out


# Entries (ms) set by hand after a real build, so the test does not depend on the machine's load (measured
# entries are differences of timings: on a busy machine they can even be negative).
OP_MS = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 1.5, "avg_pool_3x3": 0.5, "skip_connect": 0.2, "none": 0.0}


def test_a_latency_limit_rejects_by_the_tables_prediction(tmp_path):
    built = latency.build("nb201", device="cpu", repeats=2, warmup=1, threads=1)
    built.fixed = 1.0
    built.ops = {e: {o: OP_MS[o] * (1 + 0.1 * i) for o in row} for i, (e, row) in enumerate(built.ops.items())}
    path = built.save(tmp_path / "nb201-cpu.json")
    table = latency.load(path, "nb201")
    predicted = [table.predict(a) for a in ARCHS]
    middle = sorted(predicted)[1:3]
    assert middle[0] < middle[1]
    limit_ms = round(sum(middle) / 2, 4)  # two of the four are over it
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    out = tmp_path / "ev"
    assert main([*TINY, "--evaluator", "zero-cost", "--proxy", "synflow", "--valid-batches", "1", "--genotypes",
                 str(archs), "--latency-table", str(path), "--max-latency", str(limit_ms), "--out", str(out)]) == 0
    rows = records(out)
    assert [r["status"] for r in rows] == ["rejected" if ms > limit_ms else "ok" for ms in predicted]
    for row, ms in zip(rows, predicted):
        if ms > limit_ms:
            assert row["reason"] == f"{ms:.4g} ms predicted latency, over --max-latency {limit_ms:g}"
        else:
            assert row["value"] is not None


@pytest.mark.parametrize("given, message", [
    (["--max-params", "0.001"], "no network of the nb201 space fits: the smallest has 0.0"),
    (["--max-flops", "0.1"], "no network of the nb201 space fits: the smallest has "),
    (["--max-latency", "5"], "--max-latency needs --latency-table FILE"),
])
def test_an_unusable_limit_is_refused_in_one_line_before_any_run_dir(tmp_path, capsys, given, message):
    out = tmp_path / "ev"
    with pytest.raises(SystemExit) as e:
        main([*TINY, "--evaluator", "zero-cost", "--sample", "3", *given, "--out", str(out)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
