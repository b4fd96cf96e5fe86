"""CLI plumbing shared by the entry points: YAML defaults under command-line flags, one-line errors.

`parse(parser, argv)` reads `--config FILE` first, uses its keys as defaults (a key is a flag's
dest, `valid_batches` or `valid-batches`), then parses the command line over them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, Sequence

import yaml


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors as a single `prog: error: ...` line (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    pre, _ = parser.parse_known_args(argv)
    if getattr(pre, "config", None):
        path = Path(pre.config)
        if not path.is_file():
            raise UsageError(f"--config {path}: no such file")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise UsageError(f"--config {path}: expected a mapping of flag names to values")
        known = {a.dest for a in parser._actions}
        defaults = {}
        for key, value in data.items():
            dest = str(key).replace("-", "_")
            if dest not in known or dest in ("help", "config"):
                raise UsageError(f"--config {path}: unknown key {key!r}; keys are flag names such as "
                                 f"{', '.join(sorted(k for k in known if k not in ('help', 'config'))[:6])}, ...")
            defaults[dest] = value
        parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def fail(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)
