"""Seconds per proxy call on the undecided NB201 supernet, fp32 against bf16 autocast, interleaved.

    OMP_NUM_THREADS=1 python benchmarks/precision_speed.py                 # C=16, N=5, batch 64, 5 repetitions
    OMP_NUM_THREADS=1 python benchmarks/precision_speed.py --proxy nwot --repeats 7

The supernet is in the space's memory format (channels_last), BN in eval mode, as search.py scores it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import precision, proxies, spaces  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--proxy", nargs="+", default=["nwot", "snip", "jacob_cov", "synflow"])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    space = spaces.get("nb201")
    torch.manual_seed(0)
    net = space.place(space.supernet(num_classes=10, C=args.C, N=args.N), "cpu")
    batch = (torch.randn(args.batch_size, 3, 32, 32), torch.randint(0, 10, (args.batch_size,)))
    print(f"NB201 supernet C={args.C} N={args.N}, batch {args.batch_size}, channels_last, 1 thread, median of "
          f"{args.repeats} interleaved repetitions; command: {' '.join(sys.argv)}")
    print(f"{'proxy':10} {'fp32 s':>8} {'bf16 s':>8} {'speed-up':>8}", flush=True)
    for name in args.proxy:
        proxy = proxies.get(name)
        times: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for r in range(args.repeats + 1):  # the first round warms up
            for prec in times:
                start = time.perf_counter()
                with precision.autocast("cpu", prec):
                    proxy(net, batch, bn_mode="eval")
                if r:
                    times[prec].append(time.perf_counter() - start)
        a, b = statistics.median(times["fp32"]), statistics.median(times["bf16"])
        print(f"{name:10} {a:8.3f} {b:8.3f} {a / b:8.2f}", flush=True)


if __name__ == "__main__":
    main()
