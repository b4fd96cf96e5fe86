"""Full-size NAS-Bench-201 Zero-Cost-PT on CPU: wall time, forward passes, peak RSS, and the floor.

    python benchmarks/search_nb201.py                       # the issue's setting: nwot, N=10, V=100, batch 64
    python benchmarks/search_nb201.py --proposals 1 --valid-batches 10   # a quick look

The floor is the same number of plain forward passes (supernet and standalone candidates, no_grad,
no proxy, no logging) timed alone: what the search would cost if scoring were free.
"""
from __future__ import annotations

import argparse
import resource
import time

import torch
from zc_search import add_arguments, timed_search


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p, order="global-op-iter", proposals=10, valid_batches=100)
    args = p.parse_args()
    net, source, build, run = timed_search(args, "nb201", {}, {})
    result, wall, device = run.result, run.wall_s, run.device
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    measured = {"supernet": run.supernet_forwards, "standalone": run.standalone_forwards}
    # Floor: the same number of plain forwards, on batches already in memory.
    x = next(source.stream(2))[0]
    model = build(result.genotype).to(device)
    floor = {}
    for name, m, n in (("supernet", net, measured["supernet"]), ("standalone", model, measured["standalone"])):
        m.train(args.bn_mode == "train")
        with torch.no_grad():
            m(x)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(n):
                m(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            floor[name] = time.perf_counter() - t

    print(f"NB201 ZC-PT  proxy={args.proxy} order={args.order} N={args.proposals} V={args.valid_batches} "
          f"batch={args.batch_size} bn={args.bn_mode} device={device} threads={torch.get_num_threads()}")
    print(f"genotype           {result.genotype}  ({len(result.candidates)} unique candidates)")
    print(f"{'':18} {'forwards':>9} {'floor s':>9}")
    print(f"{'supernet':18} {measured['supernet']:>9} {floor['supernet']:>9.1f}")
    print(f"{'standalone':18} {measured['standalone']:>9} {floor['standalone']:>9.1f}")
    total_floor = sum(floor.values())
    print(f"search wall time   {wall:.1f} s   floor {total_floor:.1f} s   ratio {wall / total_floor:.2f}")
    print(f"peak RSS           {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
