"""Do a proxy's Zero-Cost-PT decisions survive bf16? The same NB201 search (one proposal, global-op-iter,
BN eval, JPEG CIFAR-10 subset) in fp32 and under bf16 autocast, per proxy and seed; what decides
`Proxy.bf16_reliable`.

    OMP_NUM_THREADS=1 python benchmarks/precision_agreement.py --proxy nwot snip jacob_cov --seeds 0 1 2 3 --C 8 --N 2

Per run: the share of the proposal's decisions that are the same (step by step, until the first
difference: after it the two searches score different supernets), Kendall τ of each scoring pass's
scores (passes on identical supernets only; scipy.stats.kendalltau), the found genotypes' NB201 CIFAR-10
test accuracy (../shared/data/nb201_test_accuracy.csv) and the wall time of each search. The supernet
runs in the space's memory format (channels_last), as search.py runs it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import data, evaluators, proxies, spaces  # noqa: E402
from ptnas.search_log import SearchLog  # noqa: E402
from ptnas.selectors import ZeroCostPT, orders, search  # noqa: E402
from ptnas.selectors.proposals import proposal_seed  # noqa: E402


def run(proxy: str, seed: int, precision: str, args, pool) -> dict:
    space = spaces.get("nb201")
    torch.manual_seed(seed)
    net = space.place(space.supernet(num_classes=10, C=args.C, N=args.N), "cpu")
    source = data.BatchSource(pool, args.batch_size, "cpu")
    selector = ZeroCostPT(proxies.get(proxy), lambda i: source.stream(proposal_seed(seed, i)), bn_mode="eval",
                          precision=precision)
    log = SearchLog(None, tensorboard=False)
    start = time.perf_counter()
    result = search(net, selector, orders.get(args.order), 1, seed=seed, log=log)
    wall = time.perf_counter() - start
    passes: dict[int, dict] = {}
    for r in log.records:
        if r["kind"] == "score":
            passes.setdefault(r["step"], {})[(r["edge"], r["op"])] = r["value"]
    decisions = [(r["edge"], r["op"]) for r in log.records if r["kind"] == "decision"]
    return {"genotype": str(result.genotype), "passes": passes, "decisions": decisions, "seconds": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--proxy", nargs="+", default=["nwot", "snip", "jacob_cov"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--N", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--order", default="global-op-iter")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--table", default="../shared/data/nb201_test_accuracy.csv")
    p.add_argument("--json", default=None, help="also write every run's figures here")
    args = p.parse_args()
    torch.set_num_threads(1)
    pool = data.search_dataset("cifar10", args.data)
    table = evaluators.table("nb201", args.table)
    print(f"NB201 C={args.C} N={args.N} batch {args.batch_size}, {args.order}, 1 proposal, BN eval; command: "
          f"{' '.join(sys.argv)}")
    print(f"{'proxy':10} {'seed':>4} {'same dec':>8} {'min τ':>6} {'mean τ':>6} {'acc fp32':>8} {'acc bf16':>8} "
          f"{'s fp32':>7} {'s bf16':>7}", flush=True)
    rows = []
    for proxy in args.proxy:
        for seed in args.seeds:
            a, b = run(proxy, seed, "fp32", args, pool), run(proxy, seed, "bf16", args, pool)
            same = 0
            for da, db in zip(a["decisions"], b["decisions"]):
                if da != db:
                    break
                same += 1
            taus = []
            for step in range(min(same + 1, len(a["passes"]))):  # passes on identical supernets
                keys = sorted(a["passes"][step])
                taus.append(kendalltau([a["passes"][step][k] for k in keys], [b["passes"][step][k] for k in keys])[0])
            acc = [table.lookup(spaces.get("nb201").parse(r["genotype"]))["cifar10"] for r in (a, b)]
            row = {"proxy": proxy, "seed": seed, "same": same, "decisions": len(a["decisions"]), "taus": taus,
                   "acc_fp32": acc[0], "acc_bf16": acc[1], "s_fp32": a["seconds"], "s_bf16": b["seconds"],
                   "genotype_fp32": a["genotype"], "genotype_bf16": b["genotype"]}
            rows.append(row)
            print(f"{proxy:10} {seed:>4} {same:>4}/{len(a['decisions']):<3} {min(taus):6.3f} "
                  f"{sum(taus) / len(taus):6.3f} {acc[0]:8.2f} {acc[1]:8.2f} {a['seconds']:7.1f} {b['seconds']:7.1f}",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
