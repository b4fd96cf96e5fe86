"""Random search by a zero-cost proxy on a tabular benchmark, with the same number of proxy evaluations
as Zero-Cost-PT runs: the baseline beside `scripts/zcpt_benchmark.py`.

The proxy values come from a `python -m ptnas.cli.correlate` run (its scores.jsonl: every sampled
architecture as a fresh standalone network at the benchmark's size, scored on one fixed minibatch).
For each seed and budget k, k architectures are drawn without replacement from the scored ones and the
best by `--select` is kept. A uniform k-subset of a uniform random sample is a uniform k-subset of the
space, so each seed is a best-of-k random search (seeds draw from one shared pool, so they are not fully
independent; with the whole space scored they are). k is capped at the number scored.

The budget of an order is what its ZC-PT run spent: every proxy evaluation of the search stage plus V
per validated candidate (V = `--valid-batches` of those runs), read from each run's scores.jsonl:

    python -m ptnas.cli.correlate --space macro --proxies nwot,synflow --sample 6561 --bn-mode eval \
        --table ../shared/data/nas_bench_macro_cifar10.json --dataset cifar10 --data ../shared/data/cifar10-jpg \
        --out runs/correlate_macro
    python scripts/proxy_random_search.py --space macro --table ../shared/data/nas_bench_macro_cifar10.json \
        --scores runs/correlate_macro --zcpt runs/zcpt_macro --valid-batches 100 --seeds 0,1,2,3
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptnas import evaluators, proxies  # noqa: E402 - after the path insert


def read_jsonl(path: Path) -> list[dict]:
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line cut short by a crash
    return records


def zcpt_budget(run_dir: Path, valid_batches: int) -> int:
    """Proxy evaluations of one ZC-PT run: search-stage scores + V per validated candidate."""
    records = read_jsonl(run_dir / "scores.jsonl")
    return sum(r["kind"] == "score" for r in records) + valid_batches * sum(r["kind"] == "validation" for r in records)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="macro", choices=evaluators.table_spaces())
    p.add_argument("--table", required=True, help="the space's benchmark table")
    p.add_argument("--scores", required=True, help="a correlate run dir (its scores.jsonl)")
    p.add_argument("--select", default="nwot", help="the proxy random search selects by (default nwot)")
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--budgets", default="", help="name=k,... proxy evaluations per search")
    p.add_argument("--zcpt", default=None, help="a zcpt_benchmark.py --out dir: one budget per order, from its runs")
    p.add_argument("--valid-batches", type=int, default=100, help="V of the --zcpt runs (default 100)")
    args = p.parse_args()

    table = evaluators.table(args.space, args.table)
    select = proxies.get(args.select)
    scored = {r["arch"]: r["parts"][args.select] for r in read_jsonl(Path(args.scores) / "scores.jsonl")}
    archs = sorted(scored)
    every = np.sort([table.test_accuracy(a) for a in table.archs()])

    def rank(arch: str) -> int:  # 1 = the most accurate of the whole table
        return 1 + len(every) - int(np.searchsorted(every, table.test_accuracy(arch), side="right"))

    budgets = {}
    for item in filter(None, args.budgets.split(",")):
        name, _, k = item.partition("=")
        budgets[name] = int(k)
    if args.zcpt:
        for run_dir in sorted(Path(args.zcpt).glob("*-seed*")):
            if (run_dir / "genotype.json").exists():
                order = run_dir.name.rsplit("-seed", 1)[0]
                k = zcpt_budget(run_dir, args.valid_batches)
                if budgets.setdefault(order, k) != k:
                    print(f"note: {order} runs spent different budgets; using {budgets[order]}", file=sys.stderr)

    sign = 1.0 if select.higher_is_better else -1.0
    summary = {"scored": len(archs), "of": len(every), "select": args.select, "random_search": {}}
    print(f"{len(archs)} of {len(every)} archs scored by {args.select} in {args.scores}")
    print("| budget | k | mean test accuracy | rank | archs |\n|---|---|---|---|---|")
    for name, k in budgets.items():
        k = min(k, len(archs))
        found = []
        for seed in map(int, args.seeds.split(",")):
            draw = np.random.default_rng(seed).choice(len(archs), size=k, replace=False)
            best = max((archs[i] for i in draw), key=lambda a: np.nan_to_num(sign * scored[a], nan=-np.inf))
            found.append({"seed": seed, "arch": best, "test_accuracy": table.test_accuracy(best), "rank": rank(best)})
        summary["random_search"][name] = {"k": k, "found": found}
        accs, ranks = [f["test_accuracy"] for f in found], [f["rank"] for f in found]
        sd = statistics.stdev if len(found) > 1 else (lambda xs: 0.0)
        print(f"| {name} | {k} | {statistics.mean(accs):.2f} ± {sd(accs):.2f} | {statistics.mean(ranks):.0f} ± "
              f"{sd(ranks):.0f} | {', '.join(f['arch'] for f in found)} |")
    (Path(args.scores) / f"random_search_{args.select}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
