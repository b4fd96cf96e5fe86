"""Zero-Cost-PT on a tabular benchmark (NAS-Bench-201 or NAS-Bench-Macro): every (order, seed) searched,
every found genotype looked up in the benchmark's table.

Runs `search.py` for every (order, seed) as parallel processes and prints, per order, mean ± std of
the table's figures: NB201 test error (100 − accuracy) per dataset, as Zero-Cost-PT's Table 5
(Xiang et al. 2023); NAS-Bench-Macro mean test accuracy and rank among the 6,561 architectures.

    python scripts/zcpt_benchmark.py --space nb201 --data DIR --table nb201_test_accuracy.csv \
        --out runs/zcpt_nb201 --orders random,global-op-iter --seeds 0,1,2,3 --jobs 8 -- --batch-size 256 --device cuda
    python scripts/zcpt_benchmark.py --space macro --data ../shared/data/cifar10-jpg \
        --table ../shared/data/nas_bench_macro_cifar10.json --out runs/zcpt_macro -- --batch-size 64 --device cpu

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
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16_120")
# Per space: the columns of the summary, each read from genotype.json's `benchmark` record.
COLUMNS = {
    "nb201": {f"{d} test error": (lambda b, d=d: 100 - b["test_accuracy"][d]) for d in NB201_DATASETS},
    "macro": {"mean test accuracy": lambda b: b["test_accuracy"], "rank": lambda b: b["rank"]},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="nb201", choices=sorted(COLUMNS))
    p.add_argument("--data", required=True, help="CIFAR-10 directory (torchvision or ImageFolder layout)")
    p.add_argument("--table", required=True, help="the space's benchmark table (NB201 CSV, NAS-Bench-Macro JSON)")
    p.add_argument("--out", required=True)
    p.add_argument("--orders", default="random,global-op-iter")
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=None, help="seconds each search.py run may take (default: no limit)")
    p.add_argument("--no-run", action="store_true", help="only summarise the runs already in --out")
    p.add_argument("extra", nargs="*", help="arguments passed to search.py (after --)")
    args = p.parse_args()
    out = Path(args.out)
    orders, seeds = args.orders.split(","), args.seeds.split(",")
    runs = [(o, int(s)) for s in seeds for o in orders]  # seed-major: an interrupted sweep covers every order

    def launch(run):
        order, seed = run
        run_dir = out / f"{order}-seed{seed}"
        if args.no_run or (run_dir / "genotype.json").exists():
            return run, 0
        cmd = [sys.executable, str(ROOT / "search.py"), "--space", args.space, "--selector", "zc-pt",
               "--order", order, "--seed", str(seed), "--dataset", "cifar10", "--data", args.data,
               "--table", args.table, "--out", str(run_dir), "--force", *args.extra]
        with open(out / f"{order}-seed{seed}.log", "w") as log:
            try:
                return run, subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=args.timeout,
                                          check=False).returncode
            except subprocess.TimeoutExpired:
                return run, "timeout"

    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for (order, seed), code in pool.map(launch, runs):
            print(f"{order} seed {seed}: exit {code}", flush=True)

    columns = COLUMNS[args.space]
    summary = {}
    for order in orders:
        values = {c: [] for c in columns}
        genotypes = []
        for seed in seeds:
            path = out / f"{order}-seed{seed}" / "genotype.json"
            if not path.exists():
                continue
            result = json.loads(path.read_text())
            genotypes.append(result["genotype"])
            for c, read in columns.items():
                values[c].append(read(result["benchmark"]))
        summary[order] = {"seeds": [s for s in seeds if (out / f"{order}-seed{s}" / "genotype.json").exists()],
                          "genotypes": genotypes, **values}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))

    def fmt(xs):
        if not xs:
            return "—"
        return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs) if len(xs) > 1 else 0:.2f}"

    print(f"\n| order | runs | {' | '.join(columns)} |\n|---|---|{'---|' * len(columns)}")
    for order, s in summary.items():
        print(f"| {order} | {len(s['genotypes'])} | {' | '.join(fmt(s[c]) for c in columns)} |")


if __name__ == "__main__":
    main()
