"""What nwot's hooks cost on top of the forward: the float64 kernel nwot used before (one float32 0/1 matmul per
ReLU, K accumulated in float64) against today's int8 Gram matrix, NCHW and channels_last, interleaved.

    OMP_NUM_THREADS=1 python benchmarks/nwot_hooks.py              # NB201 supernet C=16 N=5, batch 64, 5 repetitions

Both give the same score (checked here); the floor is the plain no_grad forward.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import spaces  # noqa: E402
from ptnas.proxies import Proxy  # noqa: E402
from ptnas.proxies.base import forward_with_hooks  # noqa: E402
from ptnas.proxies.nwot import nwot  # noqa: E402


def nwot_float64(model: nn.Module, batch) -> float:
    """nwot before: per ReLU (x > 0) reshaped (a copy for channels_last), one float32 matmul, K in float64."""
    x = batch[0]
    n = x.shape[0]
    K = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def hook(module, inputs):
        c = (inputs[0].detach().reshape(n, -1) > 0).to(torch.float32)
        s = c.sum(1, dtype=torch.float64)
        K.add_(2.0 * (c @ c.t()).to(torch.float64) - s[:, None] - s[None, :] + c.shape[1])

    forward_with_hooks(model, x, hook, (nn.ReLU, nn.ReLU6), pre=True)
    return torch.linalg.slogdet(K)[1].item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = spaces.get("nb201").supernet().eval()
    net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
    batch = (torch.randn(args.batch_size, 3, 32, 32), torch.zeros(args.batch_size, dtype=torch.long))
    before, after = Proxy("nwot", nwot_float64), Proxy("nwot", nwot)
    assert before(net, batch, "eval") == after(net, batch, "eval")
    settings = {"floor": lambda: torch.no_grad()(net)(batch[0]), "before": lambda: before(net, batch, "eval"),
                "after": lambda: after(net, batch, "eval"), "floor_cl": lambda: torch.no_grad()(net_cl)(batch[0]),
                "before_cl": lambda: before(net_cl, batch, "eval"), "after_cl": lambda: after(net_cl, batch, "eval")}
    times: dict[str, list[float]] = {k: [] for k in settings}
    for r in range(args.repeats + 1):  # the first round warms up
        for k, fn in settings.items():
            start = time.perf_counter()
            fn()
            if r:
                times[k].append(time.perf_counter() - start)
    m = {k: statistics.median(v) for k, v in times.items()}
    print(f"NB201 supernet C=16 N=5, batch {args.batch_size}, BN eval, 1 thread, median of {args.repeats} interleaved "
          f"repetitions; command: {' '.join(sys.argv)}")
    print(f"{'format':15} {'floor s':>8} {'before s':>8} {'after s':>8} {'hooks before':>12} {'hooks after':>11}")
    for label, suffix in (("NCHW", ""), ("channels_last", "_cl")):
        f, b, a = m["floor" + suffix], m["before" + suffix], m["after" + suffix]
        print(f"{label:15} {f:8.3f} {b:8.3f} {a:8.3f} {b - f:12.3f} {a - f:11.3f}")


if __name__ == "__main__":
    main()
