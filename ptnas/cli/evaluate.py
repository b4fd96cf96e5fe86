"""`python -m ptnas.cli.evaluate` / `ptnas-evaluate`: the evaluation job (ptnas/jobs/evaluate.py) from the
command line. Flags over --config; bad input is one line and exit 2; Ctrl-C exits 130 with every
finished evaluation kept (rerun the same command to continue).
"""
from __future__ import annotations

import sys
from typing import Sequence

from ptnas import malloc
from ptnas.cli.processes import fail, join
from ptnas.jobs.evaluate import PROG, EvaluationFailed, build_parser, check, genotypes_of, ranking, run  # noqa: F401
from ptnas.runtime.config import UsageError, given, parse


def main(argv: Sequence[str] | None = None) -> int:
    malloc.keep_freed_memory()
    parser = build_parser()
    try:
        args = parse(parser, argv)
        args.given = given(parser, argv, args.config)  # what check refuses when the evaluator does not read it
        check(args)
    except UsageError as e:
        fail(PROG, str(e))
    process = join(PROG, args.device)  # under torchrun: this rank's device, the process group
    try:
        result = run(args, process, command=" ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    except KeyboardInterrupt:
        return 130
    except EvaluationFailed as e:
        fail(PROG, str(e), code=e.code)
    if result.run_dir is not None:
        print(result.text)
        print(f"run dir: {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
