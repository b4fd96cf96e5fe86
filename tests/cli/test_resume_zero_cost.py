"""A zero-cost search killed at any point continues with `--resume --out RUN` from what scores.jsonl
holds, recomputes no finished scoring pass, and ends with the genotype and the file of an uninterrupted run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ptnas.cli.search import main

ROOT = Path(__file__).resolve().parents[2]
NB201 = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--proposals", "3", "--order", "random",
         "--valid-batches", "2", "--batch-size", "8", "--device", "cpu"]
DARTS = ["--space", "darts", "--op-set", "s2", "--init-channels", "2", "--layers", "1", "--proposals", "2",
         "--order", "global-op-iter", "--valid-batches", "1", "--batch-size", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The uninterrupted runs."""
    out = {}
    for name, flags in (("nb201", NB201), ("darts", DARTS)):
        run = tmp_path_factory.mktemp("whole") / name
        assert main([*flags, "--out", str(run)]) == 0
        out[name] = run
    return out


def scores(run: Path) -> list[dict]:
    """scores.jsonl without timings (the only field two identical runs may differ in)."""
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (run / "scores.jsonl").read_text().splitlines()]


def killed_at(source: Path, target: Path, keep: int, partial: bool = False) -> Path:
    """A copy of `source` as if killed after `keep` lines of scores.jsonl (plus half a line)."""
    target.mkdir()
    (target / "config.yaml").write_text((source / "config.yaml").read_text())
    lines = (source / "scores.jsonl").read_text().splitlines(keepends=True)
    text = "".join(lines[:keep]) + (lines[keep][: len(lines[keep]) // 2] if partial else "")
    (target / "scores.jsonl").write_text(text)
    return target


@pytest.mark.parametrize("space, fraction, partial", [("nb201", 0.1, False), ("nb201", 0.5, True),
                                                      ("nb201", 0.97, False), ("darts", 0.3, True),
                                                      ("darts", 0.8, False)])
def test_resume_from_any_point_ends_as_the_uninterrupted_run(whole, tmp_path, space, fraction, partial, capsys):
    source = whole[space]
    n = len((source / "scores.jsonl").read_text().splitlines())
    run = killed_at(source, tmp_path / "run", int(n * fraction), partial)
    assert main(["--resume", "--out", str(run)]) == 0
    assert scores(run) == scores(source)
    assert (run / "genotype.txt").read_text() == (source / "genotype.txt").read_text()
    a, b = (json.loads((d / "genotype.json").read_text()) for d in (run, source))
    assert a["candidates"] == b["candidates"]


def test_finished_passes_are_not_recomputed(whole, tmp_path, monkeypatch):
    from ptnas.selectors.zero_cost import _ZeroCost

    source = whole["nb201"]
    rows = [json.loads(line) for line in (source / "scores.jsonl").read_text().splitlines()]
    keep = next(i for i, r in enumerate(rows) if r["kind"] == "proposal") + 1  # the first proposal finished
    run = killed_at(source, tmp_path / "run", keep)
    passes = []
    original = _ZeroCost._scoring_pass
    monkeypatch.setattr(_ZeroCost, "_scoring_pass", lambda self, *a: passes.append(1) or original(self, *a))
    assert main(["--resume", "--out", str(run)]) == 0
    assert len(passes) == 2 * 6  # proposals 2 and 3 only: 6 passes each on NB201 in random order


def test_a_real_kill_then_resume(whole, tmp_path):
    source = whole["nb201"]
    run = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "search.py"), *NB201, "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = run / "scores.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 40:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run([sys.executable, str(ROOT / "search.py"), "--resume", "--out", str(run)], cwd=ROOT,
                             env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert scores(run) == scores(source)
    assert (run / "genotype.txt").read_text() == (source / "genotype.txt").read_text()


def test_resume_may_not_change_what_the_search_computes(whole, tmp_path, capsys):
    run = killed_at(whole["nb201"], tmp_path / "run", 10)
    with pytest.raises(SystemExit) as e:
        main(["--resume", "--out", str(run), "--proxy", "synflow"])
    assert e.value.code == 2
    assert "--proxy synflow differs from its 'nwot'" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["flag", "config"])
def test_a_setting_given_at_its_default_value_is_compared_too(whole, tmp_path, capsys, how):
    """A synflow run resumed with nwot, the default proxy, on the command line or in --config: refused."""
    run = killed_at(whole["nb201"], tmp_path / "run", 10)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("proxy: nwot", "proxy: synflow"))
    extra = ["--proxy", "nwot"]
    if how == "config":
        (tmp_path / "c.yaml").write_text("proxy: nwot\n")
        extra = ["--config", str(tmp_path / "c.yaml")]
    with pytest.raises(SystemExit) as e:
        main(["--resume", "--out", str(run), *extra])
    assert e.value.code == 2
    assert "--proxy nwot differs from its 'synflow'" in capsys.readouterr().err
