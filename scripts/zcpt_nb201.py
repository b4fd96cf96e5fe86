"""Reproduce the NB201 rows of Zero-Cost-PT's order ablation (Xiang et al. 2023, Table 5).

Runs `search.py` for every (order, seed) as parallel processes, looks each genotype up in the
NAS-Bench-201 table and prints mean ± std test error (100 − accuracy) per order and dataset:

    python scripts/zcpt_nb201.py --data DIR --table nb201_test_accuracy.csv --out runs/zcpt_nb201 \
        --orders random,global-op-iter --seeds 0,1,2,3 --jobs 8 -- --batch-size 256 --device cuda

Arguments after `--` go to every search.py run unchanged. Results are also written to
`<out>/summary.json`; runs that already finished (genotype.json present) are not run again.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("cifar10", "cifar100", "imagenet16_120")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="CIFAR-10 directory (torchvision or ImageFolder layout)")
    p.add_argument("--table", required=True, help="NAS-Bench-201 accuracy table (CSV)")
    p.add_argument("--out", required=True)
    p.add_argument("--orders", default="random,global-op-iter")
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--no-run", action="store_true", help="only summarise the runs already in --out")
    p.add_argument("extra", nargs="*", help="arguments passed to search.py (after --)")
    args = p.parse_args()
    out = Path(args.out)
    runs = [(o, int(s)) for o in args.orders.split(",") for s in args.seeds.split(",")]

    def launch(run):
        order, seed = run
        run_dir = out / f"{order}-seed{seed}"
        if args.no_run or (run_dir / "genotype.json").exists():
            return run, 0
        cmd = [sys.executable, str(ROOT / "search.py"), "--space", "nb201", "--selector", "zc-pt",
               "--order", order, "--seed", str(seed), "--dataset", "cifar10", "--data", args.data,
               "--table", args.table, "--out", str(run_dir), "--force", *args.extra]
        with open(out / f"{order}-seed{seed}.log", "w") as log:
            return run, subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode

    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for (order, seed), code in pool.map(launch, runs):
            print(f"{order} seed {seed}: exit {code}", flush=True)

    summary = {}
    for order in args.orders.split(","):
        errors = {d: [] for d in DATASETS}
        genotypes = []
        for seed in args.seeds.split(","):
            path = out / f"{order}-seed{seed}" / "genotype.json"
            if not path.exists():
                continue
            result = json.loads(path.read_text())
            genotypes.append(result["genotype"])
            for d in DATASETS:
                errors[d].append(100 - result["benchmark"]["test_accuracy"][d])
        summary[order] = {"genotypes": genotypes, "test_error": errors}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))

    def fmt(xs):
        if not xs:
            return "—"
        return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs) if len(xs) > 1 else 0:.2f}"

    print("\n| order | runs | CIFAR-10 | CIFAR-100 | ImageNet16-120 |\n|---|---|---|---|---|")
    for order, s in summary.items():
        e = s["test_error"]
        print(f"| {order} | {len(s['genotypes'])} | {fmt(e['cifar10'])} | {fmt(e['cifar100'])} | {fmt(e['imagenet16_120'])} |")


if __name__ == "__main__":
    main()
