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

PARETO = ("pareto-params.png", "pareto-flops.png", "pareto-latency.png")  # score against cost (drawing.py)
ARTIFACTS = ("config.yaml", "scores.jsonl", "events", "genotype.json", "genotype.txt", "genotype.png", "genotype.svg",
             "checkpoint", *PARETO)


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


def maker(path: str | Path) -> str | None:
    """The program that made the run dir: its config.yaml's `program`, else its `command` (older runs);
    None when there is no readable config.yaml."""
    try:
        config = yaml.safe_load((Path(path) / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(config, dict):
        return None
    made = config.get("program") or config.get("command")
    return str(made) if made else None


def refuse_other_program(path: str | Path, program: str) -> None:
    """RunDirExistsError when `path` holds a run that another program made: no program writes into it,
    not even with --force (it could no longer be resumed or read)."""
    made = maker(path)
    if made is not None and not made.startswith(program):
        other = made.split(" --")[0]
        raise RunDirExistsError(f"{path} holds a run of {other}, not of {program}; {program} never writes into "
                                "another program's run dir: pass another --out")


class RunDir:
    def __init__(self, path: str | Path, force: bool = False, resume: bool = False, program: str | None = None):
        """`program`: the program writing the run (refuses a run dir another program made)."""
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise RunDirExistsError(f"run dir {self.path} exists and is not a directory; pass another --out")
        if program is not None:
            refuse_other_program(self.path, program)
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
        for name in ("genotype.json", "genotype.txt", "genotype.png", "genotype.svg", *PARETO):
            (self.path / name).unlink(missing_ok=True)

    @classmethod
    def reopen(cls, path: str | Path, program: str | None = None) -> "RunDir":
        """An existing run dir, to continue the run in it (resume): nothing is deleted."""
        if program is not None:
            refuse_other_program(path, program)
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
