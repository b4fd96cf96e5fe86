"""Atomic file writes: a temporary file in the target's directory, flushed and fsynced, then renamed.

A reader sees the old file or the new one, never a half-written one. The file is created with the
usual mode (0o666 minus the umask, as `open()` would), not `tempfile.mkstemp`'s 0600, so result files
are as readable as any other file the user writes.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def open_atomic(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """`with open_atomic(p) as f: torch.save(obj, f)`: `p` is replaced only when the block succeeds."""
    if mode not in ("wb", "w"):
        raise ValueError(f"open_atomic writes whole files: mode 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:  # os.open applies the umask to 0o666, like open(); O_EXCL never reuses another writer's file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    with open_atomic(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    with open_atomic(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)
