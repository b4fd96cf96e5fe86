"""TensorBoard event files that a resumed run appends to in the right order.

TensorBoard reads the event files of a directory in file-name order, and a name starts with the
creation time in whole seconds followed by host and process id. A run resumed within the second its
previous process wrote a file could therefore be read *before* the older file, and the resumed run's
purge marker would then drop the wrong steps. `summary_writer` waits (at most a second) until its
file name sorts after every existing one.
"""
from __future__ import annotations

import time
from pathlib import Path


def _newest_stamp(log_dir: Path) -> int:
    stamps = []
    for f in log_dir.glob("events.out.tfevents.*"):
        part = f.name.split(".")[3]
        if part.isdigit():
            stamps.append(int(part))
    return max(stamps, default=0)


def summary_writer(log_dir: str | Path, purge_step: int | None = None):
    """A `torch.utils.tensorboard.SummaryWriter` whose file is read after the directory's existing ones."""
    from torch.utils.tensorboard import SummaryWriter

    newest = _newest_stamp(Path(log_dir))
    while int(time.time()) <= newest:
        time.sleep(0.05)
    return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)
