"""The programs' side of torchrun: join the job, keep every rank but 0 quiet, and agree on setup errors.

    process = join(PROG, args.device)     # one process without torchrun; rank r of W under it
    error = settle(process, error)        # every rank's setup error (or None), the same on every rank
"""
from __future__ import annotations

import os
import sys
import warnings
from typing import NoReturn

from ptnas import device as devices
from ptnas.runtime.process import Process, init_process, launched_rank, settle  # noqa: F401 - settle for the programs


LONGEST = 1000  # characters of an error line


def join(prog: str, device: str) -> Process:
    """The device (its local GPU under torchrun with --device auto|cuda) and the process group. A device
    every rank lacks is one line from rank 0; a GPU this rank alone lacks is one line from this rank."""
    try:
        devices.resolve(device)
    except ValueError as e:
        fail(prog, str(e))
    try:
        process = init_process(device)
    except ValueError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if not process.primary:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the life of the process
        warnings.simplefilter("ignore")
    return process


def primary() -> bool:
    """Rank 0, or no torchrun (readable before `join`)."""
    return launched_rank() == 0


def fail(prog: str, message: str, code: int = 2) -> NoReturn:
    """One line on stderr and exit `code`; under torchrun only rank 0 prints (every rank fails alike)."""
    if launched_rank() == 0:
        message = " ".join(message.split())
        if len(message) > LONGEST:  # a huge input line is not echoed whole
            message = message[:LONGEST - 3] + "..."
        print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)
