"""Asynchronous aging evolution on the NAS-Bench-201 table with uneven, simulated evaluation times.

    python benchmarks/async_evolution.py --seeds 32

Evolution P = 20, S = 5 (the synchronous row "evolution" of docs/results.md, "Multi-trial search on the
benchmark tables"), CIFAR-100 test accuracy from the shared table as the evaluator. W workers
(`ptnas.executors.Simulated`): an evaluation takes 0.2 + FLOPs / (the space's largest FLOPs) simulated
seconds (the network at C=16, N=5 on CIFAR: a training's cost grows with its arithmetic; 0.2 stands for
what does not), so the largest network takes five times the smallest and records arrive out of order.
Per W, over seeds: the test accuracy of the best after 50 evaluations, the evaluations until one of the
space's 10 best architectures is evaluated (budget 3,000, counted in the order records arrive), the
simulated time to 50 evaluations, and how busy the workers were until then.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptnas import evaluators, spaces  # noqa: E402
from ptnas.executors import Simulated  # noqa: E402
from ptnas.spaces import limit  # noqa: E402
from ptnas.strategies import Budget, Evolution, Trials  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=32)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--budget", type=int, default=3000)
    p.add_argument("--table", default="../shared/data/nb201_test_accuracy.csv")
    args = p.parse_args()
    table = evaluators.table("nb201", args.table)
    space = spaces.get("nb201")
    model = limit.costs(space, 100, 32)
    flops = {a: model.of(space.parse(a)).macs for a in table.archs()}
    largest = max(flops.values())

    def duration(genotype) -> float:
        return 0.2 + flops[str(genotype)] / largest

    top10 = set(sorted(table.archs(), key=lambda a: -table.test_accuracy(a, "cifar100"))[:10])
    print(f"NAS-Bench-201 CIFAR-100 (table), evolution P=20 S=5, {args.seeds} seeds; evaluation time 0.2 + "
          f"FLOPs/max: {min(map(duration, table.archs())):.2f} to {max(map(duration, table.archs())):.2f} s")
    print(f"{'W':>3} {'acc after 50':>14} {'evals to top-10: median':>24} {'mean':>6} {'found':>6} "
          f"{'time to 50':>11} {'busy':>6}")
    for w in args.workers:
        accs, counts, times, busy = [], [], [], []
        for seed in range(args.seeds):
            for budget in (50, args.budget):
                executor = Simulated(evaluators.TableEvaluator(table, "cifar100"), w, duration)
                trials = Trials(executor.evaluator, Budget(trials=budget), executor=executor, jobs=w)
                Evolution(20, 5).run(space, trials, None, np.random.default_rng(seed))
                if budget == 50:
                    accs.append(trials.best.score)
                    times.append(executor.clock)
                    busy.append(executor.busy / (w * executor.clock))
                else:
                    counts.append(next((k + 1 for k, r in enumerate(trials.records) if r.genotype in top10), None))
        found = [c for c in counts if c is not None]
        filled = [c if c is not None else args.budget for c in counts]
        print(f"{w:3d} {np.mean(accs):7.2f} ± {np.std(accs):4.2f} {np.median(filled):24.0f} {np.mean(filled):6.0f} "
              f"{len(found):3d}/{len(counts)} {np.mean(times):10.1f}s {100 * np.mean(busy):5.1f}%", flush=True)


if __name__ == "__main__":
    main()
