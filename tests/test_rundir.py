"""A run dir that cannot be made or written is refused with one line naming the path and the reason."""
from __future__ import annotations

import os

import pytest

from ptnas.cli import search
from ptnas.rundir import RunDir, RunDirError
from ptnas.cli import train as train_cli
from tests.conftest import one_line_exit_2

GENOTYPE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_a_run_dir_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError) as e:
        RunDir(tmp_path / "file" / "deeper" / "run")
    assert str(e.value) == (f"cannot create run dir {tmp_path / 'file' / 'deeper' / 'run'}: {tmp_path / 'file'} is a "
                            "file; choose another output directory")
    with pytest.raises(RunDirError, match="is a file"):
        RunDir.reopen(tmp_path / "file" / "run")


@pytest.fixture
def read_only(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


def test_a_run_dir_in_a_read_only_directory_is_refused(read_only):
    if os.access(read_only, os.W_OK):
        pytest.skip("this user (root) can write to a 0o500 directory anyway; the under-a-file test covers the path")
    with pytest.raises(RunDirError, match=rf"cannot create run dir {read_only / 'run'}: Permission denied"):
        RunDir(read_only / "run")
    with pytest.raises(RunDirError, match=rf"run dir {read_only} is not writable"):
        RunDir(read_only)


def test_search_and_train_final_report_it_in_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    err = one_line_exit_2(capsys, search.main, ["--init-channels", "4", "--layers", "1", "--batch-size", "8",
                                                "--out", tmp_path / "file" / "run"])
    assert err == f"search.py: error: cannot create run dir {tmp_path / 'file' / 'run'}: {tmp_path / 'file'} is a " \
                  "file; choose another output directory"
    err = one_line_exit_2(capsys, train_cli.main, [
        "--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", "8", "--recipe", "none",
        "--epochs", "1", "--batch-size", "8", "--model-kwargs", "C=4", "N=1", "--workers", "0", "--no-progress",
        "--device", "cpu", "--output", tmp_path / "file", "--experiment", "run"])
    assert f"cannot create run dir {tmp_path / 'file' / 'run'}: {tmp_path / 'file'} is a file" in err


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_no_program_writes_into_a_run_dir_another_program_made(tmp_path, capsys, force):
    from ptnas.cli import evaluate

    searched = tmp_path / "search"
    searched.mkdir()
    config = "program: search.py\nproxy: synflow\n"
    (searched / "config.yaml").write_text(config)
    with pytest.raises(SystemExit) as e:
        evaluate.main(["--sample", "1", "--valid-batches", "1", "--batch-size", "2", "--device", "cpu",
                       "--out", str(searched), *force])
    assert e.value.code == 2
    assert "holds a run of search.py, not of ptnas-evaluate" in capsys.readouterr().err
    assert (searched / "config.yaml").read_text() == config and sorted(p.name for p in searched.iterdir()) == ["config.yaml"]

    evaluated = tmp_path / "evaluate"
    evaluated.mkdir()
    (evaluated / "config.yaml").write_text("command: ptnas-evaluate --sample 1\n")  # a run made before `program`
    with pytest.raises(SystemExit) as e:
        search.main(["--out", str(evaluated), "--device", "cpu", *force])
    assert e.value.code == 2
    assert "holds a run of ptnas-evaluate, not of search.py" in capsys.readouterr().err
