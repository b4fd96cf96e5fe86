"""A final training, the job behind `python -m ptnas.train_final` / `ptnas-train` and `ptnas.train(...)`: train a
discovered genotype from scratch, on one device or many.

    python -m ptnas.train_final --genotype runs/x --dataset cifar10 --data DIR          # recipe picked for the space
    torchrun --nproc_per_node=8 -m ptnas.train_final --genotype g.json --recipe darts-imagenet --data IMAGENET
    python -m ptnas.train_final --resume runs/train/<experiment>                          # continue a run

Values come in layers, each overriding the one before: the flags' defaults, the recipe
(ptnas/train_final/recipe_files/<name>.yaml; or, with --resume, the checkpoint's resolved config), --config FILE, the
command line (or the keywords of `ptnas.train`). The resolved values are saved as args.yaml in the run dir.
"""
from __future__ import annotations

import argparse
import ast
import datetime
import os
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Sequence

from ptnas import device as devices, spaces
from ptnas.runtime import config
from ptnas.runtime.config import OneLineParser, UsageError
from ptnas.seeding import SEED
from ptnas.data import DataNotFoundError, datasets
from ptnas.registry import UnknownNameError
from ptnas.rundir import ARTIFACTS, RunDirError, RunDirExistsError
from ptnas.train_final import checkpoint, genotype_source, recipes
from ptnas.runtime.loop import AuxiliaryMismatchError

PROG = "ptnas-train"
SCHEDULERS = ("cosine", "tanh", "step", "multistep", "poly", "wsd", "rsqrt", "constant", "none")
NOT_INHERITED = ("resume", "config", "recipe", "force")  # never taken from a checkpoint's config


class MergeKwargs(argparse.Action):
    """`--model-kwargs C=36 auxiliary=True`: values parsed as Python literals, merged into the current dict."""

    def __call__(self, parser, namespace, values, option_string=None):
        merged = dict(getattr(namespace, self.dest, None) or {})
        for item in values:
            if "=" not in item:
                raise UsageError(f"{option_string} {item}: expected KEY=VALUE, e.g. C=36 auxiliary=True")
            key, value = item.split("=", 1)
            try:
                merged[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                merged[key] = value
        setattr(namespace, self.dest, merged)

    @staticmethod
    def from_config(value: Any) -> dict[str, Any]:
        """The YAML form: a mapping of network keywords."""
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of network keywords, e.g. {C: 36, auxiliary: true}")
        return {str(k): v for k, v in value.items()}


DEFAULT_WORKERS = min(4, max(0, len(os.sched_getaffinity(0)) - 1) if hasattr(os, "sched_getaffinity")
                      else max(0, (os.cpu_count() or 1) - 1))


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Train a discovered genotype from scratch (CIFAR, ImageNet; DDP via torchrun).")
    g = p.add_argument_group("genotype and network")
    g.add_argument("--genotype", default=None,
                   help="search run dir, genotype.json, text file, or the genotype text itself")
    g.add_argument("--space", default=None, help=f"search space ({', '.join(spaces.names())}); inferred when omitted")
    g.add_argument("--recipe", default="auto",
                   help=f"training recipe: {', '.join(recipes.names())}, a YAML path, auto (by space and dataset; "
                        "default) or none")
    g.add_argument("--config", default=None, help="YAML file of flag values over the recipe; flags override it")
    g.add_argument("--model-kwargs", nargs="*", default={}, action=MergeKwargs, metavar="KEY=VALUE",
                   help="network keywords of the space (e.g. C=36 layers=20 auxiliary=True input_size=224), "
                        "merged over the recipe's")
    g.add_argument("--init-channels", type=int, default=None, help="shortcut for the space's channel keyword (C)")
    g.add_argument("--layers", type=int, default=None, help="shortcut for the space's depth keyword (N or layers)")
    g.add_argument("--aux-weight", type=float, default=0.0,
                   help="weight of the auxiliary head's loss (0.4 in DARTS; needs a network built with one)")
    g.add_argument("--drop-path", type=float, default=0.0,
                   help="drop-path probability, ramped linearly from 0 over the epochs (DARTS; needs a network "
                        "with a drop_path_prob attribute)")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default=None, help=f"{', '.join(datasets.names())} (default: the recipe's)")
    d.add_argument("--data", default="data", help="dataset directory (CIFAR: torchvision layout or train/ test/ class "
                                                  "folders; ImageNet: train/ and val/ class folders)")
    d.add_argument("--download", action="store_true", help="download CIFAR through torchvision if absent")
    d.add_argument("--val-split", type=float, default=0.0,
                   help="fraction of every training class held out for validation; only then is a best "
                        "(on validation) checkpoint kept (default 0: none)")
    d.add_argument("--batch-size", type=int, default=64, help="images per step per process")
    d.add_argument("--eval-batch-size", type=int, default=None, help="images per evaluation step (default --batch-size)")
    d.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"data-loading processes per training process (default {DEFAULT_WORKERS}: the cores this "
                        "process may use, less one, at most 4)")
    d.add_argument("--cutout", type=int, default=0, help="side of the Cutout square, CIFAR only (0: off)")
    d.add_argument("--img-size", type=int, default=224, help="ImageNet crop size")
    d.add_argument("--color-jitter", type=float, nargs=4, default=None, metavar=("B", "C", "S", "H"),
                   help="ImageNet ColorJitter brightness, contrast, saturation, hue (default off)")
    d.add_argument("--synthetic-n", type=int, default=10000, help="images per split of synthetic-cifar10")
    o = p.add_argument_group("optimizer (timm create_optimizer_v2)")
    o.add_argument("--opt", default="momentum",
                   help="timm optimizer name: momentum (SGD), sgd (SGD with Nesterov), adamw, ...")
    o.add_argument("--lr", type=float, default=None,
                   help="learning rate, used as is (default: from --lr-base and the global batch)")
    o.add_argument("--lr-base", type=float, default=0.025,
                   help="learning rate for a global batch of --lr-base-size images; used when --lr is not given")
    o.add_argument("--lr-base-size", type=int, default=None,
                   help="global batch --lr-base is for: lr = lr_base x global batch / this (linear scaling rule); "
                        "default: lr = lr_base at any batch")
    o.add_argument("--momentum", type=float, default=0.9)
    o.add_argument("--weight-decay", type=float, default=3e-4)
    o.add_argument("--filter-bias-and-bn", action=argparse.BooleanOptionalAction, default=False,
                   help="exempt BN parameters and biases from weight decay")
    o.add_argument("--clip-grad", type=float, default=None, help="clip the gradient norm to this value")
    o.add_argument("--smoothing", type=float, default=0.0, help="label smoothing (timm LabelSmoothingCrossEntropy)")
    s = p.add_argument_group("schedule (timm create_scheduler_v2)")
    s.add_argument("--epochs", type=int, default=100)
    s.add_argument("--sched", default="cosine", choices=SCHEDULERS)
    s.add_argument("--min-lr", type=float, default=0.0)
    s.add_argument("--warmup-epochs", type=int, default=0)
    s.add_argument("--warmup-lr", type=float, default=1e-5)
    s.add_argument("--decay-epochs", type=float, default=30, help="step schedule: epochs between decays")
    s.add_argument("--decay-rate", type=float, default=0.1, help="step schedule: lr factor per decay")
    s.add_argument("--sched-on-updates", action=argparse.BooleanOptionalAction, default=False,
                   help="advance the schedule every optimizer step instead of every epoch")
    e = p.add_argument_group("weight EMA (timm ModelEmaV3)")
    e.add_argument("--model-ema", action=argparse.BooleanOptionalAction, default=False)
    e.add_argument("--model-ema-decay", type=float, default=0.9998)
    r = p.add_argument_group("run")
    r.add_argument("--output", default="runs/train", help="parent folder of run dirs")
    r.add_argument("--experiment", default=None, help="run dir name (default <space>-<dataset>-<time>)")
    r.add_argument("--resume", default=None, metavar="PATH",
                   help="continue from a checkpoint file or a run dir (its checkpoint/last.pth.tar)")
    r.add_argument("--force", action="store_true", help="start over in a run dir that already holds a run")
    r.add_argument("--checkpoint-hist", type=int, default=10, help="epoch checkpoints kept")
    r.add_argument("--eval-interval", type=int, default=1, help="evaluate every N epochs (and always after the last)")
    SEED.add_to(r)
    r.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    r.add_argument("--amp", action="store_true", help="mixed precision: autocast to --amp-dtype (float16 on CUDA only; "
                                                      "bfloat16 on CUDA or the CPU, where oneDNN uses AMX)")
    r.add_argument("--amp-dtype", default="float16", choices=("float16", "bfloat16"))
    r.add_argument("--channels-last", action="store_true", help="channels-last memory format (CUDA or CPU)")
    r.add_argument("--sync-bn", action="store_true", help="synchronised BatchNorm across processes (CUDA only)")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="tqdm bar per epoch")
    return p


def resolve(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, dict[str, Any] | None]:
    """The run's resolved flags and, with --resume, the loaded checkpoint. Raises one-line user errors."""
    parser = build_parser()
    return resolve_given(parser, config.explicit(parser, argv))


def resolve_given(parser: argparse.ArgumentParser, explicit: dict[str, Any]
                  ) -> tuple[argparse.Namespace, dict[str, Any] | None]:
    """`resolve` for settings already checked by the flags' own types (the command line's or keywords')."""
    defaults = {a.dest: a.default for a in parser._actions if a.dest != "help"}
    config_path = explicit.get("config")
    from_file = (config.layer(parser, config.load_yaml(config_path, f"--config {config_path}"), f"--config {config_path}")
                 if config_path else {})

    ckpt = None
    if explicit.get("resume") or from_file.get("resume"):
        path = checkpoint.find(explicit.get("resume") or from_file["resume"])
        ckpt = checkpoint.load(path)
        stored = {k: v for k, v in ckpt["config"].items() if k in defaults and k not in NOT_INHERITED}
        base = merge(defaults, stored)
        if "output" not in explicit and "experiment" not in explicit:
            run_dir = _run_dir_of(path, stored)
            base.update(output=str(run_dir.parent), experiment=run_dir.name)
        values = merge(base, from_file, explicit, {"resume": str(path), "recipe": ckpt["config"].get("recipe")})
    else:
        early = merge(defaults, from_file, explicit)
        if not early["genotype"]:
            raise UsageError("--genotype is required (a search run dir, genotype.json or the genotype text), "
                             "or --resume PATH")
        space, _ = genotype_source.load(early["genotype"], early["space"])
        recipe_name = early["recipe"]
        if recipe_name == "auto":
            recipe_name = recipes.auto(space, early["dataset"]) or "none"
        recipe = {} if recipe_name == "none" else config.layer(parser, recipes.load(recipe_name), f"recipe {recipe_name}")
        if recipe.get("space") not in (None, space):
            if recipe["space"] not in spaces.names():
                raise UsageError(f"recipe {recipe_name} is for the {recipe['space']} space, which is not available "
                                 f"here (registered spaces: {', '.join(spaces.names())})")
            raise UsageError(f"recipe {recipe_name} is for the {recipe['space']} space but the genotype is {space}")
        values = merge(defaults, recipe, from_file, explicit, {"recipe": recipe_name})
    args = argparse.Namespace(**values)
    _finish(args)
    return args, ckpt


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers override earlier ones; model_kwargs are merged key by key."""
    return config.merge(*layers, dicts=("model_kwargs",))


def _run_dir_of(path: Path, stored: dict[str, Any]) -> Path:
    """Where a resumed run continues: the run dir holding the checkpoint, else the one it was started in."""
    if path.parent.name == "checkpoint" and (path.parent.parent / "args.yaml").is_file():
        return path.parent.parent
    return Path(stored["output"]) / stored["experiment"]


def _finish(args: argparse.Namespace) -> None:
    """Resolve the genotype and space, fold size shortcuts into model_kwargs, check every value."""
    space, genotype = genotype_source.load(args.genotype, args.space)
    args.space, args.genotype = space, str(genotype)
    try:
        size = spaces.get(space).size_kwargs(args.init_channels, args.layers)
        args.model_kwargs = {**args.model_kwargs, **size}
        spaces.get(space).check_size(**args.model_kwargs)  # C=0 or an absurd width: refused before any allocation
    except ValueError as e:
        raise UsageError(str(e)) from None
    args.init_channels = args.layers = None
    if args.dataset is None:
        raise UsageError(f"--dataset is required (no recipe gives one); choose from: {', '.join(datasets.names())}")
    if args.dataset not in datasets.names():
        raise UsageError(f"unknown dataset {args.dataset!r}; choose from: {', '.join(datasets.names())}")
    for flag in ("batch_size", "epochs", "checkpoint_hist", "eval_interval", "synthetic_n"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    for flag in ("lr", "lr_base", "lr_base_size"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}")
    for flag, low, high in (("val_split", 0, 1), ("drop_path", 0, 1), ("smoothing", 0, 1)):
        if not low <= getattr(args, flag) < high:
            raise UsageError(f"--{flag.replace('_', '-')} must be in [{low}, {high}), got {getattr(args, flag)}")
    if args.aux_weight < 0:
        raise UsageError(f"--aux-weight must be >= 0, got {args.aux_weight}")
    import timm.optim  # timm loads when a run is checked, not for --help

    if args.opt.lower() not in timm.optim.list_optimizers():
        raise UsageError(f"unknown optimizer {args.opt!r}; timm's include momentum, sgd, adamw, rmsproptf, lamb")
    try:
        device = devices.resolve(args.device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.sync_bn and device.type != "cuda":
        raise UsageError(f"--sync-bn needs a CUDA device, this run is on {device.type}")
    if args.amp and args.amp_dtype == "float16" and device.type != "cuda":
        raise UsageError(f"--amp with --amp-dtype float16 needs a CUDA device, this run is on {device.type} "
                         "(on the CPU: --amp --amp-dtype bfloat16)")
    if args.experiment is None:
        args.experiment = f"{space}-{args.dataset}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    run_dir = Path(args.output) / args.experiment
    if args.resume is None and not args.force and run_dir.is_dir():
        found = [a for a in (*ARTIFACTS, "args.yaml", "results.json") if (run_dir / a).exists()]
        if found:
            raise RunDirExistsError(f"run dir {run_dir} already holds a run ({', '.join(found)}); pass --force to "
                                    "start over, --resume to continue it, or --experiment to choose another")


USER_ERRORS = (UsageError, UnknownNameError, DataNotFoundError, RunDirExistsError, RunDirError, FileNotFoundError,
               genotype_source.GenotypeError, AuxiliaryMismatchError)


@dataclass
class TrainResult:
    """What a final training wrote to results.json (final test accuracy, parameters, FLOPs, wall time;
    `results`) and its run dir."""
    results: dict[str, Any]
    run_dir: Path


def train(settings: dict[str, Any], origin: str = "ptnas.train") -> TrainResult:
    """`ptnas.train(**settings)`: ptnas-train's flags as keywords (`genotype="runs/x"`, `epochs=600`),
    checked as the command line checks them; `config` names a YAML file over the recipe. Raises UsageError
    (a ValueError) in one line; on KeyboardInterrupt the checkpoints are kept (continue with resume=PATH)."""
    from ptnas.train_final import trainer  # heavy imports after setting errors are out of the way

    parser = build_parser()
    given = dict(settings)
    config_path = given.pop("config", None)
    try:
        explicit = config.layer(parser, given, "")
        if config_path is not None:
            explicit["config"] = str(config_path)
        args, ckpt = resolve_given(parser, explicit)
    except (*USER_ERRORS, ValueError) as e:
        raise UsageError(" ".join(str(e).split())) from None
    command = f"{origin}({', '.join(f'{k}={v!r}' for k, v in settings.items())})"
    try:
        results = trainer.train(args, ckpt, command=command)
    except USER_ERRORS as e:
        raise UsageError(" ".join(str(e).split())) from None
    return TrainResult(results, Path(args.output) / args.experiment)
