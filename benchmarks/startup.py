"""Start-up time of the programs: each `--help`, and a whole tiny zero-cost search, against `import torch`.

    OMP_NUM_THREADS=1 python benchmarks/startup.py --runs 5

Each command runs in a fresh interpreter `--runs` times, alternated with the others; the median wall time is
printed, and its excess over `python -c "import torch"`. Time it on an idle machine: a second process on
the 2 cores doubles these figures. The tiny search (NB201, synthetic data, C=4, one cell, one proposal of one
batch of 8) is nearly all start-up; `-X importtime` of it says which libraries it loaded.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torchvision", "timm", "matplotlib", "scipy", "skimage", "tensorboard")


def commands(out: str) -> dict[str, list[str]]:
    py = [sys.executable]
    programs = {f"ptnas-{p} --help": py + ["-m", f"ptnas.cli.{p}", "--help"]
                for p in ("evaluate", "correlate", "train", "draw", "export", "latency")}
    return {"import torch": py + ["-c", "import torch"],
            "search.py --help": py + [str(ROOT / "search.py"), "--help"],
            **programs,
            "tiny zero-cost search": py + [str(ROOT / "search.py"), "--space", "nb201", "--selector", "zc-pt",
                                           "--proposals", "1", "--valid-batches", "1", "--batch-size", "8",
                                           "--init-channels", "4", "--layers", "1", "--device", "cpu",
                                           "--out", out, "--force"]}


def loaded(command: list[str]) -> list[str]:
    """The HEAVY libraries a command imports, from `-X importtime`."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return [h for h in HEAVY if h in names]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with tempfile.TemporaryDirectory() as tmp:
        todo = commands(str(Path(tmp) / "run"))
        seconds: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.runs):
            for name, command in todo.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                seconds[name].append(time.perf_counter() - start)
        base = statistics.median(seconds["import torch"])
        print(f"{'command':<26} {'median s':>8} {'over torch':>10}  libraries loaded (of {', '.join(HEAVY)})")
        for name, command in todo.items():
            median = statistics.median(seconds[name])
            print(f"{name:<26} {median:8.2f} {median - base:+10.2f}  {', '.join(loaded(command)) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
