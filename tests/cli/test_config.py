"""One config layering for every program: a YAML value is checked exactly like the same value on the
command line, and a malformed YAML file is one line naming the file and the line (exit code 2)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ptnas.cli import correlate, search
from ptnas.runtime import config
from ptnas.cli import train as train_cli
from tests.conftest import one_line_exit_2

GENOTYPE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- search.py ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("proposals: 1.7", "proposals: 1.7 is not valid for --proposals (expected an integer)"),
    ("batch_size: [1, 2]", "batch_size: [1, 2] is not valid for --batch-size (expected an integer)"),
    ("batch-size: true", "batch-size: True is not valid for --batch-size (expected an integer)"),
    ("criterion: accuracy", "criterion: 'accuracy' is not valid for --criterion (choose from: acc, loss)"),
    ("bn_mode: foo", "bn_mode: 'foo' is not valid for --bn-mode (choose from: train, eval)"),
    ("download: 'yes'", "download: 'yes' is not valid for --download (expected true or false)"),
    ("include_none: 1", "include_none: 1 is not valid for --include-none (expected true or false)"),
    ("lr: fast", "lr: 'fast' is not valid for --lr (expected a number)"),
    ("seed: null", "seed: None is not valid for --seed (expected an integer)"),
    ("nope: 3", "unknown key 'nope'"),
    ("[1, 2]", "expected a mapping of flag names to values, got a list"),
])
def test_search_checks_config_values_like_flags(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    err = one_line_exit_2(capsys, search.main, ["--config", path, "--out", tmp_path / "run"])
    assert err.startswith(f"search.py: error: --config {path}: {expected}"), err
    assert not (tmp_path / "run").exists()  # nothing half-made


def test_search_config_values_are_converted_as_on_the_command_line(tmp_path):
    path = write(tmp_path, "proposals: 3\nlr: 1e-3\ninclude_none: yes\nbatch-size: 16\nop_set: null\nspace: darts\n")
    args = config.parse(search.build_parser(), ["--config", str(path), "--batch-size", "8"])
    assert (args.proposals, args.lr, args.include_none, args.batch_size, args.op_set, args.space) == \
        (3, 0.001, True, 8, None, "darts")
    assert isinstance(args.lr, float)  # YAML reads 1e-3 as a string; the flag's type makes it a number


def test_malformed_config_yaml_names_the_file_and_line(tmp_path, capsys):
    path = write(tmp_path, "proposals: 2\nbatch_size: [1, 2\nseed: 0\n")
    err = one_line_exit_2(capsys, search.main, ["--config", path])
    assert err.startswith(f"search.py: error: --config {path}: not valid YAML (line ") and "line 3" in err, err


def test_a_missing_config_file_is_one_line(tmp_path, capsys):
    err = one_line_exit_2(capsys, search.main, ["--config", tmp_path / "none.yaml"])
    assert err == f"search.py: error: --config {tmp_path / 'none.yaml'}: no such file"


def test_resume_reads_the_runs_config_yaml_through_the_same_checks(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    stored = write(run, "selector: darts-pt\nepochs: 2\nbatch_size: [8\n", "config.yaml")
    err = one_line_exit_2(capsys, search.main, ["--selector", "darts-pt", "--resume", "--out", run])
    assert f"{stored}: not valid YAML (line " in err, err
    write(run, "selector: darts-pt\nepochs: two\nptnas_version: 0.1\n", "config.yaml")  # extras are not flags
    err = one_line_exit_2(capsys, search.main, ["--selector", "darts-pt", "--resume", "--out", run])
    assert f"{stored}: epochs: 'two' is not valid for --epochs (expected an integer)" in err, err


# ---- correlate ----------------------------------------------------------------------------------
def test_correlate_uses_the_same_checks(tmp_path, capsys):
    table = write(tmp_path, "arch,cifar10,cifar100,imagenet16_120\n", "t.csv")
    path = write(tmp_path, "sample: 2.5\n")
    err = one_line_exit_2(capsys, correlate.main, ["--config", path, "--table", table])
    assert f"--config {path}: sample: 2.5 is not valid for --sample (expected an integer)" in err
    path = write(tmp_path, "archs: all\n")
    err = one_line_exit_2(capsys, correlate.main, ["--config", path, "--table", table])
    assert "archs: 'all' is not valid for --archs (choose from: table, reference)" in err


# ---- train_final --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("batch_size: 2.5", "batch_size: 2.5 is not valid for --batch-size (expected an integer)"),
    ("sched: linear", "sched: 'linear' is not valid for --sched (choose from: cosine, tanh"),
    ("color_jitter: [0.4, 0.4]", "color_jitter: [0.4, 0.4] is not valid for --color-jitter (expected a list of 4 values)"),
    ("color_jitter: [0.4, 0.4, bright, 0.1]", "(expected a list of numbers)"),
    ("model_ema: 0", "model_ema: 0 is not valid for --model-ema (expected true or false)"),
    ("model_kwargs: 5", "model_kwargs: 5 is not valid for --model-kwargs (expected a mapping of network keywords"),
])
def test_train_final_checks_config_values_like_flags(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    err = one_line_exit_2(capsys, train_cli.main, ["--genotype", GENOTYPE, "--config", path, "--dataset", "cifar10",
                                                   "--output", tmp_path / "runs"])
    assert err.startswith(f"ptnas-train: error: --config {path}: ") and expected in err, err
    assert not (tmp_path / "runs").exists()


def test_train_final_recipe_file_checked_and_malformed_one_line(tmp_path, capsys):
    recipe = write(tmp_path, "space: nb201\nepochs: 3\nmodel_kwargs: {C: 4\n", "r.yaml")
    argv = ["--genotype", GENOTYPE, "--recipe", recipe, "--dataset", "cifar10", "--output", tmp_path / "runs"]
    err = one_line_exit_2(capsys, train_cli.main, argv)
    assert f"--recipe {recipe}: not valid YAML (line " in err, err
    write(tmp_path, "space: nb201\nepochs: 3.5\n", "r.yaml")
    err = one_line_exit_2(capsys, train_cli.main, argv)
    assert "epochs: 3.5 is not valid for --epochs (expected an integer)" in err, err


def test_train_final_config_layers_convert_values(tmp_path):
    path = write(tmp_path, "lr: 1e-3\ncolor_jitter: [0.4, 0.4, 0.4, 0.1]\nmodel_kwargs: {C: 4}\nepochs: 2\n")
    args, _ = train_cli.resolve(["--genotype", GENOTYPE, "--config", str(path), "--dataset", "cifar10",
                                 "--model-kwargs", "N=1", "--recipe", "nb201-cifar", "--device", "cpu",
                                 "--output", str(tmp_path / "runs")])
    assert (args.lr, args.color_jitter, args.epochs) == (0.001, [0.4, 0.4, 0.4, 0.1], 2)
    assert args.model_kwargs == {"C": 4, "N": 1}  # recipe's C=16, N=5 under the config's C under the flag's N
