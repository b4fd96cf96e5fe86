"""Start-up time of the programs: each `--help`, and a whole tiny zero-cost search, against `import torch`.

    OMP_NUM_THREADS=1 python benchmarks/startup.py --runs 5

Each command runs in a fresh interpreter `--runs` times, alternated with the others; the median wall time is
printed, and its excess over `python -c "import torch"`. Time it on an idle machine: a second process on
the 2 cores doubles these figures. The tiny search (NB201, synthetic data, C=4, one cell, one proposal of one
batch of 8) is mostly work (its synthetic data alone takes seconds); `-X importtime` says which libraries
each command loaded and how long its imports took beyond torch's.
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


def imports(command: list[str]) -> tuple[list[str], float]:
    """The HEAVY libraries a command imports, and the seconds its imports take beyond torch's (from
    `-X importtime`: every top-level import's cumulative time, less torch's own)."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    names, total, torch_us = set(), 0, 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        names.add(name.strip())
        if name.strip() == "torch":
            torch_us = int(cumulative)
        if not name[1:].startswith(" "):  # a top-level import (nested ones are indented further)
            total += int(cumulative)
    return [h for h in HEAVY if h in names], (total - torch_us) / 1e6


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
        _, base_imports = imports(todo["import torch"])
        print(f"{'command':<26} {'median s':>8} {'over torch':>10} {'imports':>8}  "
              f"libraries loaded (of {', '.join(HEAVY)})")
        for name, command in todo.items():
            median = statistics.median(seconds[name])
            libraries, imported = imports(command)
            print(f"{name:<26} {median:8.2f} {median - base:+10.2f} {imported - base_imports:+8.2f}  "
                  f"{', '.join(libraries) or '-'}")
        print("imports: seconds of imports beyond `import torch`'s, from one `-X importtime` run (the rest of a "
              "command's excess is its work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
