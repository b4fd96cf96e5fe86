"""Images/s of one training step (forward, backward, SGD step) of reference networks, as train_final runs it.

    python benchmarks/train_step.py                       # CPU, batch 32 (the issue's setting)
    python benchmarks/train_step.py --device cuda --batch-size 96

Networks: DARTS-V2 at the DARTS CIFAR-10 size (C=36, 20 cells, auxiliary head weighted 0.4, drop-path on),
ProxylessNAS-GPU at ImageNet 224², and the best NAS-Bench-201 cell at the benchmark's size (C=16, N=5).
A network whose space or reference genotype is not registered is skipped with the reason. Random
inputs; the first --warmup steps are not timed. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from pathlib import Path

import torch
from timm.optim import create_optimizer_v2
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ptnas import device as devices, spaces  # noqa: E402
from ptnas.train_final.cost import count_params  # noqa: E402
from ptnas.runtime.loop import StepSettings, train_step  # noqa: E402

# label, space, words the reference genotype's name must contain, network keywords, input side, classes, aux weight
NETWORKS = [
    ("DARTS-V2 CIFAR-10 (C=36, 20 cells, aux)", "darts", ("darts", "v2"),
     {"C": 36, "layers": 20, "auxiliary": True}, 32, 10, 0.4),
    ("ProxylessNAS-GPU ImageNet 224", "mobilenet", ("proxyless", "gpu"), {"input_size": 224}, 224, 1000, 0.0),
    ("NB201 best CIFAR-10 (C=16, N=5)", "nb201", ("nb201", "best", "cifar10"), {"C": 16, "N": 5}, 32, 10, 0.0),
]


def find_reference(space: str, words: tuple[str, ...]):
    """The space's reference genotype whose name contains every word, or a reason it is missing."""
    if space not in spaces.names():
        return None, f"space {space!r} is not registered (registered: {', '.join(spaces.names())})"
    refs = spaces.get(space).references()
    for name, genotype in refs.items():
        flat = re.sub(r"[^a-z0-9]", "", name.lower())
        if all(w in flat for w in words):
            return genotype, name
    return None, f"no reference genotype named like {'-'.join(words)} in {space} (has: {', '.join(refs) or 'none'})"


def images_per_second(model: nn.Module, size: int, classes: int, aux_weight: float, batch: int, steps: int,
                      warmup: int, device: torch.device) -> float:
    model.to(device).train()
    if hasattr(model, "drop_path_prob"):
        model.drop_path_prob = 0.2 * 0.5  # mid-way through the DARTS ramp, so the drop-path masks are computed
    optimizer = create_optimizer_v2(model, opt="momentum", lr=0.025, weight_decay=3e-4, filter_bias_and_bn=False)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
    settings = StepSettings(aux_weight=aux_weight, clip_grad=5.0)
    criterion = nn.CrossEntropyLoss()
    for step in range(warmup + steps):
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        train_step(model, x, y, criterion, optimizer, settings)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return batch * steps / (time.perf_counter() - start)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args(argv)
    device = devices.resolve(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'CPU'}, " \
                                                                              f"{torch.get_num_threads()} threads"
    print(f"train step, batch {args.batch_size}, {args.steps} timed steps after {args.warmup}; device {device} "
          f"({where}); torch {torch.__version__}")
    print("| network | params (M) | images/s | ms/step |")
    print("|---|---:|---:|---:|")
    for label, space, words, kwargs, size, classes, aux in NETWORKS:
        genotype, found = find_reference(space, words)
        if genotype is None:
            print(f"| {label} | skipped: {found} | | |")
            continue
        torch.manual_seed(0)
        model = spaces.get(space).network(genotype, num_classes=classes, **kwargs)
        rate = images_per_second(model, size, classes, aux, args.batch_size, args.steps, args.warmup, device)
        print(f"| {label} ({found}) | {count_params(model) / 1e6:.2f} | {rate:.1f} | "
              f"{1000 * args.batch_size / rate:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
