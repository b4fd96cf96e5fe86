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

import torch
from zc_search import add_arguments, timed_search


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p, order="random", proposals=1, valid_batches=10)  # random: the reference code's order on DARTS
    p.add_argument("--init-channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--include-none", action="store_true")
    args = p.parse_args()
    size = {"C": args.init_channels, "layers": args.layers}
    # the validation stage's candidate: the supernet's size, no auxiliary head
    net, _, _, run = timed_search(args, "darts", {**size, "include_none": args.include_none}, size)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages = {}
    for r in run.log.records:
        if r["kind"] == "score":
            stages[r["stage"]] = stages.get(r["stage"], 0) + 1

    print(f"DARTS ZC-PT  proxy={args.proxy} order={args.order} N={args.proposals} V={args.valid_batches} "
          f"batch={args.batch_size} bn={args.bn_mode} input=32x32 C={args.init_channels} layers={args.layers} "
          f"ops/edge={len(net.candidates(net.edges()[0]))} device={run.device} threads={torch.get_num_threads()}")
    print(f"genotype           {run.result.genotype}")
    print(f"supernet forwards  {run.supernet_forwards}  (op scores {stages.get('op', 0)}, order scores "
          f"{stages.get('order', 0)}, topology scores {stages.get('topology', 0)})")
    print(f"standalone fwd     {run.standalone_forwards}  (validation: {len(run.result.candidates)} candidate(s) × V)")
    print(f"wall time          {run.wall_s:.1f} s   ({run.wall_s / max(run.supernet_forwards, 1):.2f} s per "
          "supernet forward, scoring included)")
    print(f"peak RSS           {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
