"""Full-size NAS-Bench-201 Zero-Cost-PT on CPU: wall time, forward passes, peak RSS, and the floor.

    python benchmarks/search_nb201.py                       # the issue's setting: nwot, N=10, V=100, batch 64
    python benchmarks/search_nb201.py --proposals 1 --valid-batches 10   # a quick look

The floor is the same number of plain forward passes (supernet and standalone candidates, no_grad,
no proxy, no logging) timed alone: what the search would cost if scoring were free.
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
from ptnas.selectors import ZeroCostPT, orders, search  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--order", default="global-op-iter")
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--proposals", type=int, default=10)
    p.add_argument("--valid-batches", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bn-mode", default="eval")
    p.add_argument("--dataset", default="synthetic-cifar10")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve(args.device)
    space = spaces.get("nb201")
    source = data.BatchSource(data.search_dataset(args.dataset, args.data), args.batch_size, device)
    torch.manual_seed(0)
    net = space.supernet(num_classes=10).to(device)
    counts = {"supernet": 0, "standalone": 0}
    net.register_forward_pre_hook(lambda *a: counts.__setitem__("supernet", counts["supernet"] + 1))

    def build(g):
        model = space.network(g, num_classes=10)
        model.register_forward_pre_hook(lambda *a: counts.__setitem__("standalone", counts["standalone"] + 1))
        return model

    selector = ZeroCostPT(proxies.get(args.proxy), source.stream(0),
                          source.fixed(1, args.valid_batches), bn_mode=args.bn_mode, device=device)
    start = time.perf_counter()
    result = search(net, selector, orders.get(args.order), args.proposals, build=build, seed=0)
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    measured = dict(counts)  # the floor's own passes below are not counted
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
