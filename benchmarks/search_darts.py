"""One Zero-Cost-PT proposal on the DARTS search supernet (C=16, 8 cells, 7 ops per edge): wall time,
forward passes (operation scores, topology scores, validation), peak RSS.

    python benchmarks/search_darts.py                          # N=1, V=10, batch 64, 32x32, random order
    python benchmarks/search_darts.py --order global-op-iter   # ~2,900 supernet forwards per proposal

A DARTS cell is not a chain (each cell reads the two previous ones and decisions are shared by all
cells of a type), so there is no prefix cache here. The number of forwards per proposal depends only
on the order: 28 edges × 7 ops for fixed/random, Σ_k (28 − k) × 7 for global-op-iter, plus 2 × 22
topology scores (nodes 3, 4, 5 of each cell type pruned down to 2 inputs).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import data, proxies, spaces  # noqa: E402
from ptnas.device import resolve  # noqa: E402
from ptnas.search_log import SearchLog  # noqa: E402
from ptnas.selectors import ZeroCostPT, orders, search  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--order", default="random", help="edge order (default random, the reference code's order on DARTS)")
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--proposals", type=int, default=1)
    p.add_argument("--valid-batches", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--init-channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--include-none", action="store_true")
    p.add_argument("--dataset", default="synthetic-cifar10")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve(args.device)
    space = spaces.get("darts")
    source = data.BatchSource(data.search_dataset(args.dataset, args.data), args.batch_size, device)
    torch.manual_seed(0)
    net = space.supernet(num_classes=10, C=args.init_channels, layers=args.layers,
                         include_none=args.include_none).to(device)
    counts = {"supernet": 0, "standalone": 0}
    net.register_forward_pre_hook(lambda *a: counts.__setitem__("supernet", counts["supernet"] + 1))

    def build(g):  # the validation stage's candidate: C=16, 8 cells, no auxiliary head
        model = space.network(g, num_classes=10, C=args.init_channels, layers=args.layers)
        model.register_forward_pre_hook(lambda *a: counts.__setitem__("standalone", counts["standalone"] + 1))
        return model

    valid = list(source.take(1, args.valid_batches))
    selector = ZeroCostPT(proxies.get(args.proxy), source.stream(0), lambda: iter(valid), device=device)
    log = SearchLog(None)
    start = time.perf_counter()
    result = search(net, selector, orders.get(args.order), args.proposals, build=build, seed=0, log=log)
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages = {}
    for r in log.records:
        if r["kind"] == "score":
            stages[r["stage"]] = stages.get(r["stage"], 0) + 1

    print(f"DARTS ZC-PT  proxy={args.proxy} order={args.order} N={args.proposals} V={args.valid_batches} "
          f"batch={args.batch_size} input=32x32 C={args.init_channels} layers={args.layers} "
          f"ops/edge={len(net.candidates(net.edges()[0]))} device={device} threads={torch.get_num_threads()}")
    print(f"genotype           {result.genotype}")
    print(f"supernet forwards  {counts['supernet']}  (op scores {stages.get('op', 0)}, order scores "
          f"{stages.get('order', 0)}, topology scores {stages.get('topology', 0)})")
    print(f"standalone fwd     {counts['standalone']}  (validation: {len(result.candidates)} candidate(s) × V)")
    print(f"wall time          {wall:.1f} s   ({wall / max(counts['supernet'], 1):.2f} s per supernet forward, "
          "scoring included)")
    print(f"peak RSS           {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
