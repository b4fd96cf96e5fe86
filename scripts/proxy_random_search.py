"""Random search by a zero-cost proxy on a tabular benchmark, the baseline beside Zero-Cost-PT, and the
proxies' rank correlation with the benchmark's accuracy.

1. A seeded pool of the table's architectures (`--pool` of them, or all) is scored once each: a fresh
   standalone network at the benchmark's size (weights seeded by the arch's index in the pool), its own
   minibatch of the search pool (the i-th batch of one seeded stream), every proxy of `--proxies`.
   Scores go to <out>/scores.jsonl as they are computed; re-running continues where it stopped.
2. Spearman ρ of each proxy with the table's test accuracy over the scored archs (scipy.stats).
3. Random search, per seed and budget k: k archs drawn without replacement from the scored pool, the
   best by `--select` kept. A uniform k-subset of a uniform random pool is a uniform k-subset of the
   space, so each seed is a true best-of-k random search (seeds share the pool, so they are not
   independent); k is capped at the pool size.

    python scripts/proxy_random_search.py --space macro --table ../shared/data/nas_bench_macro_cifar10.json \
        --data ../shared/data/cifar10-jpg --pool 1000 --budgets random=340,global-op-iter=1180 \
        --out runs/random_search_macro -- --device cpu
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptnas import data, evaluators, proxies, spaces  # noqa: E402
from ptnas.device import resolve  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="macro", choices=evaluators.table_spaces())
    p.add_argument("--table", required=True, help="the space's benchmark table")
    p.add_argument("--data", required=True, help="CIFAR-10 directory (torchvision or ImageFolder layout)")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--out", required=True)
    p.add_argument("--pool", type=int, default=1000, help="archs scored, a seeded sample of the table (0: all)")
    p.add_argument("--pool-seed", type=int, default=0)
    p.add_argument("--proxies", default="nwot,synflow")
    p.add_argument("--select", default="nwot", help="the proxy random search selects by")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bn-mode", default="eval", choices=proxies.BN_MODES, help="as search.py's default")
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--budgets", default="", help="name=k,... proxy evaluations per random search")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-run", action="store_true", help="only analyse the archs already scored")
    args = p.parse_args()

    table = evaluators.table(args.space, args.table)
    space = spaces.get(args.space)
    chosen = [proxies.get(n) for n in args.proxies.split(",")]
    archs = sorted(table.archs())
    order = np.random.default_rng(args.pool_seed).permutation(len(archs))
    pool = [archs[i] for i in order[: args.pool or len(archs)]]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scores_path = out / "scores.jsonl"
    scored = {}
    if scores_path.exists():
        for line in scores_path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut short by a crash
            scored[r["arch"]] = r

    if not args.no_run:
        device = resolve(args.device)
        batches = data.BatchSource(data.search_dataset(args.dataset, args.data), args.batch_size, device)
        stream = batches.stream(args.pool_seed)
        with open(scores_path, "a") as f:
            for i, arch in enumerate(tqdm(pool, desc="archs")):
                batch = next(stream)  # arch i always gets the i-th batch, also when continuing
                if arch in scored:
                    continue
                torch.manual_seed(i)
                model = space.network(arch, num_classes=data.num_classes(args.dataset)).to(device)
                record = {"arch": arch, "index": i, **{x.name: x(model, batch, bn_mode=args.bn_mode) for x in chosen}}
                f.write(json.dumps(record) + "\n")
                f.flush()
                scored[arch] = record

    done = [a for a in pool if a in scored]
    acc = np.array([table.test_accuracy(a) for a in done])
    all_acc = np.sort([table.test_accuracy(a) for a in archs])
    rank = {a: 1 + len(all_acc) - int(np.searchsorted(all_acc, table.test_accuracy(a), side="right")) for a in done}
    summary = {"pool": len(done), "of": len(archs), "spearman": {}, "random_search": {}}
    print(f"\n{len(done)} of {len(pool)} pool archs scored (pool seed {args.pool_seed}, {len(archs)} in the table)")
    for x in chosen:
        v = np.array([scored[a][x.name] for a in done], dtype=float)
        ok = np.isfinite(v)
        rho = float(stats.spearmanr(v[ok] if x.higher_is_better else -v[ok], acc[ok]).statistic)
        summary["spearman"][x.name] = {"rho": rho, "n": int(ok.sum())}
        print(f"Spearman ρ({x.name}, test accuracy) = {rho:.3f} over {int(ok.sum())} archs")

    select = proxies.get(args.select)
    sign = 1 if select.higher_is_better else -1
    for budget in filter(None, args.budgets.split(",")):
        name, _, k = budget.partition("=")
        k = min(int(k), len(done))
        found = []
        for seed in map(int, args.seeds.split(",")):
            draw = np.random.default_rng(seed).choice(len(done), size=k, replace=False)
            best = max((done[i] for i in draw), key=lambda a: sign * np.nan_to_num(scored[a][args.select], nan=-np.inf))
            found.append({"seed": seed, "arch": best, "test_accuracy": table.test_accuracy(best), "rank": rank[best]})
        accs, ranks = [f["test_accuracy"] for f in found], [f["rank"] for f in found]
        summary["random_search"][name] = {"k": k, "found": found}
        print(f"random search best-of-{k} by {args.select} ({name}): test accuracy {statistics.mean(accs):.2f} ± "
              f"{statistics.stdev(accs) if len(accs) > 1 else 0:.2f}, rank {statistics.mean(ranks):.0f} ± "
              f"{statistics.stdev(ranks) if len(ranks) > 1 else 0:.0f}; archs {', '.join(f['arch'] for f in found)}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
