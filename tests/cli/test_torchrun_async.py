"""`--executor torchrun`: multi-trial evaluations spread asynchronously over real Gloo ranks on CPU (rank 0
drives and evaluates in a second thread), resumed from the order records finished, refused off torchrun."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ptnas.cli.search import main as search
from tests.cli.test_torchrun import ROOT, TABLE, launch

pytestmark = pytest.mark.skipif(not TABLE.is_file(), reason="needs ../shared/data/nb201_test_accuracy.csv")
TABLE_SEARCH = ["--space", "nb201", "--evaluator", "table", "--table", str(TABLE), "--device", "cpu"]


def evaluations(run: Path) -> list[dict]:
    return [r for r in map(json.loads, (run / "scores.jsonl").read_text().splitlines()) if r["kind"] == "evaluation"]


def test_random_search_on_two_ranks_evaluates_what_one_process_does_on_both_ranks(tmp_path):
    argv = [*TABLE_SEARCH, "--strategy", "random", "--trials", "20", "--seed", "1"]
    one = launch("ptnas.cli.search", [*argv, "--out", "one"], 1, tmp_path)
    two = launch("ptnas.cli.search", [*argv, "--executor", "torchrun", "--out", "two"], 2, tmp_path)
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    a, b = evaluations(tmp_path / "one"), evaluations(tmp_path / "two")
    assert sorted((r["genotype"], r["value"]) for r in a) == sorted((r["genotype"], r["value"]) for r in b)
    assert [r["trial"] for r in b] == list(range(20)) and {r["details"]["rank"] for r in b} == {0, 1}
    assert one.stdout.splitlines()[0] == two.stdout.splitlines()[0]  # genotype: the same best
    summary = json.loads((tmp_path / "two" / "genotype.json").read_text())
    assert summary["executor"] == {"executor": "torchrun", "workers": 2, "jobs": 2}


def test_steered_evolution_on_two_ranks_runs_and_a_cut_one_resumes(tmp_path):
    # move proposal: synflow scores on rank 0 alone while both ranks evaluate
    argv = [*TABLE_SEARCH, "--strategy", "evolution", "--population", "4", "--tournament", "2", "--trials", "12",
            "--move-proposal", "--proxy", "synflow", "--proxy-batches", "1", "--init-channels", "4", "--layers", "1",
            "--batch-size", "8", "--seed", "2", "--executor", "torchrun"]
    full = launch("ptnas.cli.search", [*argv, "--out", "full"], 2, tmp_path)
    assert full.returncode == 0, full.stderr[-2000:]
    done = evaluations(tmp_path / "full")
    assert len(done) == 12 == len({r["genotype"] for r in done})
    lines = (tmp_path / "full" / "scores.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "config.yaml").write_text((tmp_path / "full" / "config.yaml").read_text())
    (tmp_path / "cut" / "scores.jsonl").write_text("".join(lines[:len(lines) // 2]))
    resumed = launch("ptnas.cli.search", ["--resume", "--out", "cut"], 2, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    again = (tmp_path / "cut" / "scores.jsonl").read_text().splitlines(keepends=True)
    assert again[:len(lines) // 2] == lines[:len(lines) // 2]
    assert len(evaluations(tmp_path / "cut")) == 12 == len({r["genotype"] for r in evaluations(tmp_path / "cut")})


FAILS_ON_RANK_1 = """
import os, sys
from ptnas import evaluators
from ptnas.cli.search import main
from ptnas.evaluators import Record

class RankOneFails(evaluators.Evaluator):
    name = "rank-one-fails"

    @classmethod
    def from_args(cls, args, context):
        return cls()

    def evaluate_one(self, genotype):
        if os.environ["RANK"] == "1":
            raise ValueError("rank one cannot evaluate")
        return Record(str(genotype), float(len(str(genotype))))

evaluators.register("rank-one-fails", RankOneFails)
sys.exit(main(sys.argv[1:]))
"""


def test_an_error_on_a_worker_rank_ends_every_rank_with_its_line(tmp_path):
    (tmp_path / "search_fails.py").write_text(FAILS_ON_RANK_1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PTNAS_DIST_TIMEOUT": "60"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "search_fails.py", "--space", "nb201", "--strategy", "random", "--trials", "6",
                           "--evaluator", "rank-one-fails", "--executor", "torchrun", "--device", "cpu", "--out", "run"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "search.py: error: rank 1: rank one cannot evaluate (the run so far is in run" in done.stderr
    assert "Traceback" not in done.stderr.split("search.py: error:")[0]  # ptnas's line comes before torchrun's report
    kept = evaluations(tmp_path / "run")
    assert all(r["details"]["rank"] == 0 for r in kept)  # what rank 0 finished before is kept


def test_the_torchrun_executor_off_torchrun_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        search([*TABLE_SEARCH, "--strategy", "random", "--trials", "2", "--executor", "torchrun",
                "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--executor torchrun runs under torchrun" in err[0]
    assert not (tmp_path / "x").exists()
