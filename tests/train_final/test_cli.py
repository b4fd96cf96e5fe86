"""Flags, recipes and their layering; user errors as one line with exit code 2."""
from __future__ import annotations

import pytest
import yaml

from ptnas.train_final import recipes
from ptnas.runtime.config import layer
from ptnas.cli.train import build_parser, resolve

from tests.train_final.conftest import GENOTYPE, TINY, run


def one_line_error(capsys, argv: list[str]) -> str:
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ptnas-train: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_bad_genotype_is_a_one_line_error(capsys):
    err = one_line_error(capsys, ["--genotype", "|nor_conv_3x3~0|+|bogus~0|", "--dataset", "synthetic-cifar10"])
    assert "not a genotype of any registered space" in err and "nb201" in err


@pytest.mark.parametrize("size, message", [
    (["--model-kwargs", "C=0"], "C (--init-channels) must be a positive integer in the nb201 space, got 0"),
    (["--model-kwargs", "N=-2"], "N (--layers) must be a positive integer in the nb201 space, got -2"),
    (["--model-kwargs", "C=wide"], "got 'wide'"),
    (["--init-channels", "100000000"], "C=100000000 in the nb201 space gives a supernet of about"),
])
def test_sizes_are_checked_before_anything_is_built(capsys, tmp_path, size, message):
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--recipe", "none",
                                  "--output", tmp_path / "runs", "--device", "cpu", *size])
    assert message in err, err
    assert not (tmp_path / "runs").exists()


def test_unknown_recipe_lists_the_recipes(capsys):
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--recipe", "nope", "--dataset", "synthetic-cifar10"])
    assert "unknown recipe 'nope'" in err
    for name in ("darts-cifar", "darts-imagenet", "mobilenet-imagenet", "nb201-cifar"):
        assert name in err


def test_recipe_of_an_unregistered_space_is_refused(capsys, tmp_path):
    recipe = tmp_path / "other.yaml"
    recipe.write_text("space: nosuchspace\nepochs: 3\n")
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--recipe", recipe, "--dataset", "synthetic-cifar10"])
    assert "nosuchspace space, which is not available here" in err and "nb201" in err


def test_imagenet_layout_error_names_the_expected_layout(capsys, tmp_path):
    (tmp_path / "train" / "a").mkdir(parents=True)  # no val/
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", tmp_path,
                                  "--output", tmp_path / "runs", *TINY])
    assert "no val/ folder" in err and "ImageFolder layout" in err


def test_flat_val_folder_is_refused(capsys, tmp_path):
    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "ILSVRC2012_val_00000001.JPEG").write_bytes(b"")
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--dataset", "imagenet", "--data", tmp_path,
                                  "--output", tmp_path / "runs", *TINY])
    assert "has no class folders" in err


@pytest.mark.parametrize("flag", ["--amp", "--sync-bn"])  # --amp: float16 by default; bfloat16 runs on the CPU
def test_cuda_only_flags_are_refused_on_cpu(capsys, flag):
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--device", "cpu", flag])
    assert "needs a CUDA device" in err


def test_drop_path_on_a_network_without_it_is_refused(capsys, tmp_path):
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", 64,
                                  "--drop-path", 0.2, "--output", tmp_path, *TINY])
    assert "no drop-path" in err


def test_aux_weight_without_an_auxiliary_head_is_refused(capsys, tmp_path):
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", 64,
                                  "--batch-size", 32, "--aux-weight", 0.4, "--epochs", 1, "--output", tmp_path, *TINY])
    assert "no auxiliary logits" in err


def test_layers_recipe_then_config_then_command_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"batch-size": 7, "epochs": 5, "model_kwargs": {"C": 8}}))
    args, ckpt = resolve(["--genotype", GENOTYPE, "--recipe", "nb201-cifar", "--config", str(config),
                          "--epochs", "3", "--model-kwargs", "N=2", "--output", str(tmp_path)])
    assert ckpt is None
    assert args.batch_size == 7 and args.epochs == 3  # config over recipe, command line over config
    assert args.model_kwargs == {"C": 8, "N": 2}  # merged key by key across all three layers
    assert args.lr_base == 0.1 and args.opt == "sgd" and args.weight_decay == 5e-4  # from the recipe
    assert args.space == "nb201" and args.genotype == GENOTYPE


def test_auto_recipe_follows_the_space_and_size_shortcuts_map_to_its_keywords(tmp_path):
    args, _ = resolve(["--genotype", GENOTYPE, "--init-channels", "8", "--layers", "1", "--output", str(tmp_path)])
    assert args.recipe == "nb201-cifar" and args.dataset == "cifar10" and args.epochs == 200
    assert args.model_kwargs == {"C": 8, "N": 1}


def test_unknown_config_key_is_refused(capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("batchsize: 7\n")
    err = one_line_error(capsys, ["--genotype", GENOTYPE, "--config", config])
    assert "unknown key 'batchsize'" in err


def test_every_recipe_uses_only_flag_names_and_valid_values():
    parser = build_parser()
    assert set(recipes.names()) >= {"darts-cifar", "darts-imagenet", "mobilenet-imagenet", "nb201-cifar"}
    for name in recipes.names():
        layer(parser, recipes.load(name), name)  # raises on a typo or a value of the wrong type


def test_recipes_hold_the_published_numbers():
    darts = recipes.load("darts-cifar")  # DARTS (Liu et al. 2019), CIFAR-10 evaluation
    assert darts["model_kwargs"] == {"C": 36, "layers": 20, "auxiliary": True}
    assert (darts["epochs"], darts["batch_size"], darts["lr_base"], darts["weight_decay"]) == (600, 96, 0.025, 3e-4)
    assert (darts["clip_grad"], darts["cutout"], darts["aux_weight"], darts["drop_path"]) == (5.0, 16, 0.4, 0.2)
    assert darts["opt"] == "momentum" and darts["sched"] == "cosine" and darts["min_lr"] == 0
    imagenet = recipes.load("darts-imagenet")
    assert imagenet["model_kwargs"]["C"] == 48 and imagenet["model_kwargs"]["layers"] == 14
    assert (imagenet["epochs"], imagenet["batch_size"], imagenet["lr_base"]) == (250, 128, 0.1)
    assert (imagenet["sched"], imagenet["decay_epochs"], imagenet["decay_rate"]) == ("step", 1, 0.97)
    assert (imagenet["weight_decay"], imagenet["smoothing"]) == (3e-5, 0.1)
    assert imagenet["color_jitter"] == [0.4, 0.4, 0.4, 0.2]
    nb201 = recipes.load("nb201-cifar")  # NAS-Bench-201 (Dong & Yang 2020)
    assert (nb201["epochs"], nb201["batch_size"], nb201["lr_base"], nb201["weight_decay"]) == (200, 256, 0.1, 5e-4)
    assert nb201["opt"] == "sgd"  # timm: SGD with Nesterov momentum
    mobile = recipes.load("mobilenet-imagenet")  # ProxylessNAS
    assert (mobile["epochs"], mobile["warmup_epochs"], mobile["smoothing"], mobile["weight_decay"]) == (300, 5, 0.1, 4e-5)
    assert mobile["opt"] == "sgd" and mobile["filter_bias_and_bn"] is True


def test_recipes_ship_as_package_data():
    """The recipes live in the package and setup.cfg's package_data covers every one of them, so a
    non-editable install (a wheel) has them too."""
    import configparser
    import fnmatch
    from pathlib import Path

    import ptnas.train_final

    names = recipes.names()
    assert {"darts-cifar", "darts-imagenet", "mobilenet-imagenet", "nb201-cifar"} <= set(names)
    package = Path(ptnas.train_final.__file__).parent
    files = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.yaml"))
    assert files and len(files) == len(names)
    setup = configparser.ConfigParser()
    setup.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    patterns = setup["options.package_data"]["ptnas.train_final"].split()
    assert all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files), (files, patterns)


def test_data_workers_default_to_what_the_machine_has():
    import os

    cores = len(os.sched_getaffinity(0))
    workers = build_parser().get_default("workers")
    assert workers == min(4, cores - 1)  # 1 on the 2-core development machine, not 4 processes and two warnings
