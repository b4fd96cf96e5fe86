"""What the search benchmarks share: their common flags and one timed Zero-Cost-PT search that counts
supernet and standalone forwards. Imported by search_nb201.py, search_darts.py, search_mobilenet.py."""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import data, malloc, proxies, spaces  # noqa: E402
from ptnas.device import resolve  # noqa: E402
from ptnas.evaluators import ZeroCost  # noqa: E402
from ptnas.search_log import SearchLog  # noqa: E402
from ptnas.selectors import ZeroCostPT, orders, search  # noqa: E402
from ptnas.selectors.proposals import proposal_seed  # noqa: E402


def add_arguments(p: argparse.ArgumentParser, order: str, proposals: int, valid_batches: int) -> None:
    """The flags every search benchmark takes (the defaults that differ are arguments)."""
    p.add_argument("--order", default=order, help=f"edge order (default {order})")
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--proposals", type=int, default=proposals)
    p.add_argument("--valid-batches", type=int, default=valid_batches)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bn-mode", default="eval", help="BN mode while scoring (default eval, as search.py)")
    p.add_argument("--dataset", default="synthetic-cifar10")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="scoring arithmetic (search.py's --precision)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")


@dataclass
class TimedSearch:
    result: object
    log: SearchLog
    wall_s: float
    supernet_forwards: int
    standalone_forwards: int
    device: torch.device


def timed_search(args: argparse.Namespace, space_name: str, supernet_kwargs: dict, network_kwargs: dict,
                 ) -> tuple[torch.nn.Module, data.BatchSource, Callable, TimedSearch]:
    """Seed 0, a fresh supernet, one `search` timed alone; returns the supernet, the batch source,
    the candidate builder and the figures. Every supernet and standalone forward is counted by a pre-hook.
    The process's malloc is set as search.py sets it (ptnas/malloc.py)."""
    malloc.keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve(args.device)
    space = spaces.get(space_name)
    source = data.BatchSource(data.search_pool(args.dataset, args.data), args.batch_size, device)
    torch.manual_seed(0)
    net = space.place(space.supernet(num_classes=10, **supernet_kwargs), device)
    counts = {"supernet": 0, "standalone": 0}

    def counter(key):
        return lambda *a: counts.__setitem__(key, counts[key] + 1)

    net.register_forward_pre_hook(counter("supernet"))

    def build(g):
        model = space.place(space.network(g, num_classes=10, **network_kwargs), device)
        model.register_forward_pre_hook(counter("standalone"))
        return model

    proxy = proxies.get(args.proxy)
    selector = ZeroCostPT(proxy, lambda i: source.stream(proposal_seed(0, i)), bn_mode=args.bn_mode,
                          precision=args.precision)

    def network(g):  # seeded as the search's validation stage builds candidates
        torch.manual_seed(0)
        return build(g)

    evaluator = ZeroCost(proxy, source.fixed(1, args.valid_batches), network, bn_mode=args.bn_mode,
                         precision=args.precision)
    log = SearchLog(None, tensorboard=False)
    start = time.perf_counter()
    result = search(net, selector, orders.get(args.order), args.proposals, evaluator=evaluator, seed=0, log=log)
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    return net, source, build, TimedSearch(result, log, wall, counts["supernet"], counts["standalone"], device)
