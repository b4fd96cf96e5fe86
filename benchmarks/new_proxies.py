#!/usr/bin/env python
"""Issue 21's proxies (meco, swap, swap_reg, zico, az_nas and its parts) next to nwot, synflow and jacob_cov:
Spearman ρ and Kendall τ against NAS-Bench-201 test accuracy (CIFAR-10, CIFAR-100, ImageNet16-120), seconds
per architecture and peak memory.

    OMP_NUM_THREADS=1 python benchmarks/new_proxies.py --sample 1000 --out runs/new-proxies-1000

The correlations are the correlation study's (`python -m ptnas.cli.correlate`, run here with the same flags:
seeded sample of archs, fresh C=16 N=5 networks, one batch of --batch-size images of the JPEG CIFAR-10
subset, BN in train mode); an interrupted run continues where it stopped. Seconds = the mean over the
archs of each proxy's measured wall time (a population proxy: the sum of its parts, each measured once per
arch). Peak memory = benchmarks/proxies.py's figure (a fresh process per proxy: the rise of the peak resident
set over the resident set before a first call) on one architecture (the benchmark's best CIFAR-10 cell,
random batch of the same size), not a peak over the sample.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import proxies  # noqa: E402
from ptnas.cli import correlate  # noqa: E402

NEW = ("meco", "swap", "swap_reg", "zico", "az_nas", "az_expressivity", "az_progressivity", "az_trainability",
       "az_complexity")
BASELINES = ("nwot", "synflow", "jacob_cov")
DATASETS = ("cifar10", "cifar100", "imagenet16_120")


def peak_mib(name: str, batch_size: int) -> float:
    """benchmarks/proxies.py's peak memory of one proxy (its parts, for a population proxy), one thread."""
    script = Path(__file__).with_name("proxies.py")
    total = 0.0
    for part in proxies.get(name).parts:
        out = subprocess.run([sys.executable, str(script), "--one", part.name, "--batch-size", str(batch_size),
                              "--repeats", "1", "--threads", "1"], check=True, capture_output=True, text=True)
        total = max(total, json.loads(out.stdout.splitlines()[-1])["peak_mib"])
    return total


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sample", type=int, default=1000, help="architectures (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--proxies", default=",".join(NEW + BASELINES))
    p.add_argument("--table", default="../shared/data/nb201_test_accuracy.csv")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--out", default=None, help="run dir (default runs/new-proxies-n<sample>)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = args.out or f"runs/new-proxies-n{args.sample}"
    rc = correlate.main(["--space", "nb201", "--proxies", args.proxies, "--sample", str(args.sample), "--seed",
                         str(args.seed), "--table", args.table, "--dataset", "cifar10", "--data", args.data,
                         "--batch-size", str(args.batch_size), "--bn-mode", "train", "--device", "cpu", "--out", out])
    if rc:
        return rc
    run = Path(out)
    rows = {(r["proxy"], r["dataset"]): r for r in csv.DictReader((run / "correlation.csv").open())}
    records = [json.loads(line) for line in (run / "scores.jsonl").read_text().splitlines()]
    names = args.proxies.split(",")
    print(f"\nNAS-Bench-201, {len(records)} archs (seed {args.seed}), batch {args.batch_size} of {args.data}, "
          "BN train, CPU, one thread")
    head = " | ".join(f"ρ {d} | τ {d}" for d in DATASETS)
    print(f"| proxy | {head} | NaN | s/arch | peak MiB |")
    print("|---" * (2 + 2 * len(DATASETS) + 2) + "|")
    for name in names:
        proxy = proxies.get(name)
        seconds = statistics.mean(sum(r["seconds"][q.name] for q in proxy.parts) for r in records)
        memory = "–" if args.no_memory else f"{peak_mib(name, args.batch_size):.0f}"
        cells = []
        for d in DATASETS:
            r = rows[(name, d)]
            cells += [f"{float(r['spearman']):.3f}", f"{float(r['kendall']):.3f}"]
        nan = rows[(name, "cifar10")]["nan"]
        print(f"| `{name}` | " + " | ".join(cells) + f" | {nan} | {seconds:.3f} | {memory} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
