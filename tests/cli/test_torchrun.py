"""search.py and ptnas-evaluate under torchrun: real Gloo processes on CPU give the run of one process,
rank 0 alone prints and writes, and bad settings end every rank with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ptnas.cli.search import main as search

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT.parent / "shared" / "data" / "nb201_test_accuracy.csv"
TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--device", "cpu"]
ZC_PT = [*TINY, "--proposals", "4", "--order", "random", "--valid-batches", "1", "--batch-size", "8", "--seed", "3"]
SHORTREG = [*TINY, "--sample", "4", "--evaluator", "shortreg", "--train-epochs", "1", "--train-batch-size", "16",
            "--seed", "1"]


def launch(module: str, argv: list[str], processes: int, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m module argv` on `processes` ranks through torchrun (on 1: without torchrun)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PTNAS_DIST_TIMEOUT": "60"}
    head = [sys.executable, "-m", module] if processes == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes), "-m", module]
    return subprocess.run([*head, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def rows(path: Path, drop=("seconds", "rank")) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in drop} for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def zc_runs(tmp_path_factory):
    out = {}
    for n in (1, 2):
        cwd = tmp_path_factory.mktemp(f"zc{n}")
        out[n] = (cwd, launch("ptnas.cli.search", [*ZC_PT, "--out", "run"], n, cwd))
    return out


def test_evaluation_on_two_processes_equals_one(tmp_path):
    done = {n: launch("ptnas.cli.evaluate", [*SHORTREG, "--out", str(tmp_path / f"p{n}")], n, tmp_path)
            for n in (1, 2)}
    for d in done.values():
        assert d.returncode == 0, d.stderr[-2000:]
    one, two = (rows(tmp_path / f"p{n}" / "evaluations.jsonl", drop=("seconds",)) for n in (1, 2))
    assert len(one) == 4 and one == two  # the same records, in the same order (rank 0 wrote them)
    assert done[2].stdout.count("run dir:") == 1


def test_zc_pt_search_on_two_processes_equals_one(zc_runs):
    (cwd1, one), (cwd2, two) = zc_runs[1], zc_runs[2]
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    assert (cwd1 / "run" / "genotype.txt").read_text() == (cwd2 / "run" / "genotype.txt").read_text()
    assert rows(cwd1 / "run" / "scores.jsonl") == rows(cwd2 / "run" / "scores.jsonl")
    ranks = {r.get("rank") for r in map(json.loads, (cwd2 / "run" / "scores.jsonl").read_text().splitlines())
             if r["kind"] == "score"}
    assert ranks == {0, 1}  # each score says which rank computed it
    a, b = (json.loads((c / "run" / "genotype.json").read_text())["candidates"] for c in (cwd1, cwd2))
    assert a == b


def test_only_rank_zero_prints_and_writes(zc_runs):
    cwd, two = zc_runs[2]
    assert two.stdout.count("genotype:") == 1 and two.stdout.count("run dir:") == 1
    assert [p.name for p in cwd.iterdir()] == ["run"]
    assert json.loads((cwd / "run" / "genotype.json").read_text())["genotype"] in two.stdout
    assert "world_size: 2" in (cwd / "run" / "config.yaml").read_text()


def test_resume_under_another_world_size_is_refused(zc_runs, capsys):
    cwd, _ = zc_runs[2]
    with pytest.raises(SystemExit) as e:
        search(["--resume", "--out", str(cwd / "run")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "started on 2 processes, this run has 1" in err[0]


@pytest.mark.skipif(not TABLE.is_file(), reason="needs ../shared/data/nb201_test_accuracy.csv")
def test_random_search_on_the_table_on_two_processes_equals_one(tmp_path):
    argv = ["--space", "nb201", "--strategy", "random", "--evaluator", "table", "--table", str(TABLE),
            "--trials", "20", "--seed", "1", "--device", "cpu"]
    done = {n: launch("ptnas.cli.search", [*argv, "--out", str(tmp_path / f"p{n}")], n, tmp_path) for n in (1, 2)}
    assert done[1].returncode == 0 and done[2].returncode == 0, done[2].stderr[-2000:]
    one, two = (rows(tmp_path / f"p{n}" / "scores.jsonl") for n in (1, 2))
    assert len([r for r in one if r["kind"] == "evaluation"]) == 20 and one == two
    assert done[1].stdout.splitlines()[0] == done[2].stdout.splitlines()[0]  # genotype: ...


def test_a_cut_evolution_on_two_processes_resumes_to_the_uninterrupted_run(tmp_path):
    argv = ["--space", "nb201", "--strategy", "evolution", "--population", "4", "--tournament", "2", "--trials", "12",
            "--move-proposal", "--proxy", "synflow", "--proxy-batches", "1", "--init-channels", "4", "--layers", "1",
            "--batch-size", "8", "--evaluator", "table", "--table", str(TABLE), "--seed", "2", "--device", "cpu"]
    full = launch("ptnas.cli.search", [*argv, "--out", "full"], 2, tmp_path)
    assert full.returncode == 0, full.stderr[-2000:]
    lines = (tmp_path / "full" / "scores.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "config.yaml").write_text((tmp_path / "full" / "config.yaml").read_text())
    (tmp_path / "cut" / "scores.jsonl").write_text("".join(lines[:len(lines) // 2]))  # every rank replays it
    resumed = launch("ptnas.cli.search", ["--resume", "--out", "cut"], 2, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert rows(tmp_path / "cut" / "scores.jsonl") == rows(tmp_path / "full" / "scores.jsonl")


def test_the_documented_run_dir_form_gets_past_torchrun_and_evaluates_a_searchs_candidates(zc_runs, tmp_path):
    cwd, done = zc_runs[1]
    assert done.returncode == 0, done.stderr[-2000:]
    evaluated = launch("ptnas.cli.evaluate", [*TINY, "--valid-batches", "1", "--batch-size", "8", "--run-dir",
                                              str(cwd / "run"), "--out", str(tmp_path / "ev")], 2, tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    candidates = json.loads((cwd / "run" / "genotype.json").read_text())["candidates"]
    assert [r["genotype"] for r in rows(tmp_path / "ev" / "evaluations.jsonl")] == [c["genotype"] for c in candidates]


def test_more_ranks_than_candidates(tmp_path):
    argv = [*TINY, "--sample", "1", "--evaluator", "zero-cost", "--proxy", "synflow", "--valid-batches", "1",
            "--batch-size", "8", "--out", "run"]
    done = launch("ptnas.cli.evaluate", argv, 2, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len((tmp_path / "run" / "evaluations.jsonl").read_text().splitlines()) == 1
