"""`python search.py` / `ptnas-search` / `python -m ptnas.cli.search`: one perturbation-based search.

Two families of selectors, each built from its own flags:
  zero-cost (zc-pt, zc-disc): an untrained supernet scored by a proxy, then a validation stage;
  trained (darts-alpha, darts-pt): a supernet trained by bilevel DARTS first (or loaded with
    --supernet CKPT), then α (darts-alpha) or validation accuracy (darts-pt) decides.

Examples (the papers' NB201 settings, on CIFAR-10 images in DIR):
    python search.py --space nb201 --selector zc-pt --order global-op-iter --proxy nwot \
        --proposals 10 --valid-batches 100 --batch-size 256 --dataset cifar10 --data DIR
    python search.py --space nb201 --selector darts-pt --order random --epochs 100 --dataset cifar10 --data DIR
    python search.py --space nb201 --selector darts-alpha --supernet runs/x/checkpoint/supernet.pt ...
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import platform
import random
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ptnas import __version__, data, device as devices, evaluators, jsonio, proxies, selectors, spaces
from ptnas.cli.config import OneLineParser, UsageError, fail, parse, saved_flags
from ptnas.data import DataNotFoundError
from ptnas.event_files import summary_writer
from ptnas.registry import UnknownNameError
from ptnas.rundir import RunDir, RunDirExistsError
from ptnas.search_log import SearchLog
from ptnas.selectors import orders
from ptnas.selectors.base import Selector
from ptnas.supernet import checkpoint, training
from ptnas.supernet.checkpoint import CheckpointError
from ptnas.supernet.training import BilevelConfig, BilevelTrainer

PROG = "search.py"
CHECKPOINT = "checkpoint/supernet.pt"
# Supernet training epochs when --epochs is not given: DARTS-PT's 100 on NB201, DARTS's 50 elsewhere.
TRAIN_EPOCHS = {"nb201": 100}
DEFAULT_TRAIN_EPOCHS = 50
# Flags that only the trained-supernet selectors read (their defaults are None/False, so a use is visible).
TRAINED_ONLY = ("epochs", "supernet", "resume", "fix_alpha", "second_order", "steps_per_epoch", "eval_batches")
# What must match between a checkpoint and the run that resumes it or loads it.
RESUME_KEYS = ("space", "size", "options", "num_classes", "dataset", "data", "batch_size", "train_portion",
               "steps_per_epoch", "eval_batches")
SUPERNET_KEYS = ("space", "size", "options", "num_classes")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Perturbation-based architecture selection on a supernet.")
    s = p.add_argument_group("search")
    s.add_argument("--space", default="nb201", help=f"search space: {', '.join(spaces.names())} (default nb201)")
    s.add_argument("--selector", default="zc-pt", help=f"selection policy: {', '.join(selectors.names())} (default zc-pt)")
    s.add_argument("--order", default="global-op-iter", help=f"edge order: {', '.join(orders.names())} (default global-op-iter)")
    s.add_argument("--proposals", type=int, default=None,
                   help="N, proposal rounds (default 10 for zc-pt/zc-disc, 1 for darts-alpha/darts-pt)")
    s.add_argument("--seed", type=int, default=0, help="seed of weights, data order and edge orders (default 0)")
    z = p.add_argument_group("zero-cost selectors (zc-pt, zc-disc)")
    z.add_argument("--proxy", default="nwot", help=f"zero-cost proxy S: {', '.join(proxies.names())} (default nwot)")
    z.add_argument("--valid-batches", type=int, default=100, help="V, minibatches of the validation stage (default 100)")
    z.add_argument("--bn-mode", default="eval", choices=proxies.BN_MODES,
                   help="BatchNorm mode while a data-dependent proxy scores: eval (default; the untrained "
                        "supernet's BN is then ~identity, as in the ZC-PT reference code) or train (batch statistics)")
    t = p.add_argument_group("supernet training, bilevel DARTS (darts-alpha, darts-pt)")
    t.add_argument("--epochs", type=int, default=None,
                   help=f"training epochs (default {TRAIN_EPOCHS['nb201']} on nb201, {DEFAULT_TRAIN_EPOCHS} elsewhere)")
    t.add_argument("--supernet", default=None, metavar="CKPT",
                   help="start from this trained supernet (the checkpoint/supernet.pt of an earlier run) instead of training")
    t.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out from its last epoch checkpoint, with its saved settings")
    t.add_argument("--second-order", action="store_true", help="second-order (unrolled) α gradient (default first order)")
    t.add_argument("--fix-alpha", action="store_true",
                   help="α stays at its random initialisation in training and fine-tuning (DARTS-PT's fix-α variant)")
    t.add_argument("--steps-per-epoch", type=int, default=None, help="cap on the steps of an epoch (default: one pass over the training half)")
    t.add_argument("--lr", type=float, default=0.025, help="weights: SGD learning rate, cosine-annealed (default 0.025)")
    t.add_argument("--lr-min", type=float, default=0.001, help="weights: final learning rate of the cosine (default 0.001)")
    t.add_argument("--momentum", type=float, default=0.9, help="weights: SGD momentum (default 0.9)")
    t.add_argument("--weight-decay", type=float, default=3e-4, help="weights: weight decay (default 3e-4)")
    t.add_argument("--grad-clip", type=float, default=5.0, help="weights: gradient-norm clip (default 5)")
    t.add_argument("--arch-lr", type=float, default=3e-4, help="α: Adam learning rate (default 3e-4, betas 0.5, 0.999)")
    t.add_argument("--arch-weight-decay", type=float, default=1e-3, help="α: Adam weight decay (default 1e-3)")
    t.add_argument("--eval-batches", type=int, default=None,
                   help="validation-split batches per accuracy measurement: each epoch's valid metrics and DARTS-PT's V "
                        "(default: the whole split)")
    d = p.add_argument_group("DARTS-PT (darts-pt)")
    d.add_argument("--criterion", default="acc", choices=("acc", "loss"),
                   help="V: supernet accuracy (the op whose removal costs most accuracy stays) or loss (default acc)")
    d.add_argument("--tune-epochs", type=int, default=5, help="fine-tuning epochs between decisions (default 5)")
    d.add_argument("--tune-lr", type=float, default=0.0025, help="constant weight learning rate of the fine-tuning (default 0.0025)")
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="synthetic-cifar10", help=f"{', '.join(data.names())} (default synthetic-cifar10, needs no files)")
    g.add_argument("--data", default="data", help="dataset directory: torchvision layout or train/ and test/ class folders (default ./data)")
    g.add_argument("--download", action="store_true", help="download CIFAR through torchvision if absent")
    g.add_argument("--batch-size", type=int, default=64, help="minibatch size of every scoring pass and training step (default 64; ZC-PT uses 256 on NB201)")
    g.add_argument("--train-portion", type=float, default=0.5,
                   help="fraction of the training set searched on; bilevel training puts the weights on it and α on the rest (default 0.5)")
    g.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0)")
    n = p.add_argument_group("supernet (per space: see README)")
    n.add_argument("--init-channels", type=int, default=None, help=_size_help("init_channels"))
    n.add_argument("--layers", type=int, default=None, help=_size_help("layers"))
    n.add_argument("--include-none", action="store_true",
                   help="darts: add the `none` op to every edge (off by default, as in DARTS-PT and Zero-Cost-PT)")
    n.add_argument("--op-set", default=None,
                   help="darts: a RobustDARTS op set s1, s2, s3 or s4 instead of the DARTS primitives")
    n.add_argument("--no-prefix-cache", action="store_true",
                   help="mobilenet, macro: recompute every block on every forward instead of reusing the unchanged prefix")
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="run directory (default runs/<space>-<selector>-<order>-seed<seed>-<time>)")
    r.add_argument("--force", action="store_true", help="overwrite the run files in an existing --out")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    r.add_argument("--config", default=None, help="YAML file of flag defaults; command-line flags override it")
    r.add_argument("--table", default=None,
                   help="benchmark table to report the found genotype's ground truth: nb201, NAS-Bench-201 CSV "
                        "(test accuracy); macro, NAS-Bench-Macro JSON (mean test accuracy, rank, params, FLOPs)")
    return p


def _size_help(flag: str) -> str:
    """`space: meaning` for every space that has the size flag."""
    return "; ".join(f"{name}: {spaces.get(name).size_flags[flag][1]}"
                     for name in spaces.names() if flag in spaces.get(name).size_flags)


def _supernet_options(args: argparse.Namespace, space) -> dict:
    """The option flags that were given, as `supernet()` keywords; each must apply to the space."""
    given = {"include_none": args.include_none or None, "op_set": args.op_set,
             "prefix_cache": False if args.no_prefix_cache else None}
    options = {k: v for k, v in given.items() if v is not None}
    for key in options:
        if key not in space.supernet_options:
            flag = {"prefix_cache": "no_prefix_cache"}.get(key, key).replace("_", "-")
            users = [n for n in spaces.names() if key in spaces.get(n).supernet_options]
            raise UsageError(f"--{flag} applies to the {' and '.join(users)} space{'s' if len(users) > 1 else ''}, "
                             f"not {args.space}")
    return options


def trains_supernet(selector: str) -> bool:
    """Whether a selector decides on a trained supernet (its flags are the training group's)."""
    return bool(getattr(selectors.get(selector), "trains_supernet", False))


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Flags over --config over, with --resume, the settings saved in the run's config.yaml."""
    args = parse(parser, argv)
    stored = Path(args.out) / "config.yaml" if args.resume and args.out else None
    if stored is not None and stored.is_file():
        parser.set_defaults(**saved_flags(parser, stored, exclude=("resume", "force", "out")))
        args = parse(parser, argv)
    return args


def _check_args(args: argparse.Namespace) -> None:
    """Names, ranges and flag combinations; raises UsageError (or UnknownNameError) with one line."""
    spaces.get(args.space)
    selectors.get(args.selector)
    orders.get(args.order)
    proxies.get(args.proxy)
    data.num_classes(args.dataset)
    trained = trains_supernet(args.selector)
    for flag in ("valid_batches", "batch_size"):
        _at_least(args, flag, 1)
    for flag, low in (("proposals", 1), ("epochs", 0), ("steps_per_epoch", 1), ("eval_batches", 1), ("tune_epochs", 0)):
        if getattr(args, flag) is not None:
            _at_least(args, flag, low)
    if not trained:
        used = [f for f in TRAINED_ONLY if getattr(args, f) not in (None, False)]
        if used:
            raise UsageError(f"--{used[0].replace('_', '-')} applies to the selectors that train a supernet "
                             f"(darts-alpha, darts-pt), not {args.selector}")
    else:
        if args.supernet is not None and args.resume:
            raise UsageError("--resume continues training in --out, --supernet skips training: pass one of them")
        if args.supernet is not None and args.epochs is not None:
            raise UsageError("--epochs trains a supernet, --supernet loads a trained one: pass one of them")
        if args.resume and args.out is None:
            raise UsageError("--resume needs --out RUN_DIR, the run to continue")
        if args.resume and args.force:
            raise UsageError("--resume keeps the run in --out, --force deletes it: pass one of them")
        if args.fix_alpha and args.selector == "darts-alpha":
            raise UsageError("--fix-alpha leaves α at its random initialisation, so darts-alpha would pick by noise; "
                             "use it with darts-pt")
        if not 0 < args.train_portion < 1:
            raise UsageError(f"--train-portion must be in (0, 1) for bilevel training (weights on it, α on the rest), "
                             f"got {args.train_portion}")
    if args.table is not None:
        if args.space not in evaluators.table_spaces():
            raise UsageError(f"--table works with --space {' or '.join(evaluators.table_spaces())}, not {args.space}")
        if not Path(args.table).is_file():
            raise UsageError(f"--table {args.table}: no such file")


def _at_least(args: argparse.Namespace, flag: str, low: int) -> None:
    if getattr(args, flag) < low:
        raise UsageError(f"--{flag.replace('_', '-')} must be at least {low}, got {getattr(args, flag)}")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, argv)
        _check_args(args)
        trained = trains_supernet(args.selector)
        if args.proposals is None:
            args.proposals = 1 if trained else 10
        if trained and args.epochs is None and args.supernet is None:
            args.epochs = TRAIN_EPOCHS.get(args.space, DEFAULT_TRAIN_EPOCHS)
        device = devices.resolve(args.device)
        space = spaces.get(args.space)
        size = space.size_kwargs(args.init_channels, args.layers)
        options = _supernet_options(args, space)
        num_classes = data.num_classes(args.dataset)
        _seed_everything(args.seed)
        net = space.supernet(num_classes=num_classes, **size, **options).to(device)
        table = evaluators.table(args.space, args.table) if args.table else None
        supernet_state = checkpoint.load(args.supernet) if args.supernet else None
        out = Path(args.out or (f"runs/{args.space}-{args.selector}-{args.order}-seed{args.seed}-"
                                f"{datetime.datetime.now():%Y%m%d-%H%M%S}"))
        meta = {"space": args.space, "size": {**space.search_size, **size}, "options": options, "num_classes": num_classes,
                "dataset": args.dataset, "data": str(args.data), "batch_size": args.batch_size,
                "train_portion": args.train_portion, "steps_per_epoch": args.steps_per_epoch,
                "eval_batches": args.eval_batches}
        resume_state = _resumable(args, out, meta) if args.resume else None
        if supernet_state is not None:
            _check_supernet(args, supernet_state, meta)
        if trained:
            splits = data.search_splits(args.dataset, args.data, args.train_portion, args.download)
            sources = tuple(data.BatchSource(s, args.batch_size, device, args.workers) for s in splits)
        else:
            pool = data.search_dataset(args.dataset, args.data, args.train_portion, args.download)
            sources = (data.BatchSource(pool, args.batch_size, device, args.workers),)
        run = RunDir(out, force=args.force, resume=args.resume)
    except (UsageError, UnknownNameError, DataNotFoundError, RunDirExistsError, CheckpointError, ValueError) as e:
        fail(PROG, str(e))

    config = {k: v for k, v in vars(args).items() if k != "config"}
    config.update(out=str(run.path), device=str(device), num_classes=num_classes, supernet_size=meta["size"],
                  ptnas_version=__version__, torch_version=str(torch.__version__), python=platform.python_version(),
                  command=" ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    run.write_yaml("config.yaml", config)

    supernet_summary = None
    try:
        if trained:
            state = supernet_state or _train(args, net, sources, run, meta, resume_state)
            if supernet_state is not None:
                net.load_state_dict(supernet_state["net"])
            policy = _trained_policy(args, net, sources, state)
            supernet_summary = {"checkpoint": str(args.supernet or run.path / CHECKPOINT),
                                "epochs_trained": state["epoch"], "history": state["history"]}
        else:
            policy = _zero_cost_policy(args, sources[0], device, run)
    except KeyboardInterrupt:
        print(f"interrupted; the last finished epoch is in {run.path / CHECKPOINT}: continue with "
              f"--resume --out {run.path}", file=sys.stderr)
        return 130
    except DataNotFoundError as e:  # a corrupt image is only found when it is read
        fail(PROG, str(e))

    log = SearchLog(run.path)
    try:
        result = selectors.search(
            net, policy, orders.get(args.order), args.proposals,
            build=lambda g: space.network(g, num_classes=num_classes, **meta["size"]),
            seed=args.seed, log=log, progress=True)
    except KeyboardInterrupt:
        print(f"interrupted; every score so far is in {run.path / 'scores.jsonl'}", file=sys.stderr)
        return 130
    except DataNotFoundError as e:
        fail(PROG, str(e))
    finally:
        log.close()

    summary: dict[str, Any] = {
        "space": args.space,
        "genotype": str(result.genotype),
        "selector": args.selector, "order": args.order, "seed": args.seed,
        "candidates": [{"genotype": str(c.genotype), "validation_score": c.score, "proposals": c.proposals}
                       for c in result.candidates],
    }
    if trained:
        summary["supernet"] = supernet_summary
    else:
        summary["proxy"] = args.proxy
    if table is not None:
        summary["benchmark"] = {"table": str(args.table), **table.report(result.genotype)}
    run.write_json("genotype.json", summary)
    run.write_text("genotype.txt", str(result.genotype) + "\n")

    print(f"genotype: {result.genotype}")
    if table is not None:
        print(table.describe(result.genotype))
    print(f"run dir: {run.path}")
    return 0


def _resumable(args: argparse.Namespace, out: Path, meta: dict) -> dict:
    """The checkpoint --resume continues, checked in full before the run dir is touched."""
    if not (out / CHECKPOINT).is_file():
        raise UsageError(f"--resume: {out} holds no {CHECKPOINT} to resume from; pass the --out of a "
                         "darts-alpha or darts-pt run that finished at least one epoch")
    state = checkpoint.load(out / CHECKPOINT)
    _require_same(state, meta, RESUME_KEYS, f"--resume: {out / CHECKPOINT}")
    problem = training.mismatch(state, _bilevel_config(args), args.epochs, args.seed)
    if problem:
        raise UsageError(f"--resume: {problem}")
    return state


def _check_supernet(args: argparse.Namespace, state: dict, meta: dict) -> None:
    """A --supernet checkpoint must fit this supernet (space, size, classes) and the --fix-alpha choice."""
    _require_same(state, meta, SUPERNET_KEYS, f"--supernet {args.supernet}")
    if bool(state["config"]["fix_alpha"]) != args.fix_alpha:
        raise UsageError(f"--supernet {args.supernet} was trained {'without' if args.fix_alpha else 'with'} "
                         "--fix-alpha; pass the same to use it")


def _require_same(state: dict, meta: dict, keys: Sequence[str], what: str) -> None:
    for k in keys:
        if state.get(k) != meta[k]:
            raise UsageError(f"{what} was made with {k} {state.get(k)!r}, this run has {meta[k]!r}; "
                             "use the same settings")


def _zero_cost_policy(args: argparse.Namespace, source: data.BatchSource, device: torch.device,
                      run: RunDir) -> Selector:
    """zc-pt / zc-disc: proxy scores on a stream of the search pool, V fixed batches for validation."""
    proxy = proxies.get(args.proxy)
    extra = {}
    if proxy.population:  # tenas, vote combine raw parts across each scoring pass: keep the parts
        parts = run.path / "parts.jsonl"
        parts.write_text("")

        def write_parts(record: dict) -> None:
            with open(parts, "a", encoding="utf-8") as f:
                f.write(jsonio.dumps(record) + "\n")

        extra["on_parts"] = write_parts
    return selectors.get(args.selector)(
        proxy, source.stream(args.seed), source.fixed(args.seed + 1, args.valid_batches),
        bn_mode=args.bn_mode, init_seed=args.seed, device=device, progress=True, **extra)


def _bilevel_config(args: argparse.Namespace) -> BilevelConfig:
    return BilevelConfig(lr=args.lr, lr_min=args.lr_min, momentum=args.momentum, weight_decay=args.weight_decay,
                         grad_clip=args.grad_clip, arch_lr=args.arch_lr, arch_weight_decay=args.arch_weight_decay,
                         second_order=args.second_order, fix_alpha=args.fix_alpha)


def _train(args: argparse.Namespace, net, sources, run: RunDir, meta: dict, resume_state: dict | None) -> dict:
    """Bilevel DARTS on the train/valid halves, checkpointed every epoch; returns the final state."""
    train, valid = sources
    trainer = BilevelTrainer(net, train, valid, _bilevel_config(args), epochs=args.epochs, seed=args.seed,
                             steps_per_epoch=args.steps_per_epoch, eval_batches=args.eval_batches, progress=True)
    if resume_state is not None:
        trainer.load_state_dict(resume_state)
        print(f"resuming after epoch {trainer.epoch} of {trainer.epochs}", file=sys.stderr)
    writer = summary_writer(run.path / "events" / "supernet",
                            purge_step=trainer.epoch + 1 if resume_state is not None else None)
    try:
        trainer.fit(run.path / CHECKPOINT, writer=writer, meta=meta)
        if args.epochs == 0:  # nothing trained, but --supernet may still want this supernet
            checkpoint.save(run.path / CHECKPOINT, {**meta, **trainer.state_dict()})
    finally:
        writer.close()
    if trainer.history:
        last = trainer.history[-1]
        print(f"supernet: {trainer.epoch} epochs, valid accuracy {last['valid_accuracy']:.4f}, "
              f"checkpoint {run.path / CHECKPOINT}", file=sys.stderr)
    return {**meta, **trainer.state_dict()}


def _trained_policy(args: argparse.Namespace, net, sources, state: dict) -> Selector:
    """darts-alpha reads α; darts-pt measures V on the valid half and fine-tunes between decisions."""
    if args.selector == "darts-alpha":
        return selectors.DartsAlpha()
    train, valid = sources
    tune = dataclasses.replace(_bilevel_config(args), lr=args.tune_lr, lr_min=args.tune_lr)
    tuner = BilevelTrainer(net, train, valid, tune, epochs=None, seed=args.seed, steps_per_epoch=args.steps_per_epoch,
                           eval_batches=0, phase=1)
    if tuner.architect is not None and state.get("arch_optimizer") is not None:
        tuner.architect.load_state_dict(state["arch_optimizer"])  # α's Adam goes on; the weights' SGD is reset
    return selectors.DartsPT(valid, args.eval_batches, args.criterion, tuner, args.tune_epochs, seed=args.seed,
                             progress=True)


if __name__ == "__main__":
    sys.exit(main())
