"""`python search.py` / `ptnas-search` / `python -m ptnas.cli.search`: the search job (ptnas/jobs/search.py)
from the command line. Flags over --config over, with --resume, the run's saved settings; bad input is
one line and exit 2; Ctrl-C exits 130 with the run kept.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ptnas import malloc
from ptnas.cli.processes import fail, join
from ptnas.jobs.search import PROG, SearchFailed, build_parser, check, resolve, run  # noqa: F401 - build_parser for tests
from ptnas.runtime.config import UsageError, given, parse


def main(argv: Sequence[str] | None = None) -> int:
    malloc.keep_freed_memory()
    parser = build_parser()
    try:
        args = _settings(parser, argv)
        check(args)
    except UsageError as e:
        fail(PROG, str(e))
    process = join(PROG, args.device)  # under torchrun: this rank's device, the process group
    command = " ".join([PROG, *(sys.argv[1:] if argv is None else argv)])
    try:
        result = run(args, process, command)
    except KeyboardInterrupt:
        return 130
    except SearchFailed as e:
        fail(PROG, str(e), code=e.code)
    if result.run_dir is None:  # ranks but 0
        return 0
    print(f"genotype: {result.summary['genotype']}")
    if result.benchmark is not None:
        print(result.benchmark)
    for warning in result.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    print(f"run dir: {result.run_dir}")
    return 0


def _settings(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """What the user gave (the command line over --config; a value equal to a flag's default counts
    too), resolved by the job over the run's saved settings on --resume."""
    args = parse(parser, argv)  # checks the command line and the --config file
    resolved = resolve(parser, given(parser, argv, args.config))
    resolved.config = args.config
    return resolved


if __name__ == "__main__":
    sys.exit(main())
