"""How long one Zero-Cost-PT proposal takes, per edge order, from timed scoring forwards: a search's time
without running the search.

A proposal's scoring passes are planned by a dry run of the order (as search.py's progress bar does): each
pass scores some networks on a supernet with d edges decided. One scoring call (the proxy on the
perturbed supernet, hooks and all) is timed at several d (edges decided with random ops, seed 0), and the
proposal's time is the sum over its passes of networks × the time at that d (linear in between).
`--measure-random` also runs one real random-order proposal, to check the estimate against it.

    OMP_NUM_THREADS=1 python benchmarks/proposal_time.py --space darts --threads 1 2 --measure-random
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from ptnas import proxies, selectors, spaces
from ptnas.search_log import SearchLog
from ptnas.selectors import Selector, orders
from ptnas.selectors.proposals import propose


class Plan(Selector):
    """Scores every candidate 0 and records each pass: (edges decided, networks scored)."""

    name = "plan"

    def __init__(self):
        self.passes: list[tuple[int, int]] = []

    def score_ops(self, net, edges):
        scores = {(e, o): 0.0 for e in edges for o in net.candidates(e)}
        self.passes.append((len(net.edges()) - len(net.undecided()), len(scores)))
        return scores

    def score_edges(self, net, edges):
        self.passes.append((len(net.edges()), len(edges)))
        return {e: 0.0 for e in edges}


def passes(net, order: str) -> list[tuple[int, int]]:
    plan = Plan()
    propose(net, plan, orders.get(order), 0, 0, SearchLog(None, tensorboard=False))
    net.reset_decisions()
    return plan.passes


def call_seconds(net, proxy, batch, decided: int, repeats: int, bn_mode: str) -> float:
    """Median seconds of one scoring call with `decided` edges decided (random ops) and one op removed."""
    rng = np.random.default_rng(0)
    net.reset_decisions()
    edges = net.edges()
    for i in rng.permutation(len(edges))[:decided]:
        e = edges[i]
        net.discretize(e, net.candidates(e)[rng.integers(len(net.candidates(e)))])
    open_ = net.undecided()
    times = []
    for r in range(repeats + 1):
        if open_:
            e = open_[r % len(open_)]
            setup = net.perturb(e, net.candidates(e)[-1])
        else:
            setup = net.perturb_edge(edges[r % len(edges)])
        t = time.perf_counter()
        with setup:
            proxy(net, batch, bn_mode=bn_mode)
        if r:  # the first call warms up
            times.append(time.perf_counter() - t)
    net.reset_decisions()
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="darts")
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bn-mode", default="eval")
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--points", type=int, default=5, help="numbers of decided edges timed, spread from none to all")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--size", nargs="*", default=[], metavar="KEY=INT", help="supernet size keywords, e.g. C=4 layers=3")
    p.add_argument("--orders", nargs="+", default=list(orders.ORDERS.names()))
    p.add_argument("--measure-random", action="store_true", help="also run one random-order proposal and time it")
    args = p.parse_args()

    space = spaces.get(args.space)
    size = {k: int(v) for k, v in (item.split("=") for item in args.size)}
    torch.manual_seed(0)
    net = space.place(space.supernet(num_classes=10, **size), torch.device("cpu"))
    proxy = proxies.get(args.proxy)
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(args.batch_size, 3, 32, 32, generator=g), torch.randint(0, 10, (args.batch_size,), generator=g))
    E = len(net.edges())
    points = sorted({round(E * i / (args.points - 1)) for i in range(args.points)})
    plans = {o: passes(net, o) for o in args.orders}
    print(f"{args.space} supernet {size or space.search_size}, {E} edges, proxy {args.proxy}, batch "
          f"{args.batch_size}, BN {args.bn_mode}, torch {torch.__version__}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        seconds = [call_seconds(net, proxy, batch, d, args.repeats, args.bn_mode) for d in points]
        print(f"\n{threads} thread(s): s per scoring call at d edges decided: "
              + ", ".join(f"d={d}: {s:.3f}" for d, s in zip(points, seconds)))
        print(f"{'order':17} {'networks':>9} {'estimate s':>11} {'estimate h':>11}")
        for order, plan in plans.items():
            total = sum(n * float(np.interp(d, points, seconds)) for d, n in plan)
            print(f"{order:17} {sum(n for _, n in plan):9d} {total:11.1f} {total / 3600:11.2f}")
        if args.measure_random:
            pool = iter(lambda: batch, None)
            selector = selectors.get("zc-pt")(proxy, pool, bn_mode=args.bn_mode)
            t = time.perf_counter()
            propose(net, selector, orders.get("random"), 0, 0, SearchLog(None, tensorboard=False))
            net.reset_decisions()
            print(f"random order, one proposal measured: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
