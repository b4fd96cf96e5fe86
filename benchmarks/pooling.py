"""The cell spaces' 3×3 pooling on the CPU: PyTorch's pooling kernels against ptnas.ops.pooling's routes
(depthwise ones convolution for the average, shifted maxima for the maximum), at the NB201 / DARTS shapes,
channels_last, batch 64: milliseconds per call (median of `--repeats`), and the largest difference.

    OMP_NUM_THREADS=1 python benchmarks/pooling.py
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ptnas.ops.pooling import AvgPool3x3, MaxPool3x3


def ms(fn, x, repeats: int) -> float:
    for _ in range(3):
        fn(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def backward(fn):
    def run(x):
        fn(x).sum().backward()
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {args.batch_size}, channels_last")
    print(f"{'C':>3} {'H':>3} {'s':>2} | {'avg lib':>8} {'avg ours':>8} {'x':>5} {'diff':>8} | {'max lib':>8} "
          f"{'max ours':>8} {'x':>5} | {'avg fwd+bwd lib':>15} {'ours':>6} {'x':>5}")
    for C, H, s in ((16, 32, 1), (32, 16, 1), (64, 8, 1), (16, 32, 2), (32, 16, 2)):
        x = torch.randn(args.batch_size, C, H, H).contiguous(memory_format=torch.channels_last)
        avg, mx = AvgPool3x3(s), MaxPool3x3(s)
        with torch.no_grad():
            lib_avg = ms(lambda t: F.avg_pool2d(t, 3, s, 1, count_include_pad=False), x, args.repeats)
            our_avg = ms(avg, x, args.repeats)
            lib_max = ms(lambda t: F.max_pool2d(t, 3, s, 1), x, args.repeats)
            our_max = ms(mx, x, args.repeats)
            diff = (avg(x) - F.avg_pool2d(x, 3, s, 1, count_include_pad=False)).abs().max().item()
        xg = x.detach().requires_grad_()
        lib_bwd = ms(backward(lambda t: F.avg_pool2d(t, 3, s, 1, count_include_pad=False)), xg, args.repeats)
        our_bwd = ms(backward(avg), xg, args.repeats)
        print(f"{C:>3} {H:>3} {s:>2} | {lib_avg:8.3f} {our_avg:8.3f} {lib_avg / our_avg:5.2f} {diff:8.1e} | "
              f"{lib_max:8.3f} {our_max:8.3f} {lib_max / our_max:5.2f} | {lib_bwd:15.3f} {our_bwd:6.3f} "
              f"{lib_bwd / our_bwd:5.2f}")
    print("(max pooling at stride 2, and with a gradient, runs the library's kernel: ratio ≈ 1 there)")


if __name__ == "__main__":
    main()
