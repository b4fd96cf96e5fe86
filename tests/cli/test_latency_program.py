"""`ptnas-latency`: a tiny NB201 table written, loadable and checked on random networks; bad input is one
line on stderr, exit 2 and no file; Ctrl-C exits 130. No timing value is asserted (they are noisy)."""
from __future__ import annotations

import json

import pytest
import torch

from ptnas.cli import latency as program
from ptnas.spaces import latency

TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--repeats", "2", "--warmup", "0",
        "--threads", "1"]


def run(argv) -> int:
    try:
        return program.main([str(a) for a in argv])
    except SystemExit as e:
        return int(e.code or 0)


def test_writes_a_table_and_its_check(tmp_path, capsys):
    out = tmp_path / "tables" / "nb201.json"  # a directory that does not exist yet is made
    assert run([*TINY, "--out", out, "--check", 3, "--seed", 2]) == 0
    printed = capsys.readouterr().out
    assert "nb201 latency table (num_classes=10, input_size=32, C=4, N=1) on cpu" in printed
    assert f"table: {out}" in printed and "prediction on 3 random networks (seed 2" in printed
    table = latency.load(out, space="nb201", size={"C": 4, "N": 1})
    assert table.threads == 1 and table.timing["repeats"] == 2 and table.timing["warmup"] == 0
    assert table.check["networks"] == 3 and len(table.check["pairs"]) == 3 and table.check["seed"] == 2
    assert set(json.loads(out.read_text())["check"]) >= {"mape_percent", "max_error_percent", "spearman", "pairs"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["nb201.json"]


def test_without_check_there_is_no_check(tmp_path):
    assert run([*TINY, "--out", tmp_path / "t.json"]) == 0
    assert latency.load(tmp_path / "t.json").check is None


@pytest.mark.parametrize("argv,message", [
    (["--space", "nope"], "unknown space 'nope'"),
    (["--space", "nb201", "--repeats", "0"], "--repeats must be at least 1, got 0"),
    (["--space", "nb201", "--threads", "0"], "--threads must be at least 1, got 0"),
    (["--space", "nb201", "--check", "-1"], "--check must be at least 0, got -1"),
    (["--space", "nb201", "--check", "1"], "--check needs at least 2 networks"),
    (["--space", "nb201", "--input-size", "0"], "--input-size must be at least 1, got 0"),
    (["--space", "nb201", "--init-channels", "0"], "must be a positive integer"),
    (["--space", "macro", "--layers", "3"], "--layers does not apply to the macro space"),
    (["--space", "nb201", "--device", "tpu"], "unknown device 'tpu'"),
    (["--space", "nb201", "--repeats", "x"], "--repeats"),
    (["--space", "nb201", "--statistic", "mean"], "--statistic"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, argv, message):
    assert run([*argv, "--out", tmp_path / "t.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ptnas-latency: error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_one_line(tmp_path, capsys):
    assert run(["--space", "nb201", "--device", "cuda", "--out", tmp_path / "t.json"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_out_that_cannot_be_a_file(tmp_path, capsys):
    assert run(["--space", "nb201", "--out", tmp_path]) == 2
    assert "is a directory" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert run(["--space", "nb201", "--out", tmp_path / "file" / "t.json"]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_missing_required_flags(capsys):
    assert run(["--space", "nb201"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and err.count("\n") == 1


def test_ctrl_c_exits_130_with_nothing_written(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(latency, "build", interrupted)
    assert run([*TINY, "--out", tmp_path / "t.json"]) == 130
    assert "interrupted" in capsys.readouterr().err and list(tmp_path.iterdir()) == []
