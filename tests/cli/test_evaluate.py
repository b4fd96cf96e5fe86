"""`ptnas-evaluate` end to end: where genotypes come from, what it writes, continuing, ρ/τ, bad input."""
from __future__ import annotations

import json

import pytest
from scipy import stats
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas import evaluators
from ptnas.cli.evaluate import main
from tests.conftest import shared_data

TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8",
        "--device", "cpu"]
ZC = [*TINY, "--valid-batches", "1"]  # the zero-cost evaluator (the default) reads V; the others refuse it
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
         "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|",
         "|nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
         "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|"]


def records(out):
    return [json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
            for line in (out / "evaluations.jsonl").read_text().splitlines()]


def test_a_sample_is_ranked_written_and_correlated_with_the_table(tmp_path, capsys):
    table = shared_data("nb201_test_accuracy.csv")
    out = tmp_path / "ev"
    assert main([*TINY, "--evaluator", "table", "--table", str(table), "--sample", "12", "--seed", "3",
                 "--out", str(out)]) == 0
    rows = records(out)
    assert [r["index"] for r in rows] == list(range(12)) and len({r["genotype"] for r in rows}) == 12
    nb201 = evaluators.table("nb201", table)
    assert all(r["value"] == nb201.test_accuracy(r["genotype"]) and r["status"] == "ok" for r in rows)
    printed = capsys.readouterr().out
    assert "Spearman ρ 1.000, Kendall τ 1.000" in printed  # the table ranked against itself
    ranking = (out / "ranking.csv").read_text().splitlines()
    assert len(ranking) == 13 and ranking[1].startswith("1,") and max(r["value"] for r in rows) == float(ranking[1].split(",")[1])
    events = EventAccumulator(str(out / "events"))
    events.Reload()
    assert [e.value for e in events.Scalars("correlation/spearman")] == [1.0]
    assert len(events.Scalars("evaluation/score")) == 12


def test_genotypes_from_a_file_are_scored_by_zero_cost_with_rho_against_ground_truth(tmp_path, capsys):
    table = shared_data("nb201_test_accuracy.csv")
    archs = tmp_path / "archs.txt"
    archs.write_text("# four cells\n" + "\n".join(ARCHS) + "\n")
    out = tmp_path / "zc"
    assert main([*ZC, "--evaluator", "zero-cost", "--proxy", "synflow", "--genotypes", str(archs),
                 "--table", str(table), "--out", str(out)]) == 0
    rows = records(out)
    assert [r["genotype"] for r in rows] == ARCHS
    truth = [evaluators.table("nb201", table).test_accuracy(a) for a in ARCHS]
    rho = stats.spearmanr([r["value"] for r in rows], truth)[0]
    assert json.loads((out / "summary.json").read_text())["correlation"]["spearman"] == pytest.approx(rho)


def finished_evaluation(tmp_path):
    """A zero-cost evaluation of ARCHS run to its end: (out, its command, its records, evaluations.jsonl's lines)."""
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    out = tmp_path / "ev"
    command = [*ZC, "--evaluator", "zero-cost", "--genotypes", str(archs), "--out", str(out)]
    assert main(command) == 0
    return out, command, records(out), (out / "evaluations.jsonl").read_text().splitlines(keepends=True)


def test_rerunning_the_same_command_continues_an_interrupted_evaluation(tmp_path, capsys):
    out, command, whole, lines = finished_evaluation(tmp_path)
    (out / "evaluations.jsonl").write_text("".join(lines[:2]) + lines[2][:20])  # killed while writing the third
    assert main(command) == 0
    assert "2 of 4 already evaluated" in capsys.readouterr().err
    assert [(r["genotype"], r["value"]) for r in records(out)] == [(r["genotype"], r["value"]) for r in whole]
    with pytest.raises(SystemExit) as e:  # other settings: refused, nothing lost
        main([*command[:-2], "--proxy", "synflow", "--out", str(out)])
    assert e.value.code == 2 and "holds an evaluation with other settings (proxy" in capsys.readouterr().err
    assert len(records(out)) == 4


@pytest.mark.parametrize("bad", ['"value": "high"', '"genotype": null', '"seconds": "1"', "other"])
def test_a_continued_evaluation_evaluates_a_row_it_did_not_write_again(tmp_path, capsys, bad):
    out, command, whole, lines = finished_evaluation(tmp_path)
    row = json.loads(lines[1])
    if bad == "other":  # a well-formed record of another architecture
        row["genotype"] = ARCHS[3]
    else:
        key, value = bad.split(": ")
        row[json.loads(key)] = json.loads(value)
    (out / "evaluations.jsonl").write_text(lines[0] + json.dumps(row) + "\n" + "".join(lines[2:]))
    assert main(command) == 0
    assert "1 of 4 already evaluated" in capsys.readouterr().err
    assert [(r["genotype"], r["value"]) for r in records(out)] == [(r["genotype"], r["value"]) for r in whole]


def test_a_search_runs_candidates_are_evaluated(tmp_path):
    from ptnas.cli.search import main as search

    run = tmp_path / "search"
    assert search(["--space", "nb201", "--init-channels", "4", "--layers", "1", "--proposals", "2", "--order",
                   "random", "--valid-batches", "1", "--batch-size", "8", "--out", str(run)]) == 0
    candidates = [c["genotype"] for c in json.loads((run / "genotype.json").read_text())["candidates"]]
    assert main([*ZC, "--evaluator", "zero-cost", "--run", str(run), "--out", str(tmp_path / "ev")]) == 0
    assert [r["genotype"] for r in records(tmp_path / "ev")] == candidates


@pytest.mark.parametrize("extra, message", [
    (["--evaluator", "fearr", "--sample", "2"], "unknown evaluator 'fearr'; choose from: zero-cost, table"),
    (["--evaluator", "shortreg", "--fear-threshold", "0.5", "--sample", "2"], "--fear-threshold applies to --evaluator fear"),
    (["--evaluator", "shortreg", "--proxy", "synflow", "--sample", "2"], "--proxy applies to --evaluator zero-cost, not shortreg"),
    (["--evaluator", "fear", "--valid-batches", "10", "--sample", "2"], "--valid-batches applies to --evaluator zero-cost, not fear"),
    (["--evaluator", "fear", "--fear-threshold", "1.5", "--sample", "2"], "--fear-threshold must be in (0, 1), got 1.5"),
    (["--evaluator", "fear", "--fear-reject-ratio", "0.5", "--sample", "2"], "--fear-reject-ratio must be at least 1"),
    (["--sample", "2", "--run", "x"], "pass exactly one of --genotypes FILE, --run RUN_DIR, --sample K"),
    (["--run", "/nonexistent"], "--run /nonexistent: not a search run dir (it has no genotype.json)"),
    (["--evaluator", "table", "--sample", "2"], "--evaluator table needs --table FILE"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        main([*TINY, *extra, "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "is not a search's genotype.json (not a JSON object)"),
    ('{"space": "nb201", "candidates": {"a": 1}}', "candidates is not a list"),
    ('{"space": "nb201", "candidates": [{"genotype": null}]}', "candidate 1 has no genotype text"),
    ('{"space": "nb201", "candidates": [3]}', "candidate 1 has no genotype text"),
    ('{"space": ["nb201"], "candidates": []}', "holds ['nb201'] genotypes, not nb201"),
    ('{"space": "darts", "candidates": []}', "holds darts genotypes, not nb201; pass --space darts"),
])
def test_a_malformed_run_is_one_line(tmp_path, capsys, content, message):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "genotype.json").write_text(content)
    with pytest.raises(SystemExit) as e:
        main([*ZC, "--run", str(tmp_path / "run"), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert "--space [" not in err


def test_a_genotypes_file_that_is_not_text_or_has_a_huge_line_is_one_short_line(tmp_path, capsys):
    binary, huge = tmp_path / "archs.bin", tmp_path / "huge.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    huge.write_text("|" + "x" * 1_000_000 + "\n")
    for path, message in ((binary, f"--genotypes {binary}: not UTF-8 text"), (huge, f"--genotypes {huge}: line 1")):
        with pytest.raises(SystemExit) as e:
            main([*ZC, "--genotypes", str(path), "--out", str(tmp_path / "x")])
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and len(err.splitlines()) == 1 and message in err and len(err) < 1100, err[:300]


def test_genotypes_of_another_space_name_the_line(tmp_path, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text(ARCHS[0] + "\n22212220\n")
    with pytest.raises(SystemExit):
        main([*ZC, "--genotypes", str(archs), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert f"--genotypes {archs}: line 2 is not a nb201 genotype" in err and len(err.strip().splitlines()) == 1


def test_a_run_without_candidates_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "genotype.json").write_text(json.dumps({"space": "nb201", "genotype": ARCHS[0]}))
    with pytest.raises(SystemExit):
        main([*ZC, "--run", str(run), "--out", str(tmp_path / "x")])
    assert "the run has no candidates" in capsys.readouterr().err
