"""bf16 training on the CPU: images/s of the training evaluators' step in fp32 and bf16 per space, and
whether a shortreg study keeps its ranking under bf16.

    OMP_NUM_THREADS=1 python benchmarks/train_precision.py speed
    OMP_NUM_THREADS=1 python benchmarks/train_precision.py ranking --archs 20 --epochs 2 --C 8 --N 1

speed: one training step of `ShortTraining` (the shortreg / FEAR training: SGD Nesterov, forward,
backward, step) with `--train-precision fp32` and `bf16` (bf16 autocast + channels_last), on random
inputs, the network in its space's memory format as the evaluators build it (channels_last), for a seeded random architecture of each space at its search size (`space.search_size`; the
cell spaces and NAS-Bench-Macro at 32², batch 64; MobileNet at 224², batch 8). The first 5 steps are
not timed.
ranking: `ptnas.evaluate(evaluator="shortreg")` of the same N seeded random NB201 architectures on the JPEG
CIFAR-10 subset, three times: fp32 with seed 0, bf16 with seed 0 and fp32 with seed 1 (the seed sets the
initial weights and the data order: the noise a ranking has anyway). Kendall τ (scipy.stats.kendalltau)
between the fp32 and bf16 scores, between the two fp32 seeds, and of each against the NB201 CIFAR-10 test
accuracy (../shared/data/nb201_test_accuracy.csv), with the wall time of each study.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ptnas  # noqa: E402
from ptnas import evaluators, spaces  # noqa: E402
from ptnas.evaluators.short_training import ShortTraining  # noqa: E402
from ptnas.runtime.loop import train_step  # noqa: E402

WARMUP = 5  # untimed steps: the first steps in a process are slower (oneDNN picks its kernels)
SPEED = [("nb201", 32, 10, 64), ("darts", 32, 10, 64), ("macro", 32, 10, 64), ("mobilenet", 224, 1000, 8)]


def images_per_second(space_name: str, size: int, classes: int, batch: int, precision: str, steps: int) -> float:
    space = spaces.get(space_name)
    torch.manual_seed(0)
    model = space.place(space.network(space.sample(np.random.default_rng(0)), num_classes=classes,
                                      **space.search_size), "cpu")  # as Context.network: the space's memory format
    run = ShortTraining(model, 1, steps, torch.device("cpu"), precision=precision)
    x = torch.randn(batch, 3, size, size)
    if run.settings.channels_last:
        x = x.to(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (batch,))
    model.train()
    for step in range(WARMUP + steps):
        if step == WARMUP:
            start = time.perf_counter()
        train_step(model, x, y, run.criterion, run.optimizer, run.settings)
    return batch * steps / (time.perf_counter() - start)


def speed(args) -> None:
    print(f"training step on the CPU, {torch.get_num_threads()} thread(s), {args.steps} timed steps; torch "
          f"{torch.__version__}")
    print("| space (search size) | input, batch | fp32 images/s | bf16 images/s | bf16 / fp32 |")
    print("|---|---|---:|---:|---:|")
    for name, size, classes, batch in SPEED:
        rates = {p: images_per_second(name, size, classes, batch, p, args.steps) for p in ("fp32", "bf16")}
        print(f"| {name} ({spaces.get(name).search_size}) | {size}², {batch} | {rates['fp32']:.1f} | "
              f"{rates['bf16']:.1f} | {rates['bf16'] / rates['fp32']:.2f}x |", flush=True)


def ranking(args) -> None:
    space = spaces.get("nb201")
    rng = np.random.default_rng(0)
    archs: list[str] = []
    while len(archs) < args.archs:
        g = str(space.sample(rng))
        if g not in archs:
            archs.append(g)
    listing = Path(args.out) / "archs.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(a + "\n" for a in archs))
    table = evaluators.table("nb201", args.table)
    truth = [table.test_accuracy(a, "cifar10") for a in archs]
    scores, seconds = {}, {}
    for name, precision, seed in (("fp32 seed 0", "fp32", 0), ("bf16 seed 0", "bf16", 0), ("fp32 seed 1", "fp32", 1)):
        start = time.perf_counter()
        result = ptnas.evaluate(space="nb201", evaluator="shortreg", genotypes=str(listing), seed=seed,
                                init_channels=args.C, layers=args.N, train_epochs=args.epochs,
                                train_batch_size=args.batch_size, train_precision=precision, dataset="cifar10",
                                data=args.data, device="cpu", out=str(Path(args.out) / name.replace(" ", "-")),
                                force=True)
        seconds[name] = time.perf_counter() - start
        by = {r.genotype: r.score for r in result.records}
        scores[name] = [by[a] for a in archs]
        print(f"{name}: {seconds[name]:.0f} s, τ against the table {kendalltau(scores[name], truth)[0]:.3f}",
              flush=True)
    print(f"{args.archs} NB201 architectures, C={args.C}, N={args.N}, {args.epochs} epochs, batch {args.batch_size}")
    print(f"Kendall τ fp32 vs bf16 (seed 0): {kendalltau(scores['fp32 seed 0'], scores['bf16 seed 0'])[0]:.3f}")
    print(f"Kendall τ fp32 seed 0 vs fp32 seed 1: {kendalltau(scores['fp32 seed 0'], scores['fp32 seed 1'])[0]:.3f}")
    print(f"wall time bf16 / fp32: {seconds['bf16 seed 0'] / seconds['fp32 seed 0']:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", choices=("speed", "ranking"))
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--archs", type=int, default=20)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--N", type=int, default=1)
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--table", default="../shared/data/nb201_test_accuracy.csv")
    p.add_argument("--out", default="runs/train-precision")
    args = p.parse_args()
    {"speed": speed, "ranking": ranking}[args.study](args)


if __name__ == "__main__":
    main()
