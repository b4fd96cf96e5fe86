"""`python search.py` / `ptnas-search` / `python -m ptnas.cli.search`: one perturbation-based search.

Example (the paper's NB201 setting, on CIFAR-10 images in DIR):
    python search.py --space nb201 --selector zc-pt --order global-op-iter --proxy nwot \
        --proposals 10 --valid-batches 100 --batch-size 256 --dataset cifar10 --data DIR
"""
from __future__ import annotations

import argparse
import datetime
import platform
import random
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ptnas import __version__, data, device as devices, proxies, selectors, spaces
from ptnas.cli.config import OneLineParser, UsageError, fail, parse
from ptnas.data import DataNotFoundError
from ptnas.evaluators.nb201_table import NB201Table
from ptnas.registry import UnknownNameError
from ptnas.rundir import RunDir, RunDirExistsError
from ptnas.search_log import SearchLog
from ptnas.selectors import orders

PROG = "search.py"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Perturbation-based architecture selection on a supernet.")
    s = p.add_argument_group("search")
    s.add_argument("--space", default="nb201", help=f"search space: {', '.join(spaces.names())} (default nb201)")
    s.add_argument("--selector", default="zc-pt", help=f"selection policy: {', '.join(selectors.names())} (default zc-pt)")
    s.add_argument("--order", default="global-op-iter", help=f"edge order: {', '.join(orders.names())} (default global-op-iter)")
    s.add_argument("--proxy", default="nwot", help=f"zero-cost proxy S: {', '.join(proxies.names())} (default nwot)")
    s.add_argument("--proposals", type=int, default=10, help="N, proposal rounds (default 10)")
    s.add_argument("--valid-batches", type=int, default=100, help="V, minibatches of the validation stage (default 100)")
    s.add_argument("--bn-mode", default="train", choices=proxies.BN_MODES,
                   help="BatchNorm mode while a data-dependent proxy scores (default train: batch statistics)")
    s.add_argument("--seed", type=int, default=0, help="seed of weights, data order and edge orders (default 0)")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="synthetic-cifar10", help=f"{', '.join(data.names())} (default synthetic-cifar10, needs no files)")
    d.add_argument("--data", default="data", help="dataset directory: torchvision layout or train/ and test/ class folders (default ./data)")
    d.add_argument("--download", action="store_true", help="download CIFAR through torchvision if absent")
    d.add_argument("--batch-size", type=int, default=64, help="minibatch size of every scoring pass (default 64; the paper uses 256 on NB201)")
    d.add_argument("--train-portion", type=float, default=0.5, help="fraction of the training set searched on (default 0.5)")
    d.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0)")
    n = p.add_argument_group("supernet (per space: see README)")
    n.add_argument("--init-channels", type=int, default=None, help=_size_help("init_channels"))
    n.add_argument("--layers", type=int, default=None, help=_size_help("layers"))
    n.add_argument("--include-none", action="store_true",
                   help="darts: add the `none` op to every edge (off by default, as in DARTS-PT and Zero-Cost-PT)")
    n.add_argument("--op-set", default=None,
                   help="darts: a RobustDARTS op set s1, s2, s3 or s4 instead of the DARTS primitives")
    n.add_argument("--no-prefix-cache", action="store_true",
                   help="mobilenet: recompute every block on every forward instead of reusing the unchanged prefix")
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="run directory (default runs/<space>-<selector>-<order>-seed<seed>-<time>)")
    r.add_argument("--force", action="store_true", help="overwrite the run files in an existing --out")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    r.add_argument("--config", default=None, help="YAML file of flag defaults; command-line flags override it")
    r.add_argument("--table", default=None, help="NAS-Bench-201 table (CSV) to report the found genotype's benchmark accuracy")
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
            raise UsageError(f"--{flag} applies to the {', '.join(users)} space, not {args.space}")
    return options


def _check_names(args: argparse.Namespace) -> None:
    spaces.get(args.space)
    selectors.get(args.selector)
    orders.get(args.order)
    proxies.get(args.proxy)
    data.num_classes(args.dataset)
    for flag in ("proposals", "valid_batches", "batch_size"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    if args.table is not None:
        if args.space != "nb201":
            raise UsageError(f"--table works with --space nb201, not {args.space}")
        if not Path(args.table).is_file():
            raise UsageError(f"--table {args.table}: no such file")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parse(parser, argv)
        _check_names(args)
        device = devices.resolve(args.device)
        space = spaces.get(args.space)
        size = space.size_kwargs(args.init_channels, args.layers)
        options = _supernet_options(args, space)
        proxy = proxies.get(args.proxy)
        num_classes = data.num_classes(args.dataset)
        _seed_everything(args.seed)
        net = space.supernet(num_classes=num_classes, **size, **options).to(device)
        pool = data.search_dataset(args.dataset, args.data, args.train_portion, args.download)
        source = data.BatchSource(pool, args.batch_size, device, args.workers)
        table = NB201Table(args.table) if args.table else None
        out = args.out or (f"runs/{args.space}-{args.selector}-{args.order}-seed{args.seed}-"
                           f"{datetime.datetime.now():%Y%m%d-%H%M%S}")
        run = RunDir(out, force=args.force)
    except (UsageError, UnknownNameError, DataNotFoundError, RunDirExistsError, ValueError) as e:
        fail(PROG, str(e))

    config = {k: v for k, v in vars(args).items() if k != "config"}
    config.update(out=str(run.path), device=str(device), num_classes=num_classes, supernet_size=size,
                  ptnas_version=__version__, torch_version=str(torch.__version__), python=platform.python_version(),
                  command=" ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    run.write_yaml("config.yaml", config)

    stream = source.stream(args.seed)
    policy = selectors.get(args.selector)(
        proxy, stream, lambda: source.take(args.seed + 1, args.valid_batches), bn_mode=args.bn_mode,
        init_seed=args.seed, device=device, progress=True)
    log = SearchLog(run.path)
    try:
        result = selectors.search(
            net, policy, orders.get(args.order), args.proposals,
            build=lambda g: space.network(g, num_classes=num_classes, **{**space.search_size, **size}),
            seed=args.seed, log=log,
            progress=True)
    except KeyboardInterrupt:
        print(f"interrupted; every score so far is in {run.path / 'scores.jsonl'}", file=sys.stderr)
        return 130
    finally:
        log.close()

    summary = {
        "space": args.space,
        "genotype": str(result.genotype),
        "selector": args.selector, "order": args.order, "proxy": args.proxy, "seed": args.seed,
        "candidates": [{"genotype": str(c.genotype), "validation_score": c.score, "proposals": c.proposals}
                       for c in result.candidates],
    }
    if table is not None:
        summary["benchmark"] = {"table": str(args.table), "test_accuracy": table.lookup(result.genotype)}
    run.write_json("genotype.json", summary)
    run.write_text("genotype.txt", str(result.genotype) + "\n")

    print(f"genotype: {result.genotype}")
    if table is not None:
        acc = summary["benchmark"]["test_accuracy"]
        print("NAS-Bench-201 test accuracy: " + ", ".join(f"{k} {v:.2f}%" for k, v in acc.items()))
    print(f"run dir: {run.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
