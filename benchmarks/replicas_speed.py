"""Replicated scoring against one forward per candidate: seconds per Zero-Cost-PT scoring pass, per space.

A scoring pass here is the global-op-iter pass of an undecided supernet: every alive op of every edge is
perturbed once (30 candidates on NB201), all measured on one minibatch with nwot (BN in eval mode, as
search.py scores). It is timed with `--replicas 1` (one forward per candidate) and with replicas of
chunk size K (one forward of K·n rows per chunk), alternately, medians over the repeats; the table also
gives the largest score difference between the two and peak memory (CUDA's max_memory_allocated; on
CPU the growth of peak RSS, measured in the first setting's order, so read it as an upper bound).

    OMP_NUM_THREADS=1 python benchmarks/replicas_speed.py --space nb201 --chunks 5 30
    OMP_NUM_THREADS=1 python benchmarks/replicas_speed.py --space darts --edges 2 --chunks 7 14 --repeats 1
    python benchmarks/replicas_speed.py --space nb201 darts --device cuda --batch-size 256 --chunks 8 32 0
    python benchmarks/replicas_speed.py --tiny      # every space at tiny size: checks the script itself

Chunk 0 is search.py's automatic choice (every candidate of the pass at once on CUDA, 1 on CPU).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import proxies, spaces  # noqa: E402
from ptnas.device import resolve  # noqa: E402
from ptnas.selectors import ZeroCostPT  # noqa: E402
from search_speed import SPACES, TINY, sync  # noqa: E402  (this folder is on the path of a script run from it)


def peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def one_pass(net, batch, proxy: str, replicas: int, device: torch.device, edges: int | None) -> tuple[float, dict]:
    selector = ZeroCostPT(proxies.get(proxy), iter(lambda: batch, None), bn_mode="eval", replicas=replicas)
    sync(device)
    start = time.perf_counter()
    scores = selector.score_ops(net, net.undecided()[:edges])
    sync(device)
    return time.perf_counter() - start, scores


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", nargs="+", default=list(SPACES), choices=SPACES)
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--chunks", type=int, nargs="+", default=[5, 0], help="replica chunk sizes K to time (0 = auto)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--edges", type=int, default=None, help="score only the first EDGES edges (default all)")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="tiny supernets, one repeat: checks the script")
    args = p.parse_args(argv)
    device = resolve(args.device)
    if args.tiny:
        args.repeats = 1
    print(f"replicated scoring ({device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"proxy {args.proxy}, batch {args.batch_size})")
    print(f"{'space':10s} {'cands':>5s} {'K':>4s} {'s/pass':>8s} {'x vs 1':>7s} {'max|dscore|':>11s} {'peak MiB':>9s}")
    for name in args.space:
        space = spaces.get(name)
        torch.manual_seed(0)
        size = TINY[name] if args.tiny else space.search_size
        net = space.place(space.supernet(num_classes=10, **size).eval(), device)
        x = torch.randn(args.batch_size, 3, 32, 32, device=device)
        batch = (x, torch.randint(0, 10, (args.batch_size,), device=device))
        settings = [1] + list(args.chunks)
        one_pass(net, batch, args.proxy, 1, device, args.edges)  # warm-up
        times = {k: [] for k in settings}
        scores = {}
        peaks = {}
        for _ in range(args.repeats):
            for k in settings:
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                before = peak_bytes(device)
                seconds, scores[k] = one_pass(net, batch, args.proxy, k, device, args.edges)
                times[k].append(seconds)
                peaks[k] = max(peaks.get(k, 0), peak_bytes(device) - (0 if device.type == "cuda" else before))
        base = statistics.median(times[1])
        for k in settings:
            t = statistics.median(times[k])
            diff = max(abs(scores[k][key] - scores[1][key]) for key in scores[1])
            print(f"{name:10s} {len(scores[1]):5d} {k:4d} {t:8.3f} {base / t:7.2f} {diff:11.2e} {peaks[k] / 2**20:9.1f}")


if __name__ == "__main__":
    main()
