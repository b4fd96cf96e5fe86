#!/usr/bin/env python
"""Per-proxy wall time and peak memory on the full-size NAS-Bench-201 network (C=16, N=5), one batch.

    python benchmarks/proxies.py [--batch-size 64] [--repeats 3] [--device cpu] [--threads 1] [--proxies a,b]

Each proxy runs in a fresh process (so one proxy's freed memory cannot hide the next one's peak):
build the network (the benchmark's best CIFAR-10 cell, seed 0) and a random 32×32 batch; peak
memory = the first call's rise of the peak resident set (VmHWM) over the resident set before it on
CPU, or torch.cuda.max_memory_allocated over the memory in use before it on CUDA; wall time =
median of `--repeats` further calls. `--threads 1` by default: on a shared CPU, more threads than
free cores oversubscribe and make every figure slower and noisier.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import device as devices, proxies, spaces  # noqa: E402

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure_one(name: str, batch_size: int, repeats: int, device: torch.device, arch: str) -> dict:
    """Time and peak memory of one proxy, in this process."""
    torch.manual_seed(0)
    model = spaces.get("nb201").network(arch, num_classes=10, C=16, N=5).to(device)
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(batch_size, 3, 32, 32, generator=g).to(device),
             torch.randint(0, 10, (batch_size,), generator=g).to(device))
    proxy = proxies.get(name)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
    else:
        start = _status_kib("VmRSS")
    proxy.measure(model, batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        peak = (torch.cuda.max_memory_allocated(device) - start) / 2**20
    else:
        peak = (_status_kib("VmHWM") - start) / 1024
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proxy.measure(model, batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return {"proxy": name, "seconds": statistics.median(times), "peak_mib": peak}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--proxies", default=",".join(proxies.names()))
    p.add_argument("--arch", default=BEST)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: measure one proxy, print JSON
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = devices.resolve(args.device)
    if args.one:
        print(json.dumps(measure_one(args.one, args.batch_size, args.repeats, device, args.arch)))
        return 0
    net = spaces.get("nb201").network(args.arch, num_classes=10, C=16, N=5)
    print(f"NAS-Bench-201 network C=16 N=5 ({sum(q.numel() for q in net.parameters()):,} params), "
          f"batch {args.batch_size}, device {device}, torch threads {args.threads}, "
          f"median of {args.repeats} calls after a first call that measures memory")
    print(f"{'proxy':<15} {'seconds':>9} {'peak MiB':>9}  passes")
    for name in args.proxies.split(","):
        proxy = proxies.get(name)
        cmd = [sys.executable, __file__, "--one", name, "--batch-size", str(args.batch_size),
               "--repeats", str(args.repeats), "--device", args.device, "--threads", str(args.threads),
               "--arch", args.arch]
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(f"{name:<15} {result['seconds']:9.3f} {result['peak_mib']:9.1f}  {proxy.passes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
