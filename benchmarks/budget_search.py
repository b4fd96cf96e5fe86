"""ZC-PT under a cost limit on MobileNet or DARTS (issue: cost limits): the found network's parameters,
multiply-adds and, with `--latency`, its CPU latency predicted by a latency table and measured whole.

    python benchmarks/budget_search.py --space mobilenet --max-flops 320 600 --latency \
        --data ../shared/data/cifar10-jpg
    python benchmarks/budget_search.py --space darts --max-params 3.5 --data ../shared/data/cifar10-jpg

Costs are those of the network the genotype becomes at the space's final-training size (MobileNet at 224
with 1000 classes, DARTS at C=36 with 20 cells), whatever the supernet's size. The search: ZC-PT with
`--proxy` (nwot), `--order`, `--proposals`, `--valid-batches` batches of `--batch-size` JPEG CIFAR-10
images, on a supernet of `--init-channels` / `--layers` (default: the space's search size). With
`--latency`, a latency table of the space is measured first (`ptnas.spaces.latency.build`, one thread,
statistic min); the found network's latency is predicted from it and measured whole the table's way. The script checks that every found network is
within its limit.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ptnas  # noqa: E402
from ptnas import spaces  # noqa: E402
from ptnas.spaces import latency, limit  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", required=True, choices=("mobilenet", "darts"))
    p.add_argument("--max-flops", type=float, nargs="*", default=[], help="limits in millions of multiply-adds")
    p.add_argument("--max-params", type=float, nargs="*", default=[], help="limits in millions of parameters")
    p.add_argument("--latency", action="store_true", help="measure a latency table and the found networks")
    p.add_argument("--data", required=True)
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--order", default="random")
    p.add_argument("--proposals", type=int, default=1)
    p.add_argument("--valid-batches", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--init-channels", type=int, default=None)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/budget-search")
    args = p.parse_args()

    space = spaces.get(args.space)
    out = Path(args.out)
    table_file = None
    if args.latency:
        start = time.perf_counter()
        table = latency.build(space, device="cpu", threads=1, statistic="min")
        table_file = table.save(out / f"{args.space}-cpu.json")
        print(f"latency table: {time.perf_counter() - start:.1f} s, reference network {table.reference:.2f} ms")
    costs = limit.costs(space, 10, 32, latency_table=table_file)
    size = {k: v for k, v in (("init_channels", args.init_channels), ("layers", args.layers)) if v is not None}
    limits = [("max_flops", v) for v in args.max_flops] + [("max_params", v) for v in args.max_params]
    print(f"{'limit':<16} {'params M':>9} {'MACs M':>8} {'pred ms':>8} {'meas ms':>8} {'s':>6}  genotype", flush=True)
    for key, value in limits:
        start = time.perf_counter()
        result = ptnas.search(space=args.space, selector="zc-pt", order=args.order, proxy=args.proxy,
                              proposals=args.proposals, valid_batches=args.valid_batches, batch_size=args.batch_size,
                              dataset="cifar10", data=args.data, seed=args.seed, device="cpu", force=True,
                              out=str(out / f"{args.space}-{key}{value:g}-seed{args.seed}"), **{key: value}, **size)
        seconds = time.perf_counter() - start
        cost = costs.of(result.genotype)
        found = cost.macs if key == "max_flops" else cost.params
        assert found <= value * 1e6, f"{result.genotype}: {found:,} over --{key.replace('_', '-')} {value}"
        predicted = measured = float("nan")
        if table_file is not None:
            predicted = cost.latency
            measured = table.measure_network(costs.network(result.genotype))
        print(f"--{key.replace('_', '-')} {value:<5g} {cost.params / 1e6:9.3f} {cost.macs / 1e6:8.1f} {predicted:8.2f} "
              f"{measured:8.2f} {seconds:6.0f}  {result.genotype}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
