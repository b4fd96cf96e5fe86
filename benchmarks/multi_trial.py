"""Multi-trial search on benchmark tables (training simulated by the table, as the zero-cost papers do).

    python benchmarks/multi_trial.py nb201 --seeds 32       # CIFAR-100: warm-up and move proposal
    python benchmarks/multi_trial.py naswot --seeds 100     # CIFAR-10: NASWOT N = 10, 100, 1000
    python benchmarks/multi_trial.py macro --seeds 32       # NAS-Bench-Macro: evaluations to its best

nb201: random search and aging evolution (P = 20, S = 5: with the zero-cost authors' P = 64 the first 50
evaluations are all random), each without and with a synflow warm-up of
W = 1,000, 3,000 and 15,000 random draws, and evolution with move proposal; the evaluator is the table's
CIFAR-100 test accuracy (the only accuracy the shared table has: the search optimises the figure it is
judged by, unlike the papers, which search on validation accuracy). Reported per setting, over seeds:
the test accuracy of the best architecture after 50 evaluations, and the evaluations until one of the
space's 10 best CIFAR-100 architectures is found (budget 3,000; runs that never find one are counted at
3,000 and reported). Synflow scores of all 15,625 architectures come from the cache
runs/cache/nb201-synflow.jsonl (written by benchmarks/proxy_scores.py when missing).
naswot: N random architectures scored by nwot (batch 128 of the JPEG CIFAR-10 subset, BN train) and the
best kept; test accuracy on CIFAR-10. The nwot scores come from the cache runs/cache/nb201-nwot-3000.jsonl,
3,000 random architectures (computing all 15,625 takes hours on this CPU): each run draws its N from
those, so runs share architectures and the spread at N = 1000 is smaller than over the whole space.
macro: evaluations until the benchmark's best architecture is found: random, evolution (P = 20, S = 5),
evolution with an nwot warm-up of W = 2P (AREA); nwot scores (batch 64, BN train) of the architectures the
warm-ups draw are computed once into runs/cache/macro-nwot.jsonl.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ptnas import evaluators, spaces  # noqa: E402
from ptnas.strategies import Budget, Evolution, ProxyScores, RandomSearch, Trials  # noqa: E402
from proxy_scores import all_archs, compute, read_cache, sampled_archs  # noqa: E402

CACHE = ROOT / "runs" / "cache"


def cached(space: str, proxy: str, name: str, archs: list[str], **kw) -> dict[str, float]:
    path = CACHE / name
    cache = read_cache(path)
    if not set(archs) <= set(cache):
        print(f"computing {proxy} scores into {path} (once)", flush=True)
        cache = compute(space, proxy, path, archs, **kw)
    return cache


def search(strategy, space, table, dataset, budget, seed, proxy_cache=None) -> Trials:
    """One search with the table as evaluator; its Trials (records in evaluation order)."""
    trials = Trials(evaluators.TableEvaluator(table, dataset), Budget(trials=budget))
    proxy = ProxyScores(cache=proxy_cache) if proxy_cache is not None else None
    strategy.run(space, trials, proxy, np.random.default_rng(seed))
    return trials


def nb201(args) -> None:
    table = evaluators.table("nb201", args.table)
    space = spaces.get("nb201")
    synflow = cached("nb201", "synflow", "nb201-synflow.jsonl", all_archs("nb201"))
    top10 = set(sorted(table.archs(), key=lambda a: -table.test_accuracy(a, "cifar100"))[:10])
    settings = [("random", lambda: RandomSearch(), None)]
    settings += [(f"random + synflow warm-up {w}", lambda w=w: RandomSearch(warmup=w), synflow)
                 for w in (1000, 3000, 15000)]
    P, S = args.population, args.tournament
    settings += [(f"evolution P={P} S={S}", lambda: Evolution(P, S), None)]
    settings += [(f"evolution + synflow warm-up {w}", lambda w=w: Evolution(P, S, warmup=w), synflow)
                 for w in (1000, 3000, 15000)]
    settings += [("evolution + synflow move proposal", lambda: Evolution(P, S, move_proposal=0), synflow)]
    print(f"NAS-Bench-201 CIFAR-100 (table), {args.seeds} seeds; best possible {max(table.test_accuracy(a, 'cifar100') for a in table.archs()):.2f}")
    print(f"{'setting':38} {'acc after 50':>14} {'evals to top-10: median':>24} {'mean':>7} {'found':>6}")
    for name, factory, cache in settings:
        accs = []
        for seed in range(args.seeds):
            trials = search(factory(), space, table, "cifar100", 50, seed, cache)
            accs.append(trials.best.score)
        counts = []
        for seed in range(args.seeds):
            trials = search(factory(), space, table, "cifar100", args.budget, seed, cache)
            counts.append(next((k + 1 for k, r in enumerate(trials.records) if r.genotype in top10), None))
        reached = [c for c in counts if c is not None]
        med = np.median([c if c is not None else args.budget for c in counts])
        mean = np.mean([c if c is not None else args.budget for c in counts])
        print(f"{name:38} {np.mean(accs):7.2f} ± {np.std(accs):4.2f} {med:24.0f} {mean:7.0f} "
              f"{len(reached):3d}/{len(counts)}", flush=True)


def naswot(args) -> None:
    table = evaluators.table("nb201", args.table)
    space = spaces.get("nb201")
    archs = sampled_archs("nb201", 3000)
    nwot = cached("nb201", "nwot", "nb201-nwot-3000.jsonl", archs, batch_size=128, data_dir=args.data)
    print(f"NASWOT on NAS-Bench-201 CIFAR-10 (nwot, batch 128, JPEG CIFAR-10 subset), {args.seeds} runs; "
          f"N drawn from the {len(archs)} cached architectures")
    for n in (10, 100, 1000):
        accs = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            pool = [archs[i] for i in rng.choice(len(archs), size=n, replace=False)]
            best = max(pool, key=lambda a: -np.inf if np.isnan(nwot[a]) else nwot[a])
            accs.append(table.test_accuracy(best, "cifar10"))
        print(f"  N = {n:5d}: test accuracy {np.mean(accs):.2f} ± {np.std(accs):.2f} %", flush=True)
    del space


def macro(args) -> None:
    table = evaluators.table("macro", args.macro_table)
    space = spaces.get("macro")
    best = max(table.archs(), key=lambda a: table.test_accuracy(a))
    P, S = args.population, args.tournament
    # the warm-up draws of every seed (the strategy's first 2P samples): the only architectures nwot must score
    needed = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        needed.extend(str(space.sample(rng)) for _ in range(2 * P))
    nwot = cached("macro", "nwot", "macro-nwot.jsonl", list(dict.fromkeys(needed)), data_dir=args.data)
    settings = [("random", lambda: RandomSearch(), None), (f"evolution P={P} S={S}", lambda: Evolution(P, S), None),
                (f"evolution + nwot warm-up {2 * P} (AREA)", lambda: Evolution(P, S, warmup=2 * P), nwot)]
    print(f"NAS-Bench-Macro (table, CIFAR-10): evaluations until its best {best} is found, {args.seeds} seeds, "
          f"budget {args.budget}")
    for name, factory, cache in settings:
        counts = []
        for seed in range(args.seeds):
            trials = search(factory(), space, table, "cifar10", args.budget, seed, cache)
            counts.append(next((k + 1 for k, r in enumerate(trials.records) if r.genotype == best), None))
        found = [c for c in counts if c is not None]
        med = np.median([c if c is not None else args.budget for c in counts])
        print(f"  {name:38} median {med:6.0f}, mean {np.mean([c or args.budget for c in counts]):6.0f}, "
              f"found in {len(found)}/{len(counts)}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", choices=("nb201", "naswot", "macro"))
    p.add_argument("--seeds", type=int, default=32)
    p.add_argument("--population", type=int, default=20, help="evolution's P (default 20: 30 evolution steps in 50)")
    p.add_argument("--tournament", type=int, default=5, help="evolution's S (default 5)")
    p.add_argument("--budget", type=int, default=3000, help="evaluations allowed when counting evaluations to target")
    p.add_argument("--table", default="../shared/data/nb201_test_accuracy.csv")
    p.add_argument("--macro-table", default="../shared/data/nas_bench_macro_cifar10.json")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    args = p.parse_args()
    {"nb201": nb201, "naswot": naswot, "macro": macro}[args.study](args)


if __name__ == "__main__":
    main()
