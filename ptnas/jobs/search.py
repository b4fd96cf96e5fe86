"""One architecture search, the job behind `search.py` and `ptnas.search(...)`.

Two families, one front door:
  --selector (default zc-pt): perturbation-based selection on a supernet. Zero-cost selectors score an
    untrained supernet with a proxy; trained selectors (darts-alpha, darts-pt) first train it by bilevel
    DARTS (or load it with --supernet CKPT). The unique candidates of the N proposals are then ranked by
    an evaluator (--evaluator, default zero-cost with the search's proxy and V).
  --strategy random|naswot|evolution|local: multi-trial search that evaluates whole architectures with
    the evaluator, optionally steered by a zero-cost proxy (warm-up, move proposal).
Both write the same run dir: config.yaml, scores.jsonl, events/, genotype.json and genotype.txt; a multi-trial
search also draws its scores against parameters, FLOPs and (with --latency-table) latency with their Pareto
front (pareto-*.png and the TensorBoard images pareto/*).
Under torchrun (`torchrun --nproc_per_node 8 search.py ...`, docs/distributed.md) the proposal rounds and the
evaluations are split over the ranks; rank 0 writes the run dir and every rank returns its genotype.

Examples (the papers' NB201 settings, on CIFAR-10 images in DIR):
    python search.py --space nb201 --selector zc-pt --order global-op-iter --proxy nwot \
        --proposals 10 --valid-batches 100 --batch-size 256 --dataset cifar10 --data DIR
    python search.py --space nb201 --selector darts-pt --order random --epochs 100 --dataset cifar10 --data DIR
    python search.py --space nb201 --strategy evolution --evaluator table --table nb201.csv --trials 50
"""
from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import os
import platform
import sys
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ptnas import __version__, data, evaluators, executors, jsonio, precision, proxies, selectors, spaces, strategies
from ptnas.jobs import keywords
from ptnas.runtime.config import OneLineParser, UsageError, load_yaml, saved_flags
from ptnas.data import DataNotFoundError
from ptnas.evaluators.distributed import RankFailed, Sharded
from ptnas.evaluators.limited import limited
from ptnas.event_files import summary_writer
from ptnas.registry import UnknownNameError
from ptnas.rundir import RunDir, RunDirExistsError
from ptnas.seeding import SEED, seed_everything
from ptnas.search_log import ReplayMismatchError, SearchLog
from ptnas.selectors import orders
from ptnas.selectors.base import SearchContext
from ptnas.spaces import limit
from ptnas.supernet import checkpoint
from ptnas.supernet.checkpoint import CheckpointError
from ptnas.supernet.training import BilevelConfig, BilevelTrainer
from ptnas.runtime.process import Process, broadcast, settle

PROG = "search.py"
CHECKPOINT = "checkpoint/supernet.pt"
# Settings of supernet selection as a whole (defaults None, resolved later), refused with a --strategy.
SELECTOR_ONLY = ("selector", "order", "proposals", "replicas")
# What must match between a checkpoint and the run that resumes it or loads it.
RESUME_KEYS = ("space", "size", "options", "num_classes", "dataset", "data", "batch_size", "train_portion",
               "steps_per_epoch", "eval_batches")
SUPERNET_KEYS = ("space", "size", "options", "num_classes")
# Settings a resumed run may change (they do not change what it computes).
RESUME_MAY_CHANGE = ("out", "resume", "force", "device", "workers", "config")
USER_ERRORS = (UsageError, UnknownNameError, DataNotFoundError, RunDirExistsError, CheckpointError, ValueError,
               KeyError)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Architecture search: perturbation-based selection on a supernet "
                                             "(--selector) or multi-trial search (--strategy).")
    s = p.add_argument_group("search")
    s.add_argument("--space", default="nb201", help=f"search space: {', '.join(spaces.names())} (default nb201)")
    s.add_argument("--selector", default=None,
                   help=f"selection policy on a supernet: {', '.join(selectors.names())} (default {selectors.DEFAULT})")
    s.add_argument("--order", default=None, help=f"edge order: {', '.join(orders.names())} (default {orders.DEFAULT})")
    s.add_argument("--proposals", type=int, default=None,
                   help="N, proposal rounds (default 10 for zero-cost selectors, 1 for those that train a supernet)")
    SEED.add_to(s)
    z = p.add_argument_group("zero-cost proxy (zero-cost selectors, the zero-cost evaluator, strategies' warm-up)")
    for setting in evaluators.ZeroCost.SETTINGS:  # declared once, by the zero-cost evaluator
        setting.add_to(z)
    added = {a.dest for a in p._actions}
    for name in selectors.names():  # each selector's own settings (its class's SETTINGS), each once
        chosen = selectors.get(name)
        own = [setting for setting in chosen.SETTINGS if setting.name not in added]
        if own:
            users = [n for n in selectors.names() if own[0].name in selectors.get(n).reads]
            group = p.add_argument_group(f"--selector {' and '.join(users)}")
            for setting in own:
                setting.add_to(group)
                added.add(setting.name)
    evaluators.add_flags(p)
    strategies.add_flags(p)
    executors.add_flags(p)
    c = p.add_argument_group("cost limit (every selector and strategy; docs/costs.md)")
    for setting in limit.SETTINGS:
        setting.add_to(c)
    g = p.add_argument_group("data")
    for setting in data.SETTINGS:  # declared once, by ptnas.data
        setting.add_to(g)
    n = p.add_argument_group("network size (per space: see docs/spaces.md)")
    n.add_argument("--init-channels", type=int, default=None, help=_size_help("init_channels"))
    n.add_argument("--layers", type=int, default=None, help=_size_help("layers"))
    n.add_argument("--include-none", action="store_true",
                   help="darts: add the `none` op to every edge (off by default, as in DARTS-PT and Zero-Cost-PT)")
    n.add_argument("--op-set", default=None,
                   help="darts: a RobustDARTS op set s1, s2, s3 or s4 instead of the DARTS primitives")
    n.add_argument("--no-prefix-cache", action="store_true",
                   help="mobilenet, macro: recompute every block on every forward instead of reusing the unchanged prefix")
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="run directory (default runs/<space>-<selector or strategy>-seed<seed>-<time>)")
    r.add_argument("--force", action="store_true", help="overwrite the run files in an existing --out")
    r.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out with its saved settings: a supernet's training from its "
                        "last epoch, a search from the scores its scores.jsonl already holds")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    r.add_argument("--config", default=None, help="YAML file of flag defaults; command-line flags override it")
    r.add_argument("--table", default=None,
                   help="benchmark table: reports the found genotype's ground truth, and is what --evaluator table "
                        "looks up: nb201, NAS-Bench-201 CSV; macro, NAS-Bench-Macro JSON")
    return p


def _size_help(flag: str) -> str:
    """`space: meaning` for every space that has the size flag."""
    return "; ".join(f"{name}: {spaces.get(name).size_flags[flag][1]}"
                     for name in spaces.names() if flag in spaces.get(name).size_flags)


# ---- settings ----------------------------------------------------------------------------------------
def _check_args(args: argparse.Namespace) -> None:
    """Names, ranges and flag combinations; raises UsageError (or UnknownNameError) with one line."""
    spaces.get(args.space)
    proxy = proxies.get(args.proxy)
    precision.check_proxy(proxy, args.precision)
    data.num_classes(args.dataset)
    evaluators.get(args.evaluator)
    strategies.check_flags(args)
    limit.check_settings(args.max_latency, args.latency_table)
    if args.latency_table is not None and args.max_latency is None and args.strategy is None:
        raise UsageError("--latency-table applies to --max-latency and to the Pareto pictures of a --strategy search; "
                         f"{args.selector or selectors.DEFAULT} alone does not read it")
    multi_trial = args.strategy is not None
    if multi_trial:
        strategies.get(args.strategy)
        executors.check_flags(args)
        given = [f for f in SELECTOR_ONLY if f in args.given]  # also at a default value (--replicas 0)
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} applies to supernet selection (--selector), not to "
                             f"--strategy {args.strategy}")
    else:
        given = [f for f in executors.setting_names() if f in args.given]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} applies to multi-trial search (--strategy), not to "
                             f"--selector {args.selector or selectors.DEFAULT}")
        selectors.get(args.selector or selectors.DEFAULT)
        orders.get(args.order or orders.DEFAULT)
    trained = not multi_trial and selectors.get(args.selector or selectors.DEFAULT).trains_supernet
    if args.proposals is not None:
        _at_least(args, "proposals", 1)
    _refuse_unread_selector_settings(args)
    if trained:
        if args.supernet is not None and args.resume:
            raise UsageError("--resume continues training in --out, --supernet skips training: pass one of them")
        if args.supernet is not None and args.epochs is not None:
            raise UsageError("--epochs trains a supernet, --supernet loads a trained one: pass one of them")
        selectors.get(args.selector).check_args(args)
        if not 0 < args.train_portion < 1:
            raise UsageError(f"--train-portion must be in (0, 1) for bilevel training (weights on it, α on the rest), "
                             f"got {args.train_portion}")
    if args.resume and args.force:
        raise UsageError("--resume keeps the run in --out, --force deletes it: pass one of them")
    if args.table is not None:
        if args.space not in evaluators.table_spaces():
            raise UsageError(f"--table works with --space {' or '.join(evaluators.table_spaces())}, not {args.space}")
        if not Path(args.table).is_file():
            raise UsageError(f"--table {args.table}: no such file")
    if multi_trial:
        _refuse_unread_multi_trial_settings(args)
    if args.proxy_cache is not None and not Path(args.proxy_cache).is_file():
        raise UsageError(f"--proxy-cache {args.proxy_cache}: no such file")


def _refuse_unread_selector_settings(args: argparse.Namespace) -> None:
    """A selector's own setting given to a search whose selector (or strategy) does not read it: one line."""
    chosen = selectors.get(args.selector or selectors.DEFAULT) if args.strategy is None else None
    for key in args.given:
        users = [n for n in selectors.names() if key in selectors.get(n).reads]
        if users and (chosen is None or key not in chosen.reads):
            where = f"--strategy {args.strategy}" if chosen is None else args.selector or selectors.DEFAULT
            raise UsageError(f"--{key.replace('_', '-')} applies to --selector {' or '.join(users)}, not {where}")


PROXY_SETTINGS = ("proxy", "bn_mode", "precision")  # read wherever a zero-cost proxy runs
STEERING = ("proxy_batches", "proxy_cache")  # read by a strategy that a proxy steers


def _refuse_unread_multi_trial_settings(args: argparse.Namespace) -> None:
    """Evaluator settings given to a strategy that evaluates nothing (naswot), and proxy settings given
    where no proxy runs (no zero-cost evaluator, no warm-up or move proposal): one line."""
    strategy = strategies.get(args.strategy).from_args(args)
    evaluator = evaluators.get(args.evaluator) if strategy.uses_evaluator else None
    if evaluator is None:
        own = {"evaluator", *executors.setting_names(), *(s.name for s in evaluators.own_settings())}
        for key in args.given:
            if key in own:
                raise UsageError(f"--{key.replace('_', '-')} applies to strategies that evaluate architectures, not "
                                 f"--strategy {args.strategy} (its proxy alone decides)")
        return
    read = set(evaluator.READS) | ({*PROXY_SETTINGS, *STEERING} if strategy.wants_proxy else set())
    for key in args.given:
        if key in (*PROXY_SETTINGS, *STEERING, "valid_batches") and key not in read:
            why = ("it is the zero-cost evaluator's V" if key == "valid_batches" else
                   "it is a proxy's arithmetic; a training's is --train-precision" if key == "precision" else
                   "a proxy steers a strategy through --warmup or --move-proposal" if key in STEERING else
                   "a proxy runs in --evaluator zero-cost, --warmup, --move-proposal and naswot")
            raise UsageError(f"--{key.replace('_', '-')} is not read by --strategy {args.strategy} with --evaluator "
                             f"{args.evaluator} ({why})")


def _at_least(args: argparse.Namespace, flag: str, low: int) -> None:
    if getattr(args, flag) < low:
        raise UsageError(f"--{flag.replace('_', '-')} must be at least {low}, got {getattr(args, flag)}")


def _resolve_defaults(args: argparse.Namespace) -> None:
    """Defaults that depend on the family and the space, resolved once into `args` (the run's settings)."""
    if args.strategy is not None:
        return
    args.selector = args.selector or selectors.DEFAULT
    args.order = args.order or orders.DEFAULT
    trained = selectors.get(args.selector).trains_supernet
    if args.proposals is None:
        args.proposals = 1 if trained else 10
    if trained and args.epochs is None and args.supernet is None:
        args.epochs = spaces.get(args.space).supernet_epochs


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


# ---- the job ----------------------------------------------------------------------------------------
class SearchFailed(UsageError):
    """A search that stopped on bad input or a failed rank, in one line; `code` is the program's exit
    status (2 for input, 1 for a failed rank)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


@dataclass
class SearchResult:
    """What a search found: the genotype (as a space's genotype object), its run dir, genotype.json's
    content (`summary`), the benchmark's line when a --table holds it, and warnings worth printing."""
    genotype: Any
    run_dir: Path | None
    summary: dict[str, Any]
    benchmark: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """A selector search's unique candidates with their validation scores (genotype.json's); [] for a
        multi-trial search, whose evaluations are in scores.jsonl."""
        return list(self.summary.get("candidates", []))


def search(settings: dict[str, Any], origin: str = "ptnas.search") -> SearchResult:
    """`ptnas.search(**settings)`: the keywords are the flags' names (`valid_batches` for
    --valid-batches), checked as the command line checks them; `config` names a YAML file under them.
    Without `out` nothing is written: the search runs in a scratch directory that is removed after.
    Raises UsageError (a ValueError) with the program's one line; KeyboardInterrupt leaves the run dir
    resumable with `resume=True`."""
    parser = build_parser()
    args = resolve(parser, keywords.given(parser, settings))
    check(args)
    return keywords.start(run, args, origin, settings)


def resolve(parser: argparse.ArgumentParser, given: dict[str, Any]) -> argparse.Namespace:
    """The run's settings: what the user gave over, with --resume, the run's saved settings over the
    defaults. A resumed run may not change what it computes: a given value that differs from the saved
    one is refused, also when it equals the default."""
    defaults = {a.dest: a.default for a in parser._actions if a.dest != "help"}
    order = [a.dest for a in parser._actions]
    given = {k: given[k] for k in sorted(given, key=order.index)}
    args = argparse.Namespace(**{**defaults, **given})
    if args.resume:
        saved = _saved(parser, args)
        for key in sorted(saved):
            if key in given and given[key] != saved[key]:
                raise UsageError(f"--resume continues {args.out} with its saved settings: --{key.replace('_', '-')} "
                                 f"{given[key]} differs from its {saved[key]!r}")
        args = argparse.Namespace(**{**defaults, **saved, **given})
    args.given = given
    return args


def _saved(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    if args.out is None:
        raise UsageError("--resume needs --out RUN_DIR, the run to continue")
    out = Path(args.out)
    if not out.is_dir():
        raise UsageError(f"--resume: there is no run dir {out}")
    stored = out / "config.yaml"
    if not stored.is_file():
        raise UsageError(f"--resume: {out} is not a search run dir (it has no config.yaml)")
    started = load_yaml(stored, str(stored)).get("world_size", 1)
    now = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if started != now:
        raise UsageError(f"--resume: {out} was started on {started} process{'es' if started != 1 else ''}, this run has "
                         f"{now}; continue it with the same number (torchrun --nproc_per_node, --nnodes)")
    return saved_flags(parser, stored, exclude=RESUME_MAY_CHANGE)


def check(args: argparse.Namespace) -> None:
    """Every check that needs no work, then the defaults that depend on the family and the space; raises
    UsageError (or another ValueError) with one line."""
    try:
        _check_args(args)
        _resolve_defaults(args)
    except USER_ERRORS as e:
        raise UsageError(_one_line(e)) from None


def run(args: argparse.Namespace, process: Process, command: str) -> SearchResult:
    """The checked settings' search, on this process (one rank under torchrun): everything that can fail
    on bad input before the run dir is made, then the search, then genotype.json, genotype.txt and the
    picture. Raises SearchFailed; on KeyboardInterrupt the run so far is kept (and said so) and it re-raises."""
    device, error, run_dir = process.device, None, None
    try:
        space = spaces.get(args.space)
        size = space.size_kwargs(args.init_channels, args.layers)
        num_classes = data.num_classes(args.dataset)
        cost_limit = limit.Limit.of(space, num_classes, data.datasets.get(args.dataset).image_size, size,
                                    args.max_params, args.max_flops, args.max_latency, args.latency_table)
        costs = None  # a multi-trial search draws every evaluated network against its costs, limit or not
        if args.strategy is not None:
            costs = cost_limit.model if cost_limit is not None else limit.costs(
                space, num_classes, data.datasets.get(args.dataset).image_size, size, args.latency_table)
        table = evaluators.table(args.space, args.table) if args.table else None
        family = args.strategy or args.selector
        out = Path(args.out or f"runs/{args.space}-{family}-seed{args.seed}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
        if process.distributed:
            out = Path(broadcast(str(out), process))  # the time stamp of rank 0
        if args.strategy is not None:
            setup = _multi_trial_setup(args, space, size, num_classes, process, out, cost_limit)
        else:
            setup = _supernet_setup(args, space, size, num_classes, process, out, cost_limit)
        if process.primary:  # rank 0 alone writes the run dir
            run_dir = RunDir(out, force=args.force, resume=args.resume, program=PROG)
    except USER_ERRORS as e:
        error = _one_line(e)
    except (RuntimeError, MemoryError) as e:  # e.g. a width that cannot be allocated
        error = f"cannot build the network: {_one_line(e)}"
    error = settle(process, error)
    if error is not None:
        raise SearchFailed(error)

    if run_dir is not None:
        config = {k: v for k, v in vars(args).items() if k not in ("config", "given")}
        config.update(program=PROG, out=str(run_dir.path), device=str(device), num_classes=num_classes,
                      supernet_size={**space.search_size, **size}, world_size=process.world_size,
                      ptnas_version=__version__, torch_version=str(torch.__version__),
                      python=platform.python_version(), command=command)
        if not args.resume:
            run_dir.write_yaml("config.yaml", config)
    where = out if run_dir is None else run_dir.path
    kept = f"the run so far is in {where}: continue with --resume --out {where}"
    try:
        summary = setup(run_dir)
    except KeyboardInterrupt:
        if process.primary:
            print(f"{PROG}: interrupted; {kept}", file=sys.stderr)
        raise
    except (*USER_ERRORS, ReplayMismatchError, RankFailed) as e:
        raise SearchFailed(f"{_one_line(e)} ({kept})", code=1 if isinstance(e, RankFailed) else 2) from None
    genotype = summary["genotype"]  # its text, as genotype.json and the tables hold it
    if cost_limit is not None and genotype is not None:
        summary["limit"] = _within(cost_limit, space.parse(genotype), summary)
    result = SearchResult(None if genotype is None else space.parse(genotype), None if run_dir is None else run_dir.path, summary,
                          warnings=list(summary.get("warnings", [])))
    if run_dir is None:
        return result
    if table is not None and genotype is not None:
        try:  # the result is written whatever the table holds
            summary["benchmark"] = {"table": str(args.table), **table.report(genotype)}
            result.benchmark = table.describe(genotype)
        except KeyError as e:
            summary["benchmark"] = {"table": str(args.table), "missing": _one_line(e)}
            result.benchmark = f"benchmark: not in the table ({_one_line(e)})"
    run_dir.write_json("genotype.json", summary)
    run_dir.write_text("genotype.txt", str(genotype) + "\n")
    with closing(summary_writer(run_dir.path / "events")) as writer:
        from ptnas.drawing import save_genotype_picture, save_pareto_pictures  # matplotlib loads at the end only

        save_genotype_picture(space, genotype, run_dir.path, writer)
        if costs is not None:
            scored, score = _scored(run_dir.path, args)
            save_pareto_pictures(scored, lambda g: costs.of(space.parse(g)), run_dir.path, writer,
                                 latency=costs.has_latency, score=score)
    return result


def _scored(path: Path, args: argparse.Namespace) -> tuple[list[tuple[str, float]], str]:
    """A multi-trial run's scored networks, (genotype text, score) in scores.jsonl's order, and what the score
    is: its evaluations, or, where nothing was evaluated (naswot), its proxy's scores."""
    rows = [json.loads(line) for line in (path / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    evaluated = [r for r in rows if r["kind"] == "evaluation" and r["status"] == "ok"]
    kept = evaluated or [r for r in rows if r["kind"] == "proxy"]
    scored: dict[str, float] = {}
    for r in kept:
        if r["value"] is not None:
            scored.setdefault(r["genotype"], r["value"])
    return list(scored.items()), f"{args.evaluator if evaluated else args.proxy} score"


def _within(cost_limit: limit.Limit, genotype, summary: dict) -> dict[str, Any]:
    """genotype.json's `limit`: the limits, the found network's cost and whether it fits (a warning if not)."""
    cost, excess = cost_limit.cost(genotype), cost_limit.excess(genotype)
    if excess is not None:
        summary.setdefault("warnings", []).append(f"the found network is over the limit: {excess}")
    found = {"params": cost.params, "flops": cost.macs}
    if cost_limit.model.has_latency:
        found["latency"] = cost.latency  # ms, predicted by --latency-table
    return {**cost_limit.describe(), **found, "within": excess is None}


def _one_line(e: BaseException) -> str:
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(text.split()) or type(e).__name__


def _context(args, space, size, num_classes, process: Process, out: Path | None) -> evaluators.Context:
    return evaluators.Context(space, num_classes, size={**space.search_size, **size}, device=process.device,
                              seed=args.seed, dataset=args.dataset, data_dir=args.data, download=args.download,
                              train_portion=args.train_portion, batch_size=args.batch_size, workers=args.workers,
                              run_dir=out if process.primary else None, progress=process.primary)


# ---- supernet selection ------------------------------------------------------------------------------
def _supernet_setup(args, space, size, num_classes, process: Process, out: Path, cost_limit: limit.Limit | None):
    """Everything that can fail on bad input, before the run dir is touched; returns the run itself
    (given rank 0's run dir, None on the other ranks)."""
    selector_cls = selectors.get(args.selector)
    trained = selector_cls.trains_supernet
    device = process.device
    if process.distributed and trained and args.supernet is None:
        raise UsageError(f"under torchrun, {args.selector} needs a trained supernet (--supernet CKPT): train it on one "
                         "process first (the proposal rounds and the validation are then split over the ranks)")
    options = _supernet_options(args, space)
    seed_everything(args.seed)
    net = space.place(space.supernet(num_classes=num_classes, **size, **options), device)
    if cost_limit is not None:
        cost_limit.check_reachable(net)
    meta = {"space": args.space, "size": {**space.search_size, **size}, "options": options, "num_classes": num_classes,
            "dataset": args.dataset, "data": str(args.data), "batch_size": args.batch_size,
            "train_portion": args.train_portion, "steps_per_epoch": args.steps_per_epoch,
            "eval_batches": args.eval_batches}
    bilevel = BilevelConfig.of(args)
    supernet_state = checkpoint.load(args.supernet) if args.supernet else None
    if supernet_state is not None:
        _check_supernet(args, supernet_state, meta)
    context = _context(args, space, size, num_classes, process, out)
    if trained:
        splits = data.search_splits(args.dataset, args.data, args.train_portion, args.download)
        sources = tuple(data.BatchSource(s, args.batch_size, device, args.workers) for s in splits)
    else:  # the pool the validation stage's evaluator draws from too: decoded once
        sources = (data.BatchSource(context.search_pool, args.batch_size, device, args.workers),)
    trainer = None
    if trained and supernet_state is None:
        trainer = BilevelTrainer(net, *sources, bilevel, epochs=args.epochs, seed=args.seed,
                                 steps_per_epoch=args.steps_per_epoch, eval_batches=args.eval_batches,
                                 progress=process.primary)
        if args.resume and (out / CHECKPOINT).is_file():
            state = checkpoint.load(out / CHECKPOINT)
            _require_same(state, meta, RESUME_KEYS, f"--resume: {out / CHECKPOINT}")
            trainer.load_state_dict(state)  # refuses other training settings (CheckpointError)
        elif args.resume:
            raise UsageError(f"--resume: {out} holds no {CHECKPOINT} (the supernet had not finished an epoch); "
                             "start again with --force")
    evaluator = limited(evaluators.build(args, context), cost_limit)
    evaluator = Sharded(evaluator, process)
    evaluator.prepare()  # the data and batch sizes, checked before the run dir is made

    def run_it(run: RunDir | None) -> dict[str, Any]:
        state = supernet_state
        if trained and state is None:
            state = _train(args, trainer, run, meta)
        if state is not None:
            net.load_state_dict(state["net"])
        on_parts = None
        if not trained and proxies.get(args.proxy).population and run is not None:  # tenas, vote: keep the parts
            on_parts = _parts_writer(run, resume=args.resume)
        policy = selector_cls.from_context(SearchContext(args, net, device, sources, out, state, bilevel=bilevel,
                                                         on_parts=on_parts))
        log = _open_log(run, args.resume and selector_cls.replayable) if run is not None else SearchLog(None)
        try:
            result = selectors.search(net, policy, orders.get(args.order), args.proposals, evaluator=evaluator,
                                      seed=args.seed, log=log, progress=process.primary, process=process,
                                      limit=cost_limit)
        finally:
            log.close()
        summary: dict[str, Any] = {
            "space": args.space, "genotype": str(result.genotype), "selector": args.selector, "order": args.order,
            "seed": args.seed, "evaluator": evaluator.describe(),
            "candidates": [{"genotype": str(c.genotype), "validation_score": c.score, "proposals": c.proposals,
                            **({"status": c.record.status, "reason": c.record.reason} if c.record else {})}
                           for c in result.candidates],
            "warnings": _warnings(log.records)}
        if trained:
            summary["supernet"] = {"checkpoint": str(args.supernet or out / CHECKPOINT),
                                   "epochs_trained": state["epoch"], "history": state["history"]}
        else:
            summary["proxy"] = args.proxy
        return summary

    return run_it


def _open_log(run: RunDir, replay: bool) -> SearchLog:
    """The search's log: continuing the interrupted one, or afresh (its scores and event files deleted)."""
    if replay:
        return SearchLog.resume(run.path)
    (run.path / "scores.jsonl").unlink(missing_ok=True)
    events = run.path / "events"
    if events.is_dir():
        for f in events.iterdir():
            if f.is_file():
                f.unlink()
    return SearchLog(run.path)


def _parts_writer(run: RunDir, resume: bool):
    """Population proxies' raw parts, one JSON line per candidate of a scoring pass (parts.jsonl)."""
    parts = run.path / "parts.jsonl"
    if not resume:
        parts.write_text("")
    written = set()
    if resume and parts.is_file():  # a replayed pass must not be written twice
        for line in parts.read_text().splitlines():
            try:
                r = json.loads(line)
                written.add((r["proposal"], r["pass"], json.dumps(r["key"])))
            except (ValueError, KeyError):
                continue

    def write(record: dict) -> None:
        if (record["proposal"], record["pass"], json.dumps(record["key"])) in written:
            return
        with open(parts, "a", encoding="utf-8") as f:
            f.write(jsonio.dumps(record) + "\n")

    return write


def _warnings(records: list[dict]) -> list[str]:
    values = [r["value"] for r in records if r["kind"] == "score"]
    if values and all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return ["every score of this search was NaN (the proxy failed on every perturbation); "
                "the genotype says nothing about the architectures"]
    return []


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


def _train(args: argparse.Namespace, trainer: BilevelTrainer, run: RunDir, meta: dict) -> dict:
    """Bilevel DARTS on the train/valid halves, checkpointed every epoch; returns the final state."""
    resumed = trainer.epoch > 0
    if resumed:
        print(f"resuming after epoch {trainer.epoch} of {trainer.epochs}", file=sys.stderr)
    writer = summary_writer(run.path / "events" / "supernet", purge_step=trainer.epoch + 1 if resumed else None)
    try:
        trainer.fit(run.path / CHECKPOINT, writer=writer, meta=meta)
    except KeyboardInterrupt:
        if (run.path / CHECKPOINT).is_file():
            print(f"{PROG}: interrupted; the last finished epoch is in {run.path / CHECKPOINT}", file=sys.stderr)
        raise
    finally:
        writer.close()
    if trainer.history:
        last = trainer.history[-1]
        print(f"supernet: {trainer.epoch} epochs, valid accuracy {last['valid_accuracy']:.4f}, "
              f"checkpoint {run.path / CHECKPOINT}", file=sys.stderr)
    return {**meta, **trainer.state_dict()}


# ---- multi-trial search ------------------------------------------------------------------------------
def _evaluator_elsewhere(args, space, size, num_classes, out: Path, cost_limit: limit.Limit | None) -> evaluators.Evaluator:
    """The search's evaluator, built in another process (a Ray worker) on that process's device."""
    from ptnas.runtime.process import init_process

    process = init_process(args.device)
    context = _context(args, space, size, num_classes, process, out)
    context.progress = False
    return limited(evaluators.build(args, context), cost_limit)


def _multi_trial_setup(args, space, size, num_classes, process: Process, out: Path, cost_limit: limit.Limit | None):
    strategy_cls = strategies.get(args.strategy)
    strategy = strategy_cls.from_args(args)
    trial_budget = strategies.budget(args)
    searched = space.at_size(**size)
    if cost_limit is not None:
        cost_limit.check_reachable()
        searched = cost_limit.restrict(searched)
    context = _context(args, space, size, num_classes, process, out)
    evaluator = (Sharded(limited(evaluators.build(args, context), cost_limit), process) if strategy_cls.uses_evaluator
                 else None)
    executor = None
    if evaluator is not None:
        evaluator.prepare()  # the data and batch sizes, checked before the run dir is made
        build = functools.partial(_evaluator_elsewhere, args, searched, size, num_classes, out, cost_limit)
        executor = executors.get(args.executor).from_args(args, evaluator, build, process)
        if args.jobs is None:
            args.jobs = executor.workers  # resolved into config.yaml: a resumed search keeps its W
    proxy_needed = strategy.wants_proxy
    cache = strategies.read_proxy_cache(args.proxy_cache) if (proxy_needed and args.proxy_cache) else None
    proxy_evaluator = None
    if proxy_needed and cache is None:
        proxy_args = argparse.Namespace(**{**vars(args), "valid_batches": args.proxy_batches})
        proxy_evaluator = Sharded(evaluators.ZeroCost.from_args(proxy_args, context), process)
        proxy_evaluator.prepare()

    def run_it(run: RunDir | None) -> dict[str, Any]:
        # resumed: every rank replays the evaluations and proxy scores rank 0's scores.jsonl holds, in order
        log = _open_log(run, args.resume) if run is not None else SearchLog(None)
        if args.resume and process.distributed:
            replay = broadcast(log.pending() if run is not None else None, process)
            if run is None:
                log = SearchLog(None, replay=replay)
        proxy = None
        if proxy_needed:
            proxy = strategies.ProxyScores(proxy_evaluator, cache, proxies.get(args.proxy).higher_is_better, log,
                                           name=args.proxy)
        trials = strategies.Trials(evaluator, trial_budget, log, progress=process.primary, process=process,
                                   executor=executor, jobs=args.jobs)
        try:
            result = strategy.run(searched, trials, proxy, np.random.default_rng(args.seed))
            if result.genotype is not None:
                log.result(result.genotype)
        finally:
            trials.close()
            log.close()
            if executor is not None:
                executor.close()
        if result.genotype is None:
            raise ValueError("no architecture could be evaluated: every evaluation was rejected or failed "
                             f"(see {out / 'scores.jsonl'})")
        statuses = [r.status for r in trials.records]
        return {"space": args.space, "genotype": str(result.genotype), "strategy": strategy.describe(),
                "executor": None if executor is None else {**executor.describe(), "jobs": args.jobs},
                "evaluator": evaluator.describe() if evaluator is not None else None, "seed": args.seed,
                "score": result.record.score, "evaluations": len(trials.records),
                "rejected": statuses.count("rejected"), "failed": statuses.count("failed"),
                "proxy_evaluations": 0 if proxy is None else proxy.count,
                "best_so_far": trials.best_curve, "seconds": trials.seconds, **result.details}

    return run_it

