"""How the Python API calls a job: keywords checked as the job's flags, then the job on this process.

    given = keywords.given(parser, settings)     # `config` (a YAML file) under the other keywords
    result = keywords.start(run, args, "ptnas.search", settings)
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, Callable

from ptnas.runtime.config import layer, load_yaml
from ptnas.runtime.errors import UsageError
from ptnas.runtime.process import init_process


def given(parser: argparse.ArgumentParser, settings: dict[str, Any]) -> dict[str, Any]:
    """The keywords as flag values, each checked by its flag's own type and choices (errors in the
    command line's words); `config=FILE` is read first, as `--config FILE`, and the keywords override it."""
    settings = dict(settings)
    config = settings.pop("config", None)
    out = layer(parser, load_yaml(config, f"config {config}"), f"config {config}") if config is not None else {}
    out.update(layer(parser, settings, ""))
    if config is not None:
        out["config"] = str(config)
    return out


def start(run: Callable[..., Any], args: argparse.Namespace, origin: str, settings: dict[str, Any]):
    """`run(args, process, command)` on this process; without `out`, in a scratch directory that is removed
    after, so nothing stays written (the result's run_dir is then None)."""
    try:
        process = init_process(args.device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    command = f"{origin}({', '.join(f'{k}={v!r}' for k, v in settings.items())})"
    if args.out is not None:
        return run(args, process, command)
    with tempfile.TemporaryDirectory(prefix=f"{origin.replace('.', '-')}-") as scratch:
        args.out = str(Path(scratch) / "run")
        result = run(args, process, command)
    result.run_dir = None
    return result
