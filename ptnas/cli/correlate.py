"""`python -m ptnas.cli.correlate`: the correlation study (ptnas/jobs/correlate.py) from the command line.
Flags over --config; bad input is one line and exit 2; Ctrl-C exits 130 with every measured architecture
kept (rerun the same command to continue).
"""
from __future__ import annotations

import sys
from typing import Sequence

from ptnas import malloc
from ptnas.cli.processes import fail
from ptnas.jobs.correlate import PROG, CorrelationFailed, build_parser, check, run
from ptnas.runtime.config import UsageError, parse
from ptnas.runtime.process import init_process


def main(argv: Sequence[str] | None = None) -> int:
    malloc.keep_freed_memory()
    parser = build_parser()
    try:
        args = parse(parser, argv)
        check(args)
        process = init_process(args.device)
    except (UsageError, ValueError) as e:
        fail(PROG, str(e))
    try:
        result = run(args, process, command=" ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    except KeyboardInterrupt:
        return 130
    except CorrelationFailed as e:
        fail(PROG, str(e))
    print(result.text, end="")
    print(f"\nrun dir: {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
