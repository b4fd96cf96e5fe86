"""Search under a parameter budget on NAS-Bench-201 (issue: cost limits): ZC-PT(nwot) and evolution with
`--max-params` at the 25th, 50th and 75th percentile of the space's parameter counts, against the best
architecture within the same budget in the table.

    python benchmarks/budget_nb201.py --table ../shared/data/nb201_test_accuracy.csv \
        --data ../shared/data/cifar10-jpg --zc-seeds 0 --evolution-seeds 0-9

Parameters are those of the benchmark's network (C=16, N=5, 10 classes), from the space's cost model.
ZC-PT: global-op-iter on the C=16, N=5 supernet (`--init-channels`, `--layers`), N=10 proposals, V=10
batches (`--proposals`, `--valid-batches`) of 64 JPEG CIFAR-10 images, nwot; its candidates are
ranked by the table's CIFAR-10 accuracy (`--evaluator table`). Evolution: 50 evaluations, P=20, S=5, the
table's CIFAR-10 accuracy as the evaluator. Both search with the limit (`max_params`), so every decision,
sample and mutation stays within it; the script checks that every found network is within.
Prints one row per method, budget and seed: the found architecture's CIFAR-10 and CIFAR-100 test
accuracy, and the best within the budget.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ptnas  # noqa: E402
from ptnas import evaluators, spaces  # noqa: E402
from ptnas.spaces import limit  # noqa: E402

PERCENTILES = (25, 50, 75)


def seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",") if s]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--zc-seeds", type=seeds, default=[0])
    p.add_argument("--evolution-seeds", type=seeds, default=list(range(10)))
    p.add_argument("--proposals", type=int, default=10, help="ZC-PT's N (default 10)")
    p.add_argument("--valid-batches", type=int, default=10, help="ZC-PT's V, batches of 64 (default 10)")
    p.add_argument("--init-channels", type=int, default=16, help="ZC-PT's supernet C (default 16)")
    p.add_argument("--layers", type=int, default=5, help="ZC-PT's supernet cells per stage (default 5)")
    p.add_argument("--out", default="runs/budget-nb201")
    args = p.parse_args()

    space = spaces.get("nb201")
    table = evaluators.table("nb201", args.table)
    cost = limit.costs(space, 10, 32)  # the cost model of the networks the searches find
    archs = table.archs()
    params = np.array([cost.of(space.parse(a)).params for a in archs])
    acc = {d: np.array([table.test_accuracy(a, d) for a in archs]) for d in ("cifar10", "cifar100")}
    print(f"{len(archs)} architectures; parameters {params.min():,} .. {params.max():,}")
    print(f"{'method':<10} {'budget M':>8} {'seed':>4} {'params':>8} {'C10':>6} {'best C10':>8} {'C100':>6} "
          f"{'best C100':>9} {'s':>6}  genotype")
    for q in PERCENTILES:
        budget = float(np.percentile(params, q)) / 1e6
        within = params <= budget * 1e6
        best = {d: float(acc[d][within].max()) for d in acc}
        runs = [("zc-pt", s, dict(selector="zc-pt", order="global-op-iter", proxy="nwot", proposals=args.proposals,
                                  valid_batches=args.valid_batches, batch_size=64, dataset="cifar10", data=args.data,
                                  init_channels=args.init_channels, layers=args.layers))
                for s in args.zc_seeds]
        runs += [("evolution", s, dict(strategy="evolution", trials=50, population=20, tournament=5))
                 for s in args.evolution_seeds]
        for method, seed, settings in runs:
            start = time.perf_counter()
            result = ptnas.search(space="nb201", evaluator="table", table=args.table, max_params=budget, seed=seed,
                                  device="cpu", out=f"{args.out}/{method}-p{q}-seed{seed}", force=True, **settings)
            seconds = time.perf_counter() - start
            found = str(result.genotype)
            n = cost.of(result.genotype).params
            assert n <= budget * 1e6, f"{found}: {n} parameters, over the budget {budget}M"
            print(f"{method:<10} {budget:8.4f} {seed:>4} {n:>8,} {table.test_accuracy(found, 'cifar10'):6.2f} "
                  f"{best['cifar10']:8.2f} {table.test_accuracy(found, 'cifar100'):6.2f} {best['cifar100']:9.2f} "
                  f"{seconds:6.0f}  {found}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
