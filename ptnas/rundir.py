"""A run directory: resolved config, results and checkpoints, all written atomically.

Layout: config.yaml (fully resolved), scores.jsonl, events/ (TensorBoard), genotype.json, genotype.txt
and its picture genotype.png / genotype.svg, checkpoint/. An existing run dir that already holds any of these is only reused with
`force=True`, which deletes those files (and nothing else) first, or with `resume=True`, which
continues an interrupted run: it keeps everything but the final genotype.* files.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

ARTIFACTS = ("config.yaml", "scores.jsonl", "events", "genotype.json", "genotype.txt", "genotype.png", "genotype.svg",
             "checkpoint")


class RunDirExistsError(FileExistsError):
    """The run dir already holds a run; the message says to pass --force or another --out."""


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
        for a in found:
            target = self.path / a
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        self.path.mkdir(parents=True, exist_ok=True)

    def _clear_for_resume(self) -> None:
        """Continue the run in this dir: only the final results (genotype.*) are written afresh; the search
        decides what of scores.jsonl and events/ it keeps (see ptnas.cli.search)."""
        if not (self.path / "config.yaml").is_file():
            raise RunDirExistsError(f"--resume: {self.path} is not a run dir (it has no config.yaml)")
        for name in ("genotype.json", "genotype.txt", "genotype.png", "genotype.svg"):
            (self.path / name).unlink(missing_ok=True)

    @classmethod
    def reopen(cls, path: str | Path) -> "RunDir":
        """An existing run dir, to continue the run in it (resume): nothing is checked or deleted."""
        run = cls.__new__(cls)
        run.path = Path(path)
        run.path.mkdir(parents=True, exist_ok=True)
        return run

    def write_text(self, name: str, text: str) -> Path:
        """Write `name` atomically: a temporary file in the same directory, then rename."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, allow_nan=True) + "\n")

    def write_yaml(self, name: str, data: Any) -> Path:
        return self.write_text(name, yaml.safe_dump(data, sort_keys=False))
