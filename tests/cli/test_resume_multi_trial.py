"""A multi-trial search cut anywhere continues with --resume: the same sequence of evaluations and proxy
scores as an uninterrupted run, and what scores.jsonl held is not evaluated again."""
from __future__ import annotations

import json
import shutil

import pytest

from ptnas.cli.search import main
from ptnas.evaluators.distributed import Sharded
from tests.conftest import shared_data

TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8", "--device", "cpu"]
KEPT = ("kind", "trial", "genotype", "value", "status", "proxy")


def table_flags():
    return ["--evaluator", "table", "--table", str(shared_data("nb201_test_accuracy.csv"))]


STRATEGIES = {
    "evolution": ["--strategy", "evolution", "--population", "5", "--tournament", "2", "--trials", "14"],
    "local": ["--strategy", "local", "--trials", "10"],
    # steered by a zero-cost proxy: its scores are replayed too
    "random-warm-up": ["--strategy", "random", "--warmup", "6", "--proxy", "synflow", "--proxy-batches", "1",
                       "--trials", "5"],
    "evolution-move-proposal": ["--strategy", "evolution", "--population", "4", "--tournament", "2", "--trials", "9",
                                "--move-proposal", "--proxy", "synflow", "--proxy-batches", "1"],
}


def rows(run):
    return [{k: r.get(k) for k in KEPT} for r in map(json.loads, (run / "scores.jsonl").read_text().splitlines())]


@pytest.fixture
def counted(monkeypatch):
    """(kind, genotype) of what the evaluators are asked for: the table evaluates, the zero-cost evaluator
    gives the proxy scores (the real evaluators run)."""
    asked = []
    evaluate = Sharded.evaluate

    def spy(self, genotypes, on_record=None):
        asked.extend(("proxy" if self.name == "zero-cost" else "evaluation", str(g)) for g in genotypes)
        return evaluate(self, genotypes, on_record)

    monkeypatch.setattr(Sharded, "evaluate", spy)
    return asked


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_a_cut_multi_trial_search_resumes_to_the_uninterrupted_run(tmp_path, capsys, counted, name):
    flags = [*TINY, *STRATEGIES[name], *table_flags()]
    full = tmp_path / "full"
    assert main([*flags, "--out", str(full)]) == 0
    expected, lines = rows(full), (full / "scores.jsonl").read_text().splitlines(keepends=True)
    genotype = (full / "genotype.txt").read_text()
    assert sum(r["kind"] == "evaluation" for r in expected) > 3
    for cut in (1, len(lines) // 3, len(lines) // 2, len(lines) - 2):
        run = tmp_path / f"cut{cut}"
        shutil.copytree(full, run)
        for f in ("genotype.json", "genotype.txt"):
            (run / f).unlink()
        (run / "scores.jsonl").write_text("".join(lines[:cut]) + lines[cut][:7])  # and half a line
        counted.clear()
        assert main(["--resume", "--out", str(run)]) == 0
        assert rows(run) == expected, cut
        assert (run / "genotype.txt").read_text() == genotype
        replayed = {(r["kind"], r["genotype"]) for r in map(json.loads, lines[:cut]) if r["kind"] in ("evaluation", "proxy")}
        assert not replayed & set(counted), f"cut {cut}: evaluated again"
        assert len(counted) == sum(r["kind"] in ("evaluation", "proxy") for r in expected) - len(replayed)


def test_a_resumed_multi_trial_search_refuses_a_changed_setting(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, *STRATEGIES["evolution"], *table_flags(), "--out", str(out)]) == 0
    with pytest.raises(SystemExit) as e:
        main(["--resume", "--out", str(out), "--trials", "20"])
    assert e.value.code == 2
    assert "--trials 20 differs from its 14" in capsys.readouterr().err
