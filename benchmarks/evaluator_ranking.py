"""How well, and at what cost, each evaluator ranks NAS-Bench-201 architectures (FEAR paper, Figure 3).

    python benchmarks/evaluator_ranking.py --archs 30 --init-channels 8 --layers 1 --out runs/bench/ranking

A seeded sample of NB201 architectures is evaluated by every evaluator through `ptnas-evaluate` (one
subprocess each, so peak memory is per evaluator): zero-cost (nwot, synflow), shortreg at each budget of
--shortreg-epochs, and FEAR with early rejection off (every candidate's full stage-1 time and score are
measured). Printed: Spearman ρ of each evaluator's scores against NB201 CIFAR-10 test accuracy, mean
seconds per architecture and peak memory; then, from FEAR's measured stage-1 times, what early rejection
at r × the fastest time to threshold (in sample order) would have removed and saved; then random searches
of --budget architectures drawn from the sample (1,000 seeded orders), RS-FEAR (with rejection) against
RS-shortreg: mean CIFAR-10 test accuracy of the architecture each picks and mean wall time, both from the
measured per-architecture records. Each `ptnas-evaluate` run dir is kept and continued when rerun.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptnas import evaluators  # noqa: E402
from ptnas.rank_correlation import spearman_kendall  # noqa: E402


def evaluate(name: str, extra: list[str], args, out: Path) -> tuple[list[dict], dict, float]:
    """Run ptnas-evaluate in a subprocess; its records, summary and wall time."""
    cmd = [sys.executable, "-m", "ptnas.cli.evaluate", "--space", "nb201", "--sample", str(args.archs),
           "--seed", str(args.seed), "--init-channels", str(args.init_channels), "--layers", str(args.layers),
           "--dataset", "cifar10", "--data", args.data, "--device", args.device, "--out", str(out / name), *extra]
    print("$", " ".join(cmd[2:]), flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed: {done.stderr.strip().splitlines()[-1]}")
    rows = [json.loads(line) for line in (out / name / "evaluations.jsonl").read_text().splitlines()]
    return rows, json.loads((out / name / "summary.json").read_text()), time.perf_counter() - start


def rho(rows: list[dict], truth: dict[str, float]) -> float:
    scores = [(-np.inf if r["value"] is None else r["value"]) for r in rows]
    return spearman_kendall(scores, [truth[r["genotype"]] for r in rows])[0]


def fear_cost(row: dict) -> float:
    return row["seconds"]


def rejection(rows: list[dict], ratio: float, order) -> tuple[list[bool], float, float]:
    """FEAR's early rejection replayed in `order` from measured stage-1 times: (rejected flags, seconds
    spent, seconds an evaluation without rejection spends)."""
    fastest, spent, full, rejected = None, 0.0, 0.0, [False] * len(rows)
    for i in order:
        r = rows[i]
        t1 = r["details"].get("stage1_seconds", r["seconds"])
        full += r["seconds"]
        if r["status"] != "ok":
            spent += r["seconds"]
            rejected[i] = True
            continue
        if fastest is not None and t1 > ratio * fastest:
            rejected[i] = True
            spent += ratio * fastest  # stopped at the limit; no stage 2
            continue
        spent += r["seconds"]
        fastest = t1 if fastest is None else min(fastest, t1)
    return rejected, spent, full


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-channels", type=int, default=8)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--table", default="../shared/data/nb201_test_accuracy.csv")
    p.add_argument("--device", default="cpu")
    p.add_argument("--shortreg-epochs", default="1,3")
    p.add_argument("--proxies", default="nwot,synflow")
    p.add_argument("--fear-threshold", default=None, help="default: the shallow learner's")
    p.add_argument("--fear-epochs", default="5")
    p.add_argument("--reject-ratio", type=float, default=4.0)
    p.add_argument("--budget", type=int, default=10, help="architectures per simulated random search")
    p.add_argument("--out", default="runs/bench/ranking")
    args = p.parse_args()
    out = Path(args.out)
    table = evaluators.table("nb201", args.table)
    results = {}
    for proxy in args.proxies.split(","):
        results[f"zero-cost {proxy}"] = evaluate(f"zc-{proxy}", ["--evaluator", "zero-cost", "--proxy", proxy,
                                                               "--valid-batches", "1", "--batch-size", "64"], args, out)
    for e in args.shortreg_epochs.split(","):
        results[f"shortreg {e} ep"] = evaluate(f"shortreg-{e}", ["--evaluator", "shortreg", "--train-epochs", e],
                                               args, out)
    fear_flags = ["--evaluator", "fear", "--fear-reject-ratio", "inf", "--fear-epochs", args.fear_epochs]
    if args.fear_threshold:
        fear_flags += ["--fear-threshold", args.fear_threshold]
    results["fear (no rejection)"] = evaluate("fear", fear_flags, args, out)

    truth = {r["genotype"]: table.test_accuracy(r["genotype"]) for rows, _, _ in results.values() for r in rows}
    print(f"\n{args.archs} NB201 archs (seed {args.seed}) at C={args.init_channels}, N={args.layers}; "
          f"JPEG CIFAR-10 subset; ρ against CIFAR-10 test accuracy")
    print(f"{'evaluator':24} {'spearman':>8} {'s/arch':>8} {'peak MiB':>9}")
    for name, (rows, summary, _) in results.items():
        print(f"{name:24} {rho(rows, truth):8.3f} {summary['mean_seconds']:8.2f} {summary.get('peak_rss_mib') or 0:9.0f}")
    fear_rows = results["fear (no rejection)"][0]
    threshold = fear_rows[0]["details"]["threshold"]
    rejected, spent, full = rejection(fear_rows, args.reject_ratio, range(len(fear_rows)))
    kept = [dict(r, value=None) if rej else r for r, rej in zip(fear_rows, rejected)]
    print(f"\nFEAR threshold {threshold:.3f}; early rejection at r = {args.reject_ratio:g} in sample order: "
          f"{sum(rejected)} of {len(rejected)} rejected, {spent:.0f} s instead of {full:.0f} s "
          f"({100 * (1 - spent / full):.0f} % saved); ρ with rejected ranked last {rho(kept, truth):.3f}")

    rng = np.random.default_rng(0)
    orders = [rng.choice(len(fear_rows), size=min(args.budget, len(fear_rows)), replace=False) for _ in range(1000)]
    print(f"\nrandom search over {args.budget} of the {len(fear_rows)} archs, 1,000 seeded orders "
          "(from the measured records):")
    for name, (rows, _, _) in results.items():
        if name.startswith("zero-cost"):
            continue
        by_genotype = {r["genotype"]: r for r in rows}
        accs, times = [], []
        for order in orders:
            picked = [by_genotype[fear_rows[i]["genotype"]] for i in order]
            if name.startswith("fear"):
                flags, t, _ = rejection(picked, args.reject_ratio, range(len(picked)))
                candidates = [r for r, rej in zip(picked, flags) if not rej]
                label = f"RS-FEAR (r = {args.reject_ratio:g})"
            else:
                t = sum(r["seconds"] for r in picked)
                candidates = [r for r in picked if r["status"] == "ok"]
                label = f"RS-{name}"
            best = max(candidates, key=lambda r: r["value"])
            accs.append(truth[best["genotype"]])
            times.append(t)
        print(f"  {label:28} test accuracy {np.mean(accs):.2f} ± {np.std(accs):.2f} %, "
              f"wall time {np.mean(times):.0f} s")


if __name__ == "__main__":
    main()
