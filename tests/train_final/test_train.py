"""End-to-end runs of the CLI on real files: ImageFolder and synthetic CIFAR-10, TensorBoard, checkpoints, resume."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import timm
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas.train_final import register_run

from tests.train_final.conftest import GENOTYPE, TINY, run, write_colour_folder

REPO = Path(__file__).resolve().parents[2]


def scalars(run_dir: Path) -> dict[str, list[float]]:
    events = EventAccumulator(str(run_dir / "events"))
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_imagefolder_run_learns_and_reports(colour_folder, tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", colour_folder, "--img-size", 16,
            "--val-split", 0.25, "--epochs", 4, "--batch-size", 12, "--recipe", "none", "--lr", 0.1,
            "--weight-decay", 0, "--output", tmp_path, "--experiment", "colours", *TINY]
    assert run(argv) == 0
    run_dir = tmp_path / "colours"
    logged = scalars(run_dir)
    for tag in ("train/loss", "train/top1", "train/top5", "train/lr", "train/images_per_s",
                "test/loss", "test/top1", "test/top5", "val/top1"):
        assert len(logged[tag]) == 4, tag
    assert logged["train/loss"][-1] < logged["train/loss"][0] - 0.2  # a learnable task: the loss goes down
    cosine = [0.05 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]  # DARTS-style cosine to 0, per epoch
    assert logged["train/lr"] == pytest.approx(cosine, rel=1e-6)

    results = json.loads((run_dir / "results.json").read_text())
    assert results["test"]["images"] == 3 * 8  # every val/ image counted once
    assert results["test"]["top1"] == logged["test/top1"][-1] > 100 / 3  # final epoch, better than chance
    assert results["best_val"]["top1"] == max(logged["val/top1"])
    assert (run_dir / "checkpoint" / "model_best.pth.tar").is_file()  # kept because a validation split exists
    model = timm.create_model(results["timm_model"], num_classes=3, C=4, N=1)
    assert results["params"] == sum(p.numel() for p in model.parameters())
    assert results["wall_time_s"] > 0 and results["flops"] == 2 * results["mult_adds"] > 0

    args = yaml.safe_load((run_dir / "args.yaml").read_text())
    assert args["lr_effective"] == 0.1 and args["world_size"] == 1 and args["num_classes"] == 3
    assert args["genotype"] == GENOTYPE and args["space"] == "nb201"


def test_bf16_autocast_and_channels_last_train_on_the_cpu(colour_folder, tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", colour_folder, "--img-size", 16,
            "--epochs", 3, "--batch-size", 12, "--recipe", "none", "--lr", 0.1, "--weight-decay", 0,
            "--output", tmp_path, "--experiment", "bf16", "--amp", "--amp-dtype", "bfloat16", "--channels-last", *TINY]
    assert run(argv) == 0
    logged = scalars(tmp_path / "bf16")
    assert logged["train/loss"][-1] < logged["train/loss"][0] - 0.2  # it learns in bf16 too
    args = yaml.safe_load((tmp_path / "bf16" / "args.yaml").read_text())
    assert args["amp"] is True and args["amp_dtype"] == "bfloat16" and args["channels_last"] is True


def test_epochs_between_evaluations_carry_no_metrics(colour_folder, tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", colour_folder, "--img-size", 16,
            "--val-split", 0.25, "--epochs", 4, "--eval-interval", 2, "--batch-size", 12, "--recipe", "none",
            "--model-ema", "--output", tmp_path, "--experiment", "every2", *TINY]
    assert run(argv) == 0
    run_dir = tmp_path / "every2"
    history = torch.load(run_dir / "checkpoint" / "last.pth.tar", weights_only=True)["progress"]["history"]
    for split in ("test", "val", "test_ema"):
        assert [h["epoch"] for h in history if f"{split}_top1" in h] == [2, 4], split  # epoch 3 is not stale 2
    events = EventAccumulator(str(run_dir / "events"))
    events.Reload()
    for tag in ("test/top1", "test/loss", "val/top1", "test_ema/top1"):
        assert [e.step for e in events.Scalars(tag)] == [2, 4], tag
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["test"]["top1"] == events.Scalars("test/top1")[-1].value  # the final evaluation
    assert results["best_val"]["epoch"] in (2, 4)


def test_synthetic_cifar10_run_keeps_no_best_checkpoint_and_its_checkpoint_loads_in_timm(tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", 96, "--epochs", 1,
            "--batch-size", 32, "--model-ema", "--output", tmp_path, "--experiment", "s", *TINY]
    assert run(argv) == 0
    run_dir = tmp_path / "s"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["test"]["images"] == 96 and results["best_val"] is None and results["test_ema"] is not None
    assert not (run_dir / "checkpoint" / "model_best.pth.tar").exists()  # no validation split, no "best"
    last = run_dir / "checkpoint" / "last.pth.tar"
    ckpt = torch.load(last, map_location="cpu", weights_only=True)  # plain tensors and values only
    assert ckpt["progress"]["epoch"] == 1 and ckpt["arch"] == results["timm_model"]
    name = register_run(run_dir)  # as a fresh process would: the run's class count and sizes become defaults
    model = timm.create_model(name, checkpoint_path=str(last))
    for key, value in model.state_dict().items():  # timm prefers the EMA weights when a checkpoint has them
        assert torch.equal(value, ckpt["state_dict_ema"][key]), key


def test_existing_run_dir_needs_force_or_resume(capsys, tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", 32, "--epochs", 1,
            "--batch-size", 32, "--output", tmp_path, "--experiment", "x", *TINY]
    assert run(argv) == 0
    assert run(argv) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert run([*argv, "--force"]) == 0


def test_killed_run_resumes_to_bit_identical_weights(tmp_path):
    # Random crops and flips draw from the global RNG, so this fails unless the RNG states are restored too.
    data = write_colour_folder(tmp_path / "data", {"train": 12, "val": 4}, size=12)
    common = ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", data, "--img-size", 12,
              "--epochs", 2, "--batch-size", 12, "--lr", 0.05, "--model-ema", "--clip-grad", 5,
              "--output", tmp_path, *TINY]
    assert run([*common, "--experiment", "whole"]) == 0

    # The same run in another process, killed (SIGKILL, no clean-up) once its first epoch is saved.
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ptnas.train_final", *map(str, common), "--experiment", "killed"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "killed" / "checkpoint" / "checkpoint-0.pth.tar"
    deadline = time.monotonic() + 120
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert first.exists()

    assert run(["--resume", tmp_path / "killed", "--no-progress"]) == 0
    whole = torch.load(tmp_path / "whole/checkpoint/last.pth.tar", map_location="cpu", weights_only=True)
    resumed = torch.load(tmp_path / "killed/checkpoint/last.pth.tar", map_location="cpu", weights_only=True)
    assert resumed["progress"]["epoch"] == whole["progress"]["epoch"] == 2
    for part in ("state_dict", "state_dict_ema"):
        for key, value in whole[part].items():
            assert torch.equal(value, resumed[part][key]), f"{part}.{key}"
    for a, b in zip(whole["optimizer"]["state"].values(), resumed["optimizer"]["state"].values()):
        assert torch.equal(a["momentum_buffer"], b["momentum_buffer"])
    assert [h["train_loss"] for h in resumed["progress"]["history"]] == [h["train_loss"] for h in whole["progress"]["history"]]


def test_darts_recipe_trains_with_auxiliary_head_and_drop_path_ramp(tmp_path):
    from ptnas import spaces
    from ptnas.spaces.darts import count_parameters

    genotype = str(spaces.get("darts").references()["darts_v2"])
    argv = ["--genotype", genotype, "--recipe", "darts-cifar", "--dataset", "synthetic-cifar10",
            "--synthetic-n", 48, "--epochs", 2, "--batch-size", 16, "--model-kwargs", "C=4", "layers=3",
            "--workers", "0", "--no-progress", "--device", "cpu", "--output", tmp_path, "--experiment", "d"]
    assert run(argv) == 0
    run_dir = tmp_path / "d"
    results = json.loads((run_dir / "results.json").read_text())
    args = yaml.safe_load((run_dir / "args.yaml").read_text())
    assert args["space"] == "darts" and args["aux_weight"] == 0.4 and args["drop_path"] == 0.2
    assert results["params_with_aux_head"] > results["params"]  # the recipe's auxiliary head was built
    # DARTS ramps drop-path linearly from 0: epoch e of E uses drop_path * e / E
    assert scalars(run_dir)["train/drop_path_prob"] == pytest.approx([0.0, 0.1])
    model = timm.create_model(results["timm_model"], num_classes=10, C=4, layers=3, auxiliary=True)
    assert results["params"] == count_parameters(model)  # the DARTS convention: without the auxiliary head


def test_a_training_run_dir_holds_the_genotype_picture(tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", 16, "--epochs", 1,
            "--batch-size", 16, "--output", tmp_path, "--experiment", "p", *TINY]
    assert run(argv) == 0
    run_dir = tmp_path / "p"
    assert (run_dir / "genotype.png").read_bytes().startswith(b"\x89PNG") and (run_dir / "genotype.svg").is_file()
    events = EventAccumulator(str(run_dir / "events"), size_guidance={"images": 0})
    events.Reload()
    assert len(events.Images("genotype/picture")) == 1


def test_a_corrupt_image_ends_the_run_in_one_line_and_leaves_no_run_dir(capsys, tmp_path):
    """The loader finds the corrupt file in epoch 1: exit 2, one line naming it, and the run dir this run
    made is gone (no args.yaml, events or pictures of a training that never happened)."""
    data = write_colour_folder(tmp_path / "data", {"train": 4, "val": 2})
    bad = data / "train" / "red" / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    argv = ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", data, "--img-size", 16, "--recipe", "none",
            "--epochs", 1, "--batch-size", 4, "--output", tmp_path / "runs", "--experiment", "x", *TINY]
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.png: not a readable image" in err[0]
    assert not (tmp_path / "runs" / "x").exists()
