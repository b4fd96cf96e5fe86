"""`python -m ptnas.train_final` / `ptnas-train`: the final training (ptnas/jobs/train.py) from the command line.
Bad input is one line and exit 2; Ctrl-C exits 130 with the checkpoints kept (continue with --resume).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from ptnas.cli.processes import fail
from ptnas.jobs.train import PROG, USER_ERRORS, build_parser, resolve  # noqa: F401 - build_parser for the docs' tools


def main(argv: Sequence[str] | None = None) -> int:
    from ptnas import malloc

    malloc.keep_freed_memory()
    try:
        args, ckpt = resolve(argv)
    except (*USER_ERRORS, ValueError) as e:
        fail(PROG, str(e))
    from ptnas.train_final import trainer  # timm and torchvision load after argument errors are out of the way
    try:
        trainer.train(args, ckpt, command=" ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    except USER_ERRORS as e:
        fail(PROG, str(e))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; continue with --resume {Path(args.output) / args.experiment}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
