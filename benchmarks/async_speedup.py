"""Wall time of a multi-trial search with W = 1 and W = 2 evaluations in flight, on each executor.

    OMP_NUM_THREADS=1 python benchmarks/async_speedup.py --rounds 2

Evolution (P = 4, S = 2) with shortreg (1 epoch) on NB201 at C=4, N=1, synthetic CIFAR-10, 20 evaluations,
one thread per process, run by search.py as a user would:
  local W=1     search.py ...
  torchrun W=2  torchrun --standalone --nproc_per_node 2 search.py ...   (local: batches of 2 over the ranks)
  torchrun async W=2   the same with --executor torchrun                (each rank takes the next at once)
  ray W=1, W=2  search.py ... --executor ray --jobs 1|2                   (a local Ray started by the search)
For each: the whole command's wall time, the evaluation phase's (from the first to the last record, the
search's own clock), and how busy the workers were: the evaluations' summed seconds / (W × that phase).
Speed-ups are against local W=1. Run on an otherwise idle machine; the rounds alternate the commands.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--strategy", "evolution", "--population", "4",
          "--tournament", "2", "--trials", "20", "--evaluator", "shortreg", "--train-epochs", "1", "--seed", "0",
          "--device", "cpu"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
COMMANDS = {
    "local W=1": (1, [sys.executable, "search.py", *SEARCH]),
    "torchrun W=2": (2, [*TORCHRUN, "search.py", *SEARCH]),
    "torchrun async W=2": (2, [*TORCHRUN, "search.py", *SEARCH, "--executor", "torchrun"]),
    "ray W=1": (1, [sys.executable, "search.py", *SEARCH, "--executor", "ray", "--jobs", "1"]),
    "ray W=2": (2, [sys.executable, "search.py", *SEARCH, "--executor", "ray", "--jobs", "2"]),
}


def measure(name: str, workers: int, command: list[str], out: Path) -> tuple[float, float, float]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} failed: {done.stderr[-2000:]}")
    summary = json.loads((out / "genotype.json").read_text())
    rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    evaluated = sum(r["seconds"] for r in rows if r["kind"] == "evaluation")
    phase = summary["seconds"][-1]
    return wall, phase, evaluated / (workers * phase)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--only", nargs="+", default=list(COMMANDS), choices=list(COMMANDS))
    args = p.parse_args()
    results: dict[str, list] = {name: [] for name in args.only}
    for r in range(args.rounds):
        for name in args.only:
            workers, command = COMMANDS[name]
            results[name].append(measure(name, workers, command, ROOT / "runs" / f"speedup-{name.replace(' ', '-')}"))
            wall, phase, busy = results[name][-1]
            print(f"round {r}: {name:18} wall {wall:6.1f} s, evaluations {phase:6.1f} s, busy {100 * busy:5.1f} %",
                  flush=True)
    base = results.get("local W=1")
    print(f"{'executor':18} {'wall (s)':>16} {'evaluations (s)':>18} {'busy':>12} {'speed-up (evaluations)':>24}")
    for name, runs in results.items():
        walls = ", ".join(f"{w:.1f}" for w, _, _ in runs)
        phases = ", ".join(f"{ph:.1f}" for _, ph, _ in runs)
        busy = ", ".join(f"{100 * b:.0f}%" for _, _, b in runs)
        ratio = "" if base is None else f"{min(b[1] for b in base) / min(ph for _, ph, _ in runs):.2f}x"
        print(f"{name:18} {walls:>16} {phases:>18} {busy:>12} {ratio:>24}")


if __name__ == "__main__":
    main()
