"""`ptnas-latency` / `python -m ptnas.cli.latency`: measure a space's latency lookup table on a device, and
with --check N its prediction error on N random networks measured whole (ptnas.spaces.latency).

    python -m ptnas.cli.latency --space mobilenet --device cpu --threads 1 --out mobilenet-cpu.json --check 50
    python -m ptnas.cli.latency --space nb201 --init-channels 4 --layers 1 --out tiny.json --repeats 3

The table (JSON) is written atomically once measured, and again with the check's figures under "check" when
that is done. Bad input is one line on stderr and exit 2, with nothing written; Ctrl-C exits 130.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from ptnas import device as devices
from ptnas import malloc, seeding, spaces
from ptnas.cli.processes import fail
from ptnas.registry import UnknownNameError
from ptnas.runtime.config import OneLineParser, UsageError
from ptnas.spaces import latency

PROG = "ptnas-latency"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Measure a search space's per-(edge, op) latency table on a device "
                                             "(ProxylessNAS / FBNet style) and its prediction error.")
    p.add_argument("--space", required=True, help=", ".join(spaces.names()))
    p.add_argument("--out", required=True, metavar="FILE", help="the table's JSON file (replaced atomically)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads while measuring (default: torch's, recorded in the table)")
    p.add_argument("--repeats", type=int, default=latency.REPEATS,
                   help=f"timed forwards per module; the latency is their median (default {latency.REPEATS})")
    p.add_argument("--warmup", type=int, default=latency.WARMUP,
                   help=f"untimed forwards before them (default {latency.WARMUP})")
    p.add_argument("--statistic", choices=tuple(latency.STATISTICS), default="median",
                   help="of the timed forwards: median, or min where other processes share the machine (default median)")
    p.add_argument("--check", type=int, default=0, metavar="N",
                   help="measure N random networks whole against the table's prediction (default 0: none)")
    seeding.SEED.add_to(p)
    p.add_argument("--num-classes", type=int, default=None,
                   help="classifier outputs (default: the space's cost_input: 10, mobilenet 1000)")
    p.add_argument("--input-size", type=int, default=None,
                   help="side of the square input (default: the space's cost_input: 32, mobilenet 224)")
    p.add_argument("--init-channels", type=int, default=None, help="the space's width (default: standalone)")
    p.add_argument("--layers", type=int, default=None, help="the space's depth (default: standalone)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        space, size, out = check(args)
    except (UsageError, UnknownNameError) as e:
        fail(PROG, str(e))
    malloc.keep_freed_memory()
    try:
        return run(args, space, size, out)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130


def check(args: argparse.Namespace) -> tuple[spaces.SearchSpace, dict[str, Any], Path]:
    """Everything that needs no measuring: the space and its size, the device, the output, the counts."""
    space = spaces.get(args.space)
    for flag, low in (("threads", 1), ("repeats", 1), ("warmup", 0), ("check", 0), ("num_classes", 1),
                      ("input_size", 1)):
        value = getattr(args, flag)
        if value is not None and value < low:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least {low}, got {value}")
    if args.check == 1:
        raise UsageError("--check needs at least 2 networks (a rank correlation), got 1")
    try:
        size = space.size_kwargs(args.init_channels, args.layers)
        size = space.cost_arguments(args.num_classes, args.input_size, **size)
        devices.resolve(args.device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out}: is a directory")
    if out.parent.exists() and not out.parent.is_dir():
        raise UsageError(f"--out {out}: {out.parent} is not a directory")
    return space, size, out


def run(args: argparse.Namespace, space: spaces.SearchSpace, size: dict[str, Any], out: Path) -> int:
    table = latency.build(space, device=args.device, repeats=args.repeats, warmup=args.warmup, threads=args.threads,
                          statistic=args.statistic, progress=True, **size)
    try:
        table.save(out)
    except OSError as e:
        fail(PROG, f"--out {out}: cannot write ({e.strerror or e})", code=1)
    entries = sum(len(row) for row in table.ops.values())
    print(f"{space.name} latency table ({', '.join(f'{k}={v}' for k, v in size.items())}) on {table.device} "
          f"({table.device_name}, {table.threads} thread(s), {table.timing['statistic']} of {table.timing['repeats']}): {len(table.ops)} edges, {entries} entries; "
          f"reference network {table.reference:.3f} ms, fixed {table.fixed:.3f} ms; built in {table.build_seconds:.1f} s")
    print(f"table: {out}")
    if args.check:
        with latency.torch_threads(table.threads):
            table.check = latency.check(table, args.check, seed=args.seed, progress=True)
        table.save(out)
        c = table.check
        print(f"prediction on {c['networks']} random networks (seed {c['seed']}, {c['seconds']:.1f} s): "
              f"mean abs error {c['mape_percent']:.2f}%, max {c['max_error_percent']:.2f}% ({c['max_error_ms']:.3f} ms), "
              f"bias {c['bias_percent']:+.2f}%, Spearman {c['spearman']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
