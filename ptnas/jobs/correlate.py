"""The correlation study, the job behind `python -m ptnas.cli.correlate` and `ptnas.correlate(...)`: how
well zero-cost proxies rank the architectures of a benchmark with ground truth: NAS-Bench-201
(`--space nb201`) or NAS-Bench-Macro (`--space macro`).

A seeded sample of architectures; each becomes a fresh standalone network (the benchmark's size,
C=16, N=5) scored by every proxy on one fixed minibatch; then Spearman ρ and Kendall τ against each
dataset's test accuracy (scipy.stats), over all sampled archs and over the top 10 % by accuracy,
plus precision@top-k. Lower-is-better proxies are negated first, so a positive ρ means "ranks well".

Example (the study of Abdelfattah et al., ICLR 2021, Table 1, on the JPEG CIFAR-10 subset):
    python -m ptnas.cli.correlate --space nb201 --proxies synflow,nwot,jacob_cov,snip --sample 1000 \
        --seed 0 --table ../shared/data/nb201_test_accuracy.csv --dataset cifar10 \
        --data ../shared/data/cifar10-jpg --reference ../shared/data/nb201_zero_cost_reference.json

Outputs in --out: config.yaml; scores.jsonl (every architecture's raw proxy values, one line each,
flushed as soon as computed); correlation.csv; proxy_scores.csv; reference.csv (with --reference);
scatter_<proxy>.png; events/ (TensorBoard). Re-running the same command continues an interrupted
study where it stopped (the measurements already in scores.jsonl are kept).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ptnas import __version__, data, evaluators, jsonio, proxies, spaces
from ptnas.data import DataNotFoundError
from ptnas.evaluators import naslib_reference
from ptnas.evaluators.zero_cost import ProxyScorer
from ptnas.event_files import summary_writer
from ptnas.jobs import keywords
from ptnas.rank_correlation import correlations
from ptnas.registry import UnknownNameError
from ptnas.rundir import RunDir, RunDirExistsError, refuse_other_program
from ptnas.runtime.config import OneLineParser, UsageError, load_yaml
from ptnas.runtime.process import Process
from ptnas.seeding import SEED

PROG = "python -m ptnas.cli.correlate"
DATASET_HEADS = {"cifar10": "C10", "cifar100": "C100", "imagenet16_120": "IN16"}
# Flags that change the measurements: a run dir is only continued when these match.
IDENTITY = ("space", "proxies", "sample", "seed", "archs", "table", "dataset", "data", "batch_size",
            "bn_mode", "train_portion")
USER_ERRORS = (UsageError, UnknownNameError, DataNotFoundError, RunDirExistsError, ValueError, FileNotFoundError,
               ModuleNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Rank correlation of zero-cost proxies with benchmark accuracy.")
    s = p.add_argument_group("study")
    s.add_argument("--space", default="nb201", help=f"search space with a ground-truth table: {', '.join(evaluators.table_spaces())} "
                                                    "(default nb201)")
    s.add_argument("--proxies", default=",".join(proxies.names()),
                   help=f"comma-separated proxies, from: {', '.join(proxies.names())} (default: every registered one)")
    s.add_argument("--sample", type=int, default=1000, help="architectures sampled without replacement (default 1000)")
    SEED.add_to(s)
    s.add_argument("--table", required=True, help="ground truth: nb201, the CSV table or a nats_bench/nas_201_api "
                                                  "benchmark file; macro, nas_bench_macro_cifar10.json")
    s.add_argument("--archs", default="table", choices=("table", "reference"),
                   help="sample from every arch of --table, or from the archs of --reference (default table)")
    s.add_argument("--reference", default=None,
                   help=f"{naslib_reference.SPACE}: NASLib zero-cost values (nb201_zero_cost_reference.json): correlate ours with theirs on shared archs")
    proxies.BN_MODE.add_to(s)  # one default everywhere: eval; the published correlation studies used train
    s.add_argument("--top-k", type=int, default=10, help="k of precision@top-k (default 10; precision@top-10%% is always given)")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="synthetic-cifar10", help=f"{', '.join(data.names())} (default synthetic-cifar10, needs no files)")
    d.add_argument("--data", default="data", help="dataset directory: torchvision layout or train/ and test/ class folders (default ./data)")
    d.add_argument("--batch-size", type=int, default=64, help="size of the one minibatch every proxy sees (default 64)")
    d.add_argument("--train-portion", type=float, default=1.0, help="fraction of the training set the batch is drawn from (default 1)")
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="run directory (default runs/correlate-<space>-seed<seed>-n<sample>)")
    r.add_argument("--force", action="store_true", help="start over in an existing --out instead of continuing it")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    r.add_argument("--log-every", type=int, default=50, help="TensorBoard running correlations every N archs (default 50)")
    r.add_argument("--config", default=None, help="YAML file of flag defaults; command-line flags override it")
    return p


def _proxy_list(text: str) -> list:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--proxies is empty; give comma-separated names")
    if len(set(names)) != len(names):
        raise UsageError(f"--proxies names a proxy twice: {text}")
    return [proxies.get(n) for n in names]


def _choose_archs(args, table, reference: dict | None) -> list[str]:
    if args.archs == "reference":
        if reference is None:
            raise UsageError("--archs reference needs --reference FILE")
        pool = [a for a in reference if a in table]
    else:
        pool = sorted(table.archs())
    if args.sample < 1:
        raise UsageError(f"--sample must be at least 1, got {args.sample}")
    if args.sample > len(pool):
        source = "the archs of --reference that --table has" if args.archs == "reference" else f"{args.table}"
        print(f"--sample {args.sample} is more than the {len(pool)} archs in {source}: using all {len(pool)}",
              file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(pool), size=min(args.sample, len(pool)), replace=False)
    return [pool[i] for i in pick]


def _open_run(args, config: dict) -> tuple[RunDir, list[dict]]:
    """A fresh run dir, or the existing one with its measurements when it ran the same study."""
    out = Path(args.out)
    refuse_other_program(out, PROG)
    old_config, old_scores = out / "config.yaml", out / "scores.jsonl"
    if not args.force and old_config.is_file() and old_scores.is_file():
        old = load_yaml(old_config, str(old_config))
        diff = [k for k in IDENTITY if old.get(k) != config.get(k)]
        if diff:
            raise RunDirExistsError(f"run dir {out} holds a different study (differs in {', '.join(diff)}); "
                                    "pass --force to overwrite it or --out to choose another")
        records, text = [], old_scores.read_text(encoding="utf-8")
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut short by a crash: that arch is measured again
            if not (isinstance(record, dict) and isinstance(record.get("parts"), dict) and "arch" in record):
                break  # not a line this study wrote: measured again from here
            record["parts"] = {k: jsonio.number(v) for k, v in record["parts"].items()}  # null was a NaN
            records.append(record)
        run = RunDir.reopen(out)
        kept = "".join(jsonio.dumps(r) + "\n" for r in records)
        if kept != text:  # drop the partial line, so appending continues a well-formed file
            run.write_text("scores.jsonl", kept)
        return run, records
    return RunDir(out, force=args.force), []


def _oriented(proxy, values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v if proxy.higher_is_better else -v


def _scatter_png(proxy, scores: np.ndarray, acc: np.ndarray, rho: float, n_archs: int, title: str) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ok = np.isfinite(scores)
    ax.scatter(scores[ok], acc[ok], s=6, alpha=0.6)
    pos = scores[ok]
    if len(pos) and (pos > 0).all() and pos.max() / pos.min() > 1e3:
        ax.set_xscale("log")
    ax.set_xlabel(f"{proxy.name} ({'higher' if proxy.higher_is_better else 'lower'} is better)")
    ax.set_ylabel("CIFAR-10 test accuracy (%)")
    ax.set_title(f"{title}: Spearman {rho:.3f}, n={n_archs}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _write_csv(run: RunDir, name: str, rows: list[dict]) -> None:
    if not rows:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    run.write_text(name, buf.getvalue())


def _fmt(x: float) -> str:
    return "   nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:6.3f}"


def analyse(run: RunDir, chosen: list, records: list[dict], table, reference: dict | None, top_k: int,
            writer=None, title: str = "", datasets: Sequence[str] = ("cifar10",)
            ) -> tuple[list[dict], list[dict] | None]:
    """Combine, correlate, write the CSVs, PNGs and TensorBoard scalars.

    Returns the correlation rows and, with a reference, the rows of the NASLib comparison."""
    archs = [r["arch"] for r in records]
    measured = [r["parts"] for r in records]
    acc = {d: np.array([table.test_accuracy(a, d) for a in archs]) for d in datasets}
    rows, score_cols = [], {}
    for proxy in chosen:
        raw = np.asarray(proxy.combine(measured), dtype=float)
        score_cols[proxy.name] = raw
        for d in datasets:
            c = correlations(_oriented(proxy, raw), acc[d], top_k)
            rows.append({"proxy": proxy.name, "dataset": d, "higher_is_better": proxy.higher_is_better, **c})
            if writer is not None:
                for k, v in c.items():
                    if k not in ("n", "nan") and not math.isnan(v):
                        writer.add_scalar(f"correlation/{d}/{proxy.name}/{k}", v, len(archs))
        rho = next(r["spearman"] for r in rows if r["proxy"] == proxy.name and r["dataset"] == "cifar10")
        run.write_bytes(f"scatter_{proxy.name}.png", _scatter_png(proxy, raw, acc["cifar10"], rho, len(archs), title))
    _write_csv(run, "correlation.csv", rows)
    _write_csv(run, "proxy_scores.csv", [
        {"arch": a, **{f"{d}_test": acc[d][i] for d in datasets}, **{n: v[i] for n, v in score_cols.items()}}
        for i, a in enumerate(archs)])
    ref_rows = None
    if reference is not None:
        ref_rows = naslib_reference.compare(chosen, archs, score_cols, reference, acc["cifar10"])
        _write_csv(run, "reference.csv", ref_rows)
    return rows, ref_rows


def print_table(rows: list[dict], reference_rows: list[dict] | None, n: int, file=None,
                benchmark: str = "NAS-Bench-201") -> None:
    file = file or sys.stdout  # looked up at call time, so redirected output (contextlib, pytest) gets it
    by = {(r["proxy"], r["dataset"]): r for r in rows}
    names = list(dict.fromkeys(r["proxy"] for r in rows))
    others = [d for d in dict.fromkeys(r["dataset"] for r in rows) if d != "cifar10"]  # ρ only
    ref = {r["proxy"]: r for r in reference_rows or []}
    print(f"\nRank correlation with {benchmark} test accuracy ({n} archs; top10 = best 10 % by accuracy)",
          file=file)
    head = (f"{'proxy':<15} {'dir':>4} {'nan':>4} | {'C10 ρ':>6} {'C10 τ':>6} {'ρ@10%':>6} {'P@10%':>6} {'P@k':>6}"
            + (" | " + " ".join(f"{DATASET_HEADS[d] + ' ρ':>6}" for d in others) if others else "")
            + (f" | {'ρ(ours,NASLib)':>14}" if ref else ""))
    print(head, file=file)
    print("-" * len(head), file=file)
    for name in names:
        c10 = by[(name, "cifar10")]
        line = (f"{name:<15} {'+' if c10['higher_is_better'] else '-':>4} {c10['nan']:>4} | "
                f"{_fmt(c10.get('spearman'))} {_fmt(c10.get('kendall'))} {_fmt(c10.get('spearman_top10'))} "
                f"{_fmt(c10.get('precision_top10pct'))} {_fmt(c10.get('precision_top_k'))}"
                + (" | " + " ".join(_fmt(by[(name, d)].get("spearman")) for d in others) if others else ""))
        if ref:
            line += f" | {_fmt(ref[name]['spearman_ours_vs_naslib']) if name in ref else '     -':>14}"
        print(line, file=file)


class CorrelationFailed(UsageError):
    """A study that stopped on bad input, in one line (exit 2 in the program)."""


@dataclass
class CorrelationResult:
    """The correlation rows (one per proxy and dataset: spearman, kendall, spearman_top10, precision, n,
    nan), the NASLib comparison's rows with a --reference, every architecture's measured parts
    (scores.jsonl), the printed table, and the run dir."""
    rows: list[dict[str, Any]]
    reference_rows: list[dict[str, Any]] | None
    records: list[dict[str, Any]]
    text: str
    run_dir: Path | None


def correlate(settings: dict[str, Any], origin: str = "ptnas.correlate") -> CorrelationResult:
    """`ptnas.correlate(**settings)`: the program's flags as keywords (`proxies="nwot,synflow"`,
    `sample=1000`), checked as the command line checks them; `config` names a YAML file under them.
    Rerunning with the same settings and `out` continues an interrupted study. Raises UsageError (a
    ValueError) in one line."""
    parser = build_parser()
    defaults = {a.dest: a.default for a in parser._actions if a.dest != "help"}
    args = argparse.Namespace(**{**defaults, **keywords.given(parser, settings)})
    check(args)
    return keywords.start(run, args, origin, settings)


def check(args: argparse.Namespace) -> None:
    """Names, ranges and combinations that need no work; raises UsageError with one line."""
    try:
        spaces.get(args.space)
        if args.space not in evaluators.table_spaces():
            raise UsageError(f"--space {args.space} has no ground-truth table here; correlate supports "
                             f"{', '.join(evaluators.table_spaces())}")
        if args.reference and args.space != naslib_reference.SPACE:
            raise UsageError(f"--reference holds NASLib's {naslib_reference.SPACE} values; it does not apply to "
                             f"--space {args.space}")
        if args.table is None:
            raise UsageError("--table is required: the benchmark's ground truth")
        _proxy_list(args.proxies)
        data.num_classes(args.dataset)
        for flag in ("batch_size", "log_every", "top_k"):
            if getattr(args, flag) < 1:
                raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
        if not Path(args.table).exists():
            raise UsageError(f"--table {args.table}: no such file")
    except USER_ERRORS as e:
        raise UsageError(str(e)) from None


def run(args: argparse.Namespace, process: Process, command: str) -> CorrelationResult:
    """The checked settings' study on this process: everything that can fail on bad input (the table,
    the reference, the data) before the run dir is made, then every architecture not yet measured, then
    the analysis. Raises CorrelationFailed; on KeyboardInterrupt what is measured is kept (and said so)
    and it re-raises."""
    device = process.device
    try:
        chosen = _proxy_list(args.proxies)
        table = evaluators.table(args.space, args.table)
        reference = naslib_reference.read(args.reference) if args.reference else None
        archs = _choose_archs(args, table, reference)
        num_classes = data.num_classes(args.dataset)
        pool = data.search_dataset(args.dataset, args.data, args.train_portion)
        batch = next(data.BatchSource(pool, args.batch_size, device).take(args.seed, 1))
        args.out = args.out or f"runs/correlate-{args.space}-seed{args.seed}-n{args.sample}"
        config = {k: v for k, v in vars(args).items() if k != "config"}
        config.update(program=PROG, proxies=",".join(p.name for p in chosen), device=str(device), num_classes=num_classes,
                      network_size=table.NETWORK_SIZE, sampled=len(archs), ptnas_version=__version__,
                      torch_version=str(torch.__version__), python=platform.python_version(), command=command)
        run, records = _open_run(args, config)
    except USER_ERRORS as e:
        raise CorrelationFailed(str(e)) from None

    if not records:
        run.write_yaml("config.yaml", config)
    space = spaces.get(args.space)
    evaluator = ProxyScorer(chosen, lambda g: space.network(g, num_classes=num_classes, **table.NETWORK_SIZE), batch,
                            bn_mode=args.bn_mode, init_seed=args.seed, device=device)
    done = {r["arch"] for r in records}
    todo = [a for a in archs if a not in done]
    if records:
        print(f"continuing {run.path}: {len(done)} of {len(archs)} archs already measured", file=sys.stderr)

    from tqdm import tqdm

    writer = summary_writer(run.path / "events")  # a continued study's file sorts after the earlier ones
    stream = open(run.path / "scores.jsonl", "a", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        for arch in tqdm(todo, desc="archs", initial=len(done), total=len(archs)):
            record = {"arch": arch, **evaluator.measure(arch)}
            stream.write(jsonio.dumps(record) + "\n")
            stream.flush()
            records.append(record)
            if len(records) % args.log_every == 0:
                _running_scalars(writer, chosen, records, table)
    except KeyboardInterrupt:
        writer.close()
        print(f"\ninterrupted; {len(records)} archs are in {run.path / 'scores.jsonl'}: "
              "run the same command again to continue", file=sys.stderr)
        raise
    finally:
        stream.close()

    order = {a: i for i, a in enumerate(archs)}
    records = sorted((r for r in records if r["arch"] in order), key=lambda r: order[r["arch"]])
    title = f"{args.dataset} batch {args.batch_size}, bn {args.bn_mode}"
    rows, ref_rows = analyse(run, chosen, records, table, reference, args.top_k, writer, title, table.DATASETS)
    writer.close()
    text = io.StringIO()
    print_table(rows, ref_rows, len(records), file=text, benchmark=table.BENCHMARK)
    return CorrelationResult(rows, ref_rows, records, text.getvalue(), run.path)


def _running_scalars(writer, chosen: list, records: list[dict], table) -> None:
    """Spearman ρ with CIFAR-10 test accuracy so far, per proxy (x = archs measured)."""
    acc = np.array([table.test_accuracy(r["arch"], "cifar10") for r in records])
    measured = [r["parts"] for r in records]
    for proxy in chosen:
        c = correlations(_oriented(proxy, proxy.combine(measured)), acc, 10)
        if not math.isnan(c["spearman"]):
            writer.add_scalar(f"running/cifar10/{proxy.name}/spearman", c["spearman"], len(records))
