"""search.py with the trained-supernet selectors: darts-alpha, darts-pt, --supernet, --resume after a kill."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from ptnas.cli.search import main
from ptnas.supernet import checkpoint
from tests.conftest import random_image_folder

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT.parent / "shared" / "data" / "nb201_test_accuracy.csv"
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")



@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A CIFAR-10-shaped ImageFolder on disk: 10 classes × 4 real PNGs in train/ (and test/)."""
    return random_image_folder(tmp_path_factory.mktemp("cifar"))


def common(images, out, *extra):
    return ["--space", "nb201", "--dataset", "cifar10", "--data", str(images), "--init-channels", "4",
            "--layers", "1", "--batch-size", "4", "--device", "cpu", "--seed", "0", "--out", str(out), *extra]


def tiny(images, out, *extra):
    """Tiny training: 2 steps per epoch, 1 validation batch per accuracy."""
    return common(images, out, "--steps-per-epoch", "2", "--eval-batches", "1", *extra)


@pytest.fixture(scope="module")
def trained(images, tmp_path_factory):
    """One darts-alpha run that trains a tiny supernet for 2 epochs (shared by several tests)."""
    out = tmp_path_factory.mktemp("runs") / "alpha"
    extra = ["--table", str(TABLE)] if TABLE.is_file() else []
    assert main(tiny(images, out, "--selector", "darts-alpha", "--order", "global-op-iter", "--epochs", "2", *extra)) == 0
    return out


def test_darts_alpha_trains_checkpoints_and_picks_argmax_alpha(trained):
    summary = json.loads((trained / "genotype.json").read_text())
    config = yaml.safe_load((trained / "config.yaml").read_text())
    assert config["epochs"] == 2 and config["proposals"] == 1
    state = checkpoint.load(trained / "checkpoint" / "supernet.pt")
    assert state["epoch"] == state["epochs"] == 2 and state["space"] == "nb201"
    assert summary["supernet"]["epochs_trained"] == 2 and len(summary["supernet"]["history"]) == 2
    # the genotype is argmax α over the non-none ops of the saved supernet, edge by edge
    edges = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
    best = {e: OPS[1 + int(state["net"][f"alphas.{e}"][1:].argmax())] for e in edges}
    expected = f"|{best['1<-0']}~0|+|{best['2<-0']}~0|{best['2<-1']}~1|+|{best['3<-0']}~0|{best['3<-1']}~1|{best['3<-2']}~2|"
    assert summary["genotype"] == expected == (trained / "genotype.txt").read_text().strip()
    if TABLE.is_file():
        assert set(summary["benchmark"]["test_accuracy"]) == {"cifar10", "cifar100", "imagenet16_120"}


def test_training_is_in_tensorboard(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(trained / "events" / "supernet"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    history = json.loads((trained / "genotype.json").read_text())["supernet"]["history"]
    assert [e.step for e in acc.Scalars("accuracy/valid")] == [1, 2]
    assert [e.value for e in acc.Scalars("loss/train")] == pytest.approx([h["train_loss"] for h in history], rel=1e-6)
    assert [i.step for i in acc.Images("alpha")] == [1, 2]


def test_supernet_flag_compares_policies_on_one_trained_supernet(trained, images, tmp_path):
    ckpt = str(trained / "checkpoint" / "supernet.pt")
    alpha_again = tmp_path / "alpha"
    assert main(tiny(images, alpha_again, "--selector", "darts-alpha", "--supernet", ckpt, "--order", "random")) == 0
    assert (alpha_again / "genotype.txt").read_text() == (trained / "genotype.txt").read_text()
    assert not (alpha_again / "checkpoint").exists()  # nothing was trained

    pt = tmp_path / "pt"
    assert main(tiny(images, pt, "--selector", "darts-pt", "--supernet", ckpt, "--order", "random",
                     "--tune-epochs", "1")) == 0
    records = [json.loads(line) for line in (pt / "scores.jsonl").read_text().splitlines()]
    scores = [r for r in records if r["kind"] == "score"]
    assert len(scores) == 6 * 5 and all(0 <= r["value"] <= 1 for r in scores)  # V is an accuracy
    decisions = [r for r in records if r["kind"] == "decision"]
    for d in decisions:
        mine = {r["op"]: r["value"] for r in scores if r["step"] == d["step"]}
        assert mine[d["op"]] == min(mine.values())  # the op whose removal costs most accuracy stays
    summary = json.loads((pt / "genotype.json").read_text())
    assert summary["supernet"]["checkpoint"] == ckpt

    zc = tmp_path / "zc"
    assert main(common(images, zc, "--selector", "zc-pt", "--order", "random", "--proposals", "1",
                       "--valid-batches", "1")) == 0
    assert (zc / "genotype.txt").is_file()


KILL_AFTER_FIRST_CHECKPOINT = """
import os, signal, sys
from ptnas.supernet import checkpoint
from tests.conftest import random_image_folder
from ptnas.cli.search import main
save = checkpoint.save
def save_then_die(path, state):
    save(path, state)
    if state["epoch"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
checkpoint.save = save_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_resume_after_a_kill_is_bit_identical(images, tmp_path):
    args = ["--selector", "darts-pt", "--order", "random", "--epochs", "3", "--tune-epochs", "1", "--second-order"]
    whole = tmp_path / "whole"
    assert main(tiny(images, whole, *args)) == 0

    killed = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_CHECKPOINT, *tiny(images, killed, *args)],
                          cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert checkpoint.load(killed / "checkpoint" / "supernet.pt")["epoch"] == 1
    assert not (killed / "genotype.json").exists()

    assert main(["--resume", "--out", str(killed)]) == 0  # every other setting comes from the run's config.yaml

    a = checkpoint.load(whole / "checkpoint" / "supernet.pt")
    b = checkpoint.load(killed / "checkpoint" / "supernet.pt")
    assert a["epoch"] == b["epoch"] == 3 and a["history"] == b["history"]
    assert all(torch.equal(v, b["net"][k]) for k, v in a["net"].items())
    for k, s in a["weight_optimizer"]["state"].items():
        assert torch.equal(s["momentum_buffer"], b["weight_optimizer"]["state"][k]["momentum_buffer"])
    for k, s in a["arch_optimizer"]["state"].items():
        assert torch.equal(s["exp_avg"], b["arch_optimizer"]["state"][k]["exp_avg"])
    assert (whole / "genotype.txt").read_text() == (killed / "genotype.txt").read_text()
    assert (whole / "scores.jsonl").read_text() == (killed / "scores.jsonl").read_text()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tb = EventAccumulator(str(killed / "events" / "supernet"))
    tb.Reload()
    events = tb.Scalars("loss/valid")
    assert [e.step for e in events] == [h["epoch"] for h in a["history"]]
    assert [e.value for e in events] == pytest.approx([h["valid_loss"] for h in a["history"]])


def test_resume_refuses_other_settings(trained, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    for flag, value, message in (("--batch-size", "8", "--batch-size 8 differs from its 4"),
                                 ("--lr", "0.1", "--lr 0.1 differs from its 0.025"),
                                 ("--epochs", "5", "--epochs 5 differs from its 2")):
        with pytest.raises(SystemExit) as e:
            main(["--resume", "--out", str(run), flag, value])
        assert e.value.code == 2 and message in capsys.readouterr().err
    # refused before anything in the run dir was touched
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in trained.iterdir())


@pytest.mark.parametrize("extra, message", [
    (["--selector", "zc-pt", "--epochs", "3"], "--epochs applies to --selector darts-alpha or darts-pt, not zc-pt"),
    (["--selector", "darts-alpha", "--fix-alpha"], "darts-alpha would pick by noise"),
    (["--selector", "darts-pt", "--supernet", "missing.pt"], "no such file"),
    (["--selector", "darts-pt", "--supernet", "x.pt", "--epochs", "2"], "pass one of them"),
    (["--selector", "darts-pt", "--criterion", "top5"], "invalid choice"),
    (["--selector", "darts-pt", "--train-portion", "1"], "(0, 1)"),
    (["--selector", "darts-pt", "--tune-epochs", "-1"], "at least 0"),
])
def test_usage_errors_are_one_line(extra, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["--out", str(tmp_path / "r"), *extra])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_resume_needs_a_run_dir_and_a_checkpoint(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["--selector", "darts-pt", "--resume", "--out", str(tmp_path / "nothing")])
    assert e.value.code == 2 and "there is no run dir" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as e:
        main(["--selector", "darts-pt", "--resume", "--out", str(tmp_path / "empty")])
    assert e.value.code == 2 and "is not a search run dir (it has no config.yaml)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--selector", "darts-pt", "--resume"])
    assert "--resume needs --out" in capsys.readouterr().err


def test_supernet_of_another_size_or_alpha_mode_is_refused(trained, images, tmp_path, capsys):
    ckpt = str(trained / "checkpoint" / "supernet.pt")
    with pytest.raises(SystemExit) as e:
        main(tiny(images, tmp_path / "r", "--selector", "darts-pt", "--supernet", ckpt, "--init-channels", "8"))
    assert e.value.code == 2 and "was made with size" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(tiny(images, tmp_path / "r", "--selector", "darts-pt", "--supernet", ckpt, "--fix-alpha"))
    assert e.value.code == 2 and "was trained without --fix-alpha" in capsys.readouterr().err


def test_darts_pt_config_files_hold_the_paper_settings():
    from ptnas.runtime.config import parse
    from ptnas.cli.search import build_parser

    for space in ("nb201", "darts"):
        args = parse(build_parser(), ["--config", str(ROOT / "configs" / f"darts-pt-{space}.yaml")])
        assert (args.space, args.selector, args.order, args.criterion) == (space, "darts-pt", "random", "acc")
        assert (args.batch_size, args.tune_epochs, args.tune_lr, args.epochs) == (64, 5, 0.0025, None)
