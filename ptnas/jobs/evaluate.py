"""Rank given architectures with an evaluator: the job behind `ptnas-evaluate` and `ptnas.evaluate(...)`.

    python -m ptnas.cli.evaluate --space nb201 --evaluator fear --sample 30 --seed 0 \
        --dataset cifar10 --data ../shared/data/cifar10-jpg --table ../shared/data/nb201_test_accuracy.csv
    python -m ptnas.cli.evaluate --space darts --evaluator shortreg --run runs/my-search   # a search's candidates
    python -m ptnas.cli.evaluate --space nb201 --evaluator zero-cost --proxy synflow --genotypes archs.txt

The genotypes come from `--genotypes FILE` (one per line), `--run RUN_DIR` (the unique candidates of a
search) or `--sample K` (K distinct random architectures of the space, drawn with `--seed`). Each is
evaluated on the search splits of `--dataset` (training evaluators train on the first `--train-portion`
and validate on the rest) at the size `--init-channels` / `--layers` (default: the space's search size).
With `--max-params`, `--max-flops` or `--max-latency` (ptnas.spaces.limit) an architecture over the limit is
recorded `rejected` with the reason and never built; a limit no architecture of the space meets is refused.

Writes, in `--out`: config.yaml, evaluations.jsonl (one record per architecture, flushed as it finishes:
index, genotype, value = score, status, reason, seconds, details), TensorBoard events, ranking.csv, and
the scores against parameters, FLOPs and (with `--latency-table`) latency with their Pareto front
(pareto-params.png, pareto-flops.png, pareto-latency.png; TensorBoard images `pareto/...`).
Prints the ranking; with `--table`, the ground truth next to it and Spearman ρ / Kendall τ of the scores
against it. Rerunning the same command continues an interrupted evaluation: what evaluations.jsonl
already holds is not evaluated again.

Under torchrun (`torchrun --nproc_per_node 8 -m ptnas.cli.evaluate ...`, docs/distributed.md) the
architectures are split over the ranks, each evaluates its share on its own device, and rank 0 writes
every record in the original order; the run is the same as on one process.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import platform
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ptnas import __version__, data, evaluators, jsonio, proxies, spaces
from ptnas.jobs import keywords
from ptnas.runtime.config import OneLineParser, UsageError, load_yaml
from ptnas.data import DataNotFoundError
from ptnas.evaluators import Record
from ptnas.evaluators.distributed import RankFailed, Sharded
from ptnas.evaluators.limited import limited
from ptnas.evaluators.table import column
from ptnas.settings import Setting
from ptnas.strategies.base import sample_cap, sample_unique
from ptnas.runtime.process import Process, broadcast, settle
from ptnas.event_files import summary_writer
from ptnas.registry import UnknownNameError
from ptnas.seeding import SEED
from ptnas.spaces import limit
from ptnas.rank_correlation import spearman_kendall
from ptnas.rundir import RunDir, RunDirExistsError, refuse_other_program

PROG = "ptnas-evaluate"
RESULTS = "evaluations.jsonl"
# Settings that may differ when an interrupted evaluation is continued.
MAY_CHANGE = ("out", "force", "device", "workers", "config", "world_size")  # records are in candidate order
SAMPLE = Setting("sample", int, None, minimum=1, check=sample_cap, metavar="K",
                 help="K distinct random architectures of the space")
USER_ERRORS = (UsageError, UnknownNameError, DataNotFoundError, RunDirExistsError, ValueError, KeyError)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Rank architectures with an evaluator (zero-cost, table, shortreg, fear).")
    g = p.add_argument_group("architectures (one of)")
    g.add_argument("--space", default="nb201", help=f"search space: {', '.join(spaces.names())} (default nb201)")
    g.add_argument("--genotypes", default=None, metavar="FILE", help="a text file, one genotype per line")
    g.add_argument("--run", "--run-dir", dest="run", default=None, metavar="RUN_DIR",
                   help="a search run dir: its unique candidates (spell it --run-dir under torchrun, whose own "
                        "parser takes --run for its --run-path)")
    SAMPLE.add_to(g)
    SEED.add_to(g)
    z = p.add_argument_group("zero-cost proxy (--evaluator zero-cost)")
    for setting in evaluators.ZeroCost.SETTINGS:  # declared once, by the zero-cost evaluator
        setting.add_to(z)
    evaluators.add_flags(p)
    c = p.add_argument_group("cost limit (an architecture over it is rejected unevaluated; docs/costs.md)")
    for setting in limit.SETTINGS:
        setting.add_to(c)
    d = p.add_argument_group("data and networks")
    for setting in data.SETTINGS:  # declared once, by ptnas.data
        setting.add_to(d)
    d.add_argument("--init-channels", type=int, default=None, help="network width (per space, see docs/spaces.md)")
    d.add_argument("--layers", type=int, default=None, help="network depth (per space, see docs/spaces.md)")
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="run directory (default runs/evaluate-<space>-<evaluator>-seed<seed>)")
    r.add_argument("--force", action="store_true", help="start over in an --out that holds another evaluation")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    r.add_argument("--config", default=None, help="YAML file of flag defaults; command-line flags override it")
    r.add_argument("--table", default=None, help="benchmark table (ground truth): adds Spearman ρ and Kendall τ")
    return p


def genotypes_of(args: argparse.Namespace, space) -> list:
    """The architectures to evaluate, parsed; UsageError (one line) for anything wrong."""
    listed = getattr(args, "listed", None)  # ptnas.evaluate(genotypes=[...])
    sources = [f for f in ("genotypes", "run", "sample", "listed") if getattr(args, f, None) is not None]
    if len(sources) != 1:
        raise UsageError("pass exactly one of --genotypes FILE, --run RUN_DIR, --sample K")
    if listed is not None:
        if not listed:
            raise UsageError("genotypes: the list is empty")
        out = [_parse(space, t, f"genotypes[{i}]") for i, t in enumerate(listed)]
        return list({str(g): g for g in out}.values())
    if args.sample is not None:
        if args.sample < 1:
            raise UsageError(f"--sample must be at least 1, got {args.sample}")
        sized = space.at_size(**space.size_kwargs(args.init_channels, args.layers))
        found = {str(g): g for g in sample_unique(sized, np.random.default_rng(args.seed), args.sample)}
        if len(found) < args.sample:
            print(f"{PROG}: the {args.space} space gave only {len(found)} distinct architectures; evaluating those",
                  file=sys.stderr)
        return list(found.values())
    if args.run is not None:
        path = Path(args.run) / "genotype.json"
        if not path.is_file():
            raise UsageError(f"--run {args.run}: not a search run dir (it has no genotype.json)")
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"--run {args.run}: {path} is not valid JSON ({_short(e)})") from None
        if not isinstance(summary, dict):
            raise UsageError(f"--run {args.run}: {path} is not a search's genotype.json (not a JSON object)")
        saved_space = summary.get("space")
        if saved_space is not None and saved_space != args.space:
            hint = f"; pass --space {saved_space}" if isinstance(saved_space, str) and saved_space in spaces.names() else ""
            raise UsageError(f"--run {args.run} holds {_short(saved_space)} genotypes, not {args.space}{hint}")
        candidates = summary.get("candidates") or []
        if not isinstance(candidates, list):
            raise UsageError(f"--run {args.run}: {path}: candidates is not a list")
        texts = []
        for i, c in enumerate(candidates, 1):
            if not isinstance(c, dict) or not isinstance(c.get("genotype"), str):
                raise UsageError(f"--run {args.run}: {path}: candidate {i} has no genotype text (a mapping with "
                                 "a \"genotype\" string)")
            texts.append(c["genotype"])
        if not texts:
            raise UsageError(f"--run {args.run}: the run has no candidates (a multi-trial search lists its "
                             "evaluations in scores.jsonl, not candidates)")
        return [_parse(space, t, f"--run {args.run}: candidate {i + 1}") for i, t in enumerate(texts)]
    path = Path(args.genotypes)
    if not path.is_file():
        raise UsageError(f"--genotypes {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"--genotypes {path}: not UTF-8 text (byte {e.start}); one genotype per line") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(_parse(space, line.strip(), f"--genotypes {path}: line {n}"))
    if not out:
        raise UsageError(f"--genotypes {path}: no genotype in it (one per line)")
    return list({str(g): g for g in out}.values())


def _parse(space, text: str, where: str):
    try:
        return space.parse(text)
    except (ValueError, TypeError, SyntaxError) as e:
        raise UsageError(f"{where} is not a {space.name} genotype: {_short(e)}") from None


def _short(value: Any, limit: int = 200) -> str:
    """A value or error as one line of at most `limit` characters (a 1 MB input line is not echoed whole)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check(args: argparse.Namespace) -> None:
    spaces.get(args.space)
    proxies.get(args.proxy)
    data.num_classes(args.dataset)
    evaluators.check_flags(args, shared=())  # here only the zero-cost evaluator reads --proxy, V, ...
    limit.check_settings(args.max_latency, args.latency_table)
    if args.table is not None:
        if args.space not in evaluators.table_spaces():
            raise UsageError(f"--table works with --space {' or '.join(evaluators.table_spaces())}, not {args.space}")
        if not Path(args.table).is_file():
            raise UsageError(f"--table {args.table}: no such file")


def _open_run(out: Path, config: dict[str, Any], force: bool) -> tuple[RunDir, list[Record]]:
    """The run dir and the records of an interrupted evaluation with the same settings (continued)."""
    refuse_other_program(out, PROG)
    stored = out / "config.yaml"
    if stored.is_file() and not force:
        saved = load_yaml(stored, str(stored))
        # null for a setting that has a default now was saved when the evaluator resolved it: that same default
        defaults = {a.dest: a.default for a in build_parser()._actions}
        differ = [k for k in config if k not in MAY_CHANGE and k in saved and saved[k] != config[k]
                  and not (saved[k] is None and k in defaults and config[k] == defaults[k])]
        if differ:
            raise RunDirExistsError(f"{out} holds an evaluation with other settings ({differ[0]}: {saved[differ[0]]!r}, "
                                    f"now {config[differ[0]]!r}); pass --force to start over or --out to choose another")
        records = []
        if (out / RESULTS).is_file():
            for line in (out / RESULTS).read_text(encoding="utf-8").splitlines(keepends=True):
                if not line.endswith("\n"):
                    break  # cut by the kill
                try:
                    record = Record.from_row(json.loads(line))
                except (ValueError, TypeError, AttributeError):  # not a record this evaluation wrote
                    break  # evaluated again from here
                expected = config["genotypes_evaluated"]
                if len(records) >= len(expected) or record.genotype != expected[len(records)]:
                    break
                records.append(record)
        run = RunDir.reopen(out)
        run.write_text(RESULTS, "".join(jsonio.dumps(_row(i, r)) + "\n" for i, r in enumerate(records)))
        return run, records
    run = RunDir(out, force=True) if force else RunDir(out)
    for stale in (RESULTS, "ranking.csv"):
        (run.path / stale).unlink(missing_ok=True)
    return run, []


def _row(index: int, r: Record) -> dict[str, Any]:
    return {"index": index, "genotype": r.genotype, "value": r.score, "status": r.status, "reason": r.reason,
            "seconds": r.seconds, "details": r.details}


class EvaluationFailed(UsageError):
    """An evaluation that stopped on bad input or a failed rank, in one line; `code` is the program's
    exit status (2 for input, 1 for a failed rank)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


@dataclass
class EvaluationResult:
    """Every architecture's record in evaluation order, the ranking (rows best first, with the ground
    truth of a --table), the correlation against it, the printed text, and the run dir."""
    records: list[Record]
    rows: list[dict[str, Any]]
    correlation: dict[str, Any]
    text: str
    run_dir: Path | None


def evaluate(settings: dict[str, Any], origin: str = "ptnas.evaluate") -> EvaluationResult:
    """`ptnas.evaluate(**settings)`: ptnas-evaluate's flags as keywords (`sample=30`, `evaluator="fear"`),
    checked as the command line checks them; `config` names a YAML file under them. Rerunning with the
    same settings continues an interrupted evaluation. Raises UsageError (a ValueError) in one line."""
    parser = build_parser()
    settings = dict(settings)
    listed = None
    if isinstance(settings.get("genotypes"), (list, tuple)):  # genotypes=[...]: texts or genotype objects
        listed = [str(g) for g in settings.pop("genotypes")]
    defaults = {a.dest: a.default for a in parser._actions if a.dest != "help"}
    given = keywords.given(parser, settings)
    args = argparse.Namespace(**{**defaults, **given})
    args.listed, args.given = listed, given
    check(args)
    return keywords.start(run, args, origin, settings)


def check(args: argparse.Namespace) -> None:
    """Names, ranges and combinations that need no work; raises UsageError with one line."""
    try:
        _check(args)
    except USER_ERRORS as e:
        raise UsageError(_one_line(e)) from None


def run(args: argparse.Namespace, process: Process, command: str) -> EvaluationResult:
    """The checked settings' evaluation on this process (one rank under torchrun): rank 0 writes every
    record as it finishes. Raises EvaluationFailed; on KeyboardInterrupt what is done is kept (and said
    so) and it re-raises."""
    device, error, run_dir, done = process.device, None, None, []
    try:
        space = spaces.get(args.space)
        size = space.size_kwargs(args.init_channels, args.layers)
        genotypes = genotypes_of(args, space)
        table = evaluators.table(args.space, args.table) if args.table else None
        out = Path(args.out or f"runs/evaluate-{args.space}-{args.evaluator}-seed{args.seed}")
        num_classes = data.num_classes(args.dataset)
        cost_limit = limit.Limit.of(space, num_classes, data.datasets.get(args.dataset).image_size, size,
                                    args.max_params, args.max_flops, args.max_latency, args.latency_table)
        if cost_limit is not None:
            cost_limit.check_reachable()  # a limit that no architecture meets: refused before any work
        costs = cost_limit.model if cost_limit is not None else limit.costs(  # for the Pareto pictures
            space, num_classes, data.datasets.get(args.dataset).image_size, size, args.latency_table)
        context = evaluators.Context(space, num_classes, size={**space.search_size, **size},
                                     device=device, seed=args.seed, dataset=args.dataset, data_dir=args.data,
                                     download=args.download, train_portion=args.train_portion,
                                     batch_size=args.batch_size, workers=args.workers,
                                     run_dir=out if process.primary else None, progress=False)
        # over-limit candidates rejected by every rank for its own share
        evaluator = Sharded(limited(evaluators.build(args, context), cost_limit), process)
        evaluator.prepare()  # the data and batch sizes, checked before the run dir is made
        config = {k: v for k, v in vars(args).items() if k not in ("config", "given")}
        config.update(program=PROG, genotypes_evaluated=[str(g) for g in genotypes], network_size=context.size, device=str(device),
                      world_size=process.world_size)
        if process.primary:
            run_dir, done = _open_run(out, config, args.force)
    except USER_ERRORS as e:
        error = _one_line(e)
    error = settle(process, error)
    if error is not None:
        raise EvaluationFailed(error)
    done = broadcast(done, process)
    if not process.primary:  # evaluates its share; rank 0 writes everything
        try:
            evaluator.evaluate(genotypes[len(done):])
        except (*USER_ERRORS, RankFailed) as e:
            raise EvaluationFailed(_one_line(e), code=2 if isinstance(e, USER_ERRORS) else 1) from None
        return EvaluationResult([], [], {}, "", None)
    config.update(ptnas_version=__version__, torch_version=str(torch.__version__), python=platform.python_version(),
                  command=command)
    run_dir.write_yaml("config.yaml", config)
    records = list(done)
    if done:
        print(f"{PROG}: continuing {run_dir.path}: {len(done)} of {len(genotypes)} already evaluated", file=sys.stderr)
    from tqdm import tqdm

    bar = tqdm(total=len(genotypes), initial=len(done), desc=f"{args.evaluator}")
    with closing(summary_writer(run_dir.path / "events")) as writer, open(run_dir.path / RESULTS, "a", encoding="utf-8") as f:
        def write(record: Record) -> None:
            index = len(records)
            records.append(record)
            f.write(jsonio.dumps(_row(index, record)) + "\n")
            f.flush()
            if record.score is not None:
                writer.add_scalar("evaluation/score", record.score, index)
            writer.add_text("evaluation/genotype", f"{record.genotype} ({record.status})", index)
            bar.update()

        try:
            evaluator.evaluate(genotypes[len(done):], on_record=write)
        except KeyboardInterrupt:
            bar.close()
            print(f"{PROG}: interrupted; {len(records)} evaluations are in {run_dir.path / RESULTS}: rerun the same "
                  "command to continue", file=sys.stderr)
            raise
        except (*USER_ERRORS, RankFailed) as e:
            bar.close()
            raise EvaluationFailed(f"{_one_line(e)} ({len(records)} evaluations so far are in {run_dir.path / RESULTS})",
                                   code=2 if isinstance(e, USER_ERRORS) else 1) from None
        bar.close()
        summary = ranking(records, table, args)
        for key, value in summary["correlation"].items():
            if value is not None and math.isfinite(value):
                writer.add_scalar(f"correlation/{key}", value, 0)
        scored = [(r.genotype, r.score) for r in records if r.ok and r.score is not None]
        from ptnas.drawing import save_pareto_pictures  # matplotlib loads at the end only

        save_pareto_pictures(scored, lambda g: costs.of(space.parse(g)), run_dir.path, writer,
                             latency=costs.has_latency, score=f"{args.evaluator} score")
    run_dir.write_text("ranking.csv", _csv(summary["rows"]))
    run_dir.write_json("summary.json", {"evaluator": evaluator.describe(), "correlation": summary["correlation"],
                                        "evaluations": len(records),
                                        "statuses": {s: sum(r.status == s for r in records) for s in evaluators.base.STATUSES},
                                        "mean_seconds": float(np.mean([r.seconds for r in records])) if records else None,
                                        **peak_memory(device)})
    return EvaluationResult(records, summary["rows"], summary["correlation"], summary["text"], run_dir.path)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e.args[0] if isinstance(e, KeyError) and e.args else e).split()) or type(e).__name__


def ranking(records: list[Record], table, args) -> dict[str, Any]:
    """Rows best first, the printed table and, with a table, ρ and τ of the ok scores against ground truth."""
    order = evaluators.ranked(records)
    dataset = column(table, args.dataset, args.table_dataset) if table is not None else None
    truth = [table.test_accuracy(r.genotype, dataset) if table is not None and r.genotype in table else None
             for r in records]
    rows = [{"rank": k + 1, "score": records[i].score, "status": records[i].status, "seconds": records[i].seconds,
             "ground_truth": truth[i], "genotype": records[i].genotype, "reason": records[i].reason}
            for k, i in enumerate(order)]
    correlation: dict[str, float | None] = {}
    pairs = [(r.score, t) for r, t in zip(records, truth) if r.ok and t is not None]
    if table is not None:
        if len(pairs) >= 2:
            rho, tau = spearman_kendall(*zip(*pairs))
            correlation = {"spearman": rho, "kendall": tau, "n": len(pairs)}
        else:
            correlation = {"spearman": None, "kendall": None, "n": len(pairs)}
    lines = [f"{'rank':>4}  {'score':>10}  {'status':8}  {'seconds':>8}  " + (f"{'truth':>6}  " if table else "")
             + "genotype"]
    for row in rows:
        score = "-" if row["score"] is None else f"{row['score']:.4g}"
        gt = "" if table is None else ("-" if row["ground_truth"] is None else f"{row['ground_truth']:.2f}") .rjust(6) + "  "
        lines.append(f"{row['rank']:>4}  {score:>10}  {row['status']:8}  {row['seconds']:8.2f}  {gt}{row['genotype']}")
    if table is not None:
        rho, tau = correlation["spearman"], correlation["kendall"]
        fmt = lambda v: "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"  # noqa: E731
        lines.append(f"against {dataset} test accuracy over {correlation['n']} evaluated architectures: "
                     f"Spearman ρ {fmt(rho)}, Kendall τ {fmt(tau)}")
    rejected = sum(r.status == "rejected" for r in records)
    if rejected:
        lines.append(f"{rejected} of {len(records)} rejected early")
    return {"rows": rows, "correlation": correlation, "text": "\n".join(lines)}


def peak_memory(device: torch.device) -> dict[str, float | None]:
    """Peak resident memory of this process and, on CUDA, peak memory allocated on the device (MiB)."""
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    cuda = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"peak_rss_mib": rss, "peak_cuda_mib": cuda}


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["rank", "score", "status", "seconds", "ground_truth", "genotype", "reason"])
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()

