"""A run directory: resolved config, results and checkpoints, all written atomically.

Layout: config.yaml (fully resolved), scores.jsonl, events/ (TensorBoard), genotype.json, genotype.txt
and its picture genotype.png / genotype.svg, checkpoint/. An existing run dir that already holds any of these is only reused with
`force=True`, which deletes those files (and nothing else) first, or with `resume=True`, which
continues an interrupted run: it keeps everything but the final genotype.* files.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from ptnas import atomic, jsonio

ARTIFACTS = ("config.yaml", "scores.jsonl", "events", "genotype.json", "genotype.txt", "genotype.png", "genotype.svg",
             "checkpoint")


class RunDirExistsError(FileExistsError):
    """The run dir already holds a run; the message says to pass --force or another --out."""


class RunDirError(ValueError):
    """The run dir cannot be made or written (a read-only parent, a file in the way); the message names
    the path and the reason."""


def _make(path: Path) -> None:
    """mkdir -p, then check that files can be created there; RunDirError (one line) otherwise."""
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise RunDirError(f"cannot create run dir {path}: {blocker} is a file; choose another output directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        where = f" ({e.filename})" if e.filename and str(e.filename) != str(path) else ""
        raise RunDirError(f"cannot create run dir {path}: {e.strerror or e}{where}; "
                          "choose another output directory") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunDirError(f"run dir {path} is not writable; choose another output directory")


class RunDir:
    def __init__(self, path: str | Path, force: bool = False, resume: bool = False):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise RunDirExistsError(f"run dir {self.path} exists and is not a directory; pass another --out")
        if resume:
            self._clear_for_resume()
            return
        found = [a for a in ARTIFACTS if (self.path / a).exists()] if self.path.is_dir() else []
        if found and not force:
            raise RunDirExistsError(
                f"run dir {self.path} already holds a run ({', '.join(found)}); pass --force to overwrite "
                "it or --out to choose another")
        _make(self.path)
        for a in found:
            target = self.path / a
            shutil.rmtree(target) if target.is_dir() else target.unlink()

    def _clear_for_resume(self) -> None:
        """Continue the run in this dir: only the final results (genotype.*) are written afresh; the search
        decides what of scores.jsonl and events/ it keeps (see ptnas.cli.search)."""
        if not (self.path / "config.yaml").is_file():
            raise RunDirExistsError(f"--resume: {self.path} is not a run dir (it has no config.yaml)")
        _make(self.path)
        for name in ("genotype.json", "genotype.txt", "genotype.png", "genotype.svg"):
            (self.path / name).unlink(missing_ok=True)

    @classmethod
    def reopen(cls, path: str | Path) -> "RunDir":
        """An existing run dir, to continue the run in it (resume): nothing is checked or deleted."""
        run = cls.__new__(cls)
        run.path = Path(path)
        _make(run.path)
        return run

    def write_text(self, name: str, text: str) -> Path:
        """Write `name` atomically (`ptnas.atomic`: a temporary file in the same directory, then rename)."""
        return atomic.write_text(self.path / name, text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return atomic.write_bytes(self.path / name, data)

    def write_json(self, name: str, data: Any) -> Path:
        """Strict JSON: NaN and inf are written as null (`ptnas.jsonio`)."""
        return self.write_text(name, jsonio.dumps(data, indent=2) + "\n")

    def write_yaml(self, name: str, data: Any) -> Path:
        return self.write_text(name, yaml.safe_dump(data, sort_keys=False))
