"""What a zero-cost search costs against its arithmetic, per space: seconds per scoring forward, achieved
GFLOPS, the floor (the same forward timed alone, NCHW and channels_last), peak memory, and the number of
supernet forwards per proposal for each edge order against its formula.

    OMP_NUM_THREADS=1 python benchmarks/search_speed.py                     # every space, batch 64, 5 repetitions
    OMP_NUM_THREADS=1 python benchmarks/search_speed.py --space nb201 --repeats 7 --precision bf16
    python benchmarks/search_speed.py --counts-only                        # forwards per proposal only (fast)

Timings are interleaved A/B repetitions (NCHW, channels_last, NCHW, ...; medians), so a machine shared with
other jobs slows both settings alike. A scoring forward is one nwot call on the undecided supernet (BN in
eval mode, as search.py scores); the floor is a plain no_grad forward of the same supernet on the same batch.
channels_last: the model converted (`SearchSpace.place`), the input left NCHW, as search.py does.
Chain supernets (mobilenet, macro) are built without their prefix cache here, so that every forward runs
every block. FLOPs: torch.utils.flop_counter.FlopCounterMode (2 per multiply-add, convolutions and matrix
products only), as ptnas/train_final/cost.py counts them. Peak memory: CUDA's max_memory_allocated, or on
CPU the growth of the process's peak RSS over the space's measurements (each space runs in its own process).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import precision, proxies, spaces  # noqa: E402
from ptnas.device import resolve  # noqa: E402
from ptnas.search_log import SearchLog  # noqa: E402
from ptnas.selectors import ZeroCostPT, orders  # noqa: E402
from ptnas.selectors.proposals import propose  # noqa: E402

SPACES = ("nb201", "darts", "mobilenet", "macro")
TINY = {"nb201": {"C": 4, "N": 1}, "darts": {"C": 4, "layers": 3}, "mobilenet": {"C": 8, "layers": 1},
        "macro": {"C": 8}}


def supernet(space, size: dict, device):
    options = {"prefix_cache": False} if "prefix_cache" in space.supernet_options else {}
    torch.manual_seed(0)
    return space.supernet(num_classes=10, **size, **options).to(device).eval()


def standalone(space, size: dict, device):
    torch.manual_seed(0)
    g = space.sample(np.random.default_rng(0))
    return space.network(g, num_classes=10, **size).to(device).eval()


def flops(model, x) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(settings: dict, repeats: int, device) -> dict[str, float]:
    """Median seconds of each `settings[name]()` over `repeats` rounds that run every setting once, in turn."""
    times: dict[str, list[float]] = {k: [] for k in settings}
    for fn in settings.values():  # warm-up
        fn()
    for _ in range(repeats):
        for k, fn in settings.items():
            sync(device)
            t = time.perf_counter()
            fn()
            sync(device)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def forward_counts(space_name: str, device) -> list[tuple[str, int, int]]:
    """(order, forwards counted by a pre-hook on the supernet in proposal 0, formula) at a tiny size."""
    space = spaces.get(space_name)
    net = supernet(space, TINY[space_name], device)
    count = [0]
    net.register_forward_pre_hook(lambda *a: count.__setitem__(0, count[0] + 1))
    E, O = len(net.edges()), len(net.ops(net.edges()[0]))  # noqa: E741 - the paper's |E| and |O|
    topology = sum(sum(range(keep + 1, len(edges) + 1)) for edges, keep in net.topology_groups())
    formula = {"fixed": O * E, "random": O * E, "global-op-iter": O * E * (E + 1) // 2,
               "global-edge-iter": O * E * (E + 1) // 2 + O * E, "global-op-once": 2 * O * E,
               "global-edge-once": 2 * O * E}
    x = torch.randn(2, 3, 16, 16, device=device)
    rows = []
    for order in orders.names():
        selector = ZeroCostPT(proxies.get("nwot"), iter(lambda: (x, torch.zeros(2, dtype=torch.long)), None))
        count[0] = 0
        propose(net, selector, orders.get(order), 0, 0, SearchLog(None, tensorboard=False))
        rows.append((order, count[0], formula[order] + topology))
    return rows


def measure_space(args, space_name: str, device) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    space = spaces.get(space_name)
    size = dict(space.search_size)
    nwot = proxies.get("nwot")
    x = torch.randn(args.batch_size, 3, 32, 32, device=device)
    batch = (x, torch.zeros(args.batch_size, dtype=torch.long, device=device))
    rows = []
    for kind, model in (("supernet", supernet(space, size, device)), ("standalone", standalone(space, size, device))):
        model_cl = __import__("copy").deepcopy(model).to(memory_format=torch.channels_last)
        gflop = flops(model, x) / 1e9
        with precision.autocast(device, args.precision):
            t = interleaved({
                "floor": lambda: torch.no_grad()(model)(x),
                "floor_cl": lambda: torch.no_grad()(model_cl)(x),
                "nwot": lambda: nwot(model, batch, bn_mode="eval"),
                "nwot_cl": lambda: nwot(model_cl, batch, bn_mode="eval"),
            }, args.repeats, device)
        rows.append((kind, gflop, t))
    peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
            else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024)
    for kind, gflop, t in rows:
        print(f"{space_name:9} {kind:10} {gflop:7.2f} {t['nwot']:8.3f} {t['nwot_cl']:8.3f} {t['floor']:8.3f} "
              f"{t['floor_cl']:8.3f} {t['floor'] / t['floor_cl']:6.2f} {gflop / t['floor']:7.1f} "
              f"{gflop / t['floor_cl']:7.1f} {gflop / t['nwot_cl']:7.1f} {peak:8.0f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", nargs="+", default=list(SPACES), choices=SPACES)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5, help="interleaved repetitions per setting (default 5)")
    p.add_argument("--precision", default="fp32", choices=precision.CHOICES)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--counts-only", action="store_true", help="only the forwards per proposal")
    p.add_argument("--no-header", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve(args.device)
    if not args.counts_only:
        if not args.no_header:
            print(f"batch {args.batch_size}, {args.precision}, device {device}, threads {torch.get_num_threads()}, "
                  f"median of {args.repeats} interleaved repetitions; command: {' '.join(sys.argv)}")
            print(f"{'space':9} {'model':10} {'GFLOP':>7} {'nwot s':>8} {'nwot_cl':>8} {'floor s':>8} {'fl_cl s':>8} "
                  f"{'cl x':>6} {'GFLOPS':>7} {'GF/s cl':>7} {'GF/s zc':>7} {'peak MiB':>8}")
        if len(args.space) == 1:
            measure_space(args, args.space[0], device)
        else:  # one process per space: its peak memory is its own
            for s in args.space:
                rest = [a for a in sys.argv[1:] if a not in SPACES and a != "--space"]
                subprocess.run([sys.executable, __file__, *rest, "--space", s, "--no-header"], check=True)
    if args.counts_only or len(args.space) > 1 or not args.no_header:
        print("\nsupernet forwards per proposal (zc-pt, proposal 0, counted by a pre-hook on the supernet) vs formula "
              "(|O| ops, |E| edges; global-op-iter: ½|O||E|(|E|+1), ZC-PT paper; plus the DARTS topology passes)")
        for s in args.space:
            for order, counted, formula in forward_counts(s, device):
                print(f"{s:9} {order:17} {counted:6} {formula:6} {'ok' if counted == formula else 'DIFFERS'}")


if __name__ == "__main__":
    main()
