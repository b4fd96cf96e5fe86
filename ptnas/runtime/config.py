"""Settings files shared by every program (search, correlate, train_final): YAML values layered under
command-line flags, checked exactly like the flags.

A YAML file of flag values (`--config FILE`, a train_final recipe, a run's saved config.yaml) is a
mapping whose keys are flag dests (`valid_batches` or `valid-batches`). `layer(parser, data, origin)`
checks every value as argparse would check the same value typed on the command line: the action's
`type` (on the value's text, so `1.7` is not an integer and `2.5` is not silently 2), `choices`,
`nargs` (a list of the right length), and true/false for on/off flags. `parse(parser, argv)` reads
`--config FILE` that way, uses it as defaults and parses the command line over it; programs with
more layers combine `explicit`, `layer` and `merge` themselves.
"""
from __future__ import annotations

import argparse
import difflib
import re
from pathlib import Path
from typing import Any, NoReturn, Sequence

import yaml

from ptnas.runtime.errors import LONGEST_ECHO, UsageError, WrongType, echo


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors as a single `prog: error: ...` line (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        # "argument --x: must be at least 1, got 0" reads as the other range errors: "--x must be ..."
        m = re.match(r"argument (--[\w-]+)(?:/\S+)?: (must .*)$", message)
        raise UsageError(f"{m.group(1)} {m.group(2)}" if m else message)


NOT_FROM_FILES = ("help", "config")  # dests a YAML file can never set


def load_yaml(path: str | Path, origin: str) -> dict[str, Any]:
    """The mapping in a YAML file; UsageError (one line, naming `origin` and the line yaml reports)
    when the file is missing, unreadable, malformed or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{origin}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UsageError(f"{origin}: not valid YAML ({where}{problem})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{origin}: cannot be read ({type(e).__name__}: {e})".replace("\n", " ")) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{origin}: expected a mapping of flag names to values, got a {type(data).__name__}")
    return data


def _flag(action: argparse.Action) -> str:
    return next((s for s in action.option_strings if s.startswith("--")), action.dest)


def _expected(action: argparse.Action) -> str:
    if action.type in (None, str):
        return "a string"
    name = getattr(action.type, "__name__", "value")
    return {"int": "an integer", "float": "a number"}.get(name, f"a valid {name}")


def _scalar(action: argparse.Action, value: Any, bad, ranged) -> Any:
    """One value as the command line would give it: its text through the action's `type`; a value of
    the right type that the type's check refuses ("must be at least 1, got 0") reads as on the command line."""
    if isinstance(value, (bool, list, dict)) or value is None:
        raise bad(_expected(action))
    if action.type is None:
        return str(value)
    try:
        return action.type(str(value))
    except WrongType:
        raise bad(_expected(action)) from None
    except argparse.ArgumentTypeError as e:  # a range check of the flag's type
        raise (ranged(e) if str(e).startswith("must") else bad(f"{_expected(action)}; {e}")) from None
    except (TypeError, ValueError):
        raise bad(_expected(action)) from None


def check_value(action: argparse.Action, key: str, value: Any, origin: str) -> Any:
    """`value` (from YAML) converted and checked as `action` would convert and check it on the command line."""
    flag = _flag(action)

    shown = echo(value)

    where = f"{origin}: " if origin else ""  # the Python API's keywords: no origin, the command line's words

    def bad(expected: str) -> UsageError:
        return UsageError(f"{where}{key}: {shown} is not valid for {flag} (expected {expected})")

    def ranged(e: Exception) -> UsageError:
        return UsageError(f"{where}{flag} {e}")

    from_config = getattr(action, "from_config", None)
    if from_config is not None:  # a custom action says how its YAML value reads
        try:
            return from_config(value)
        except (TypeError, ValueError) as e:
            raise UsageError(f"{where}{key}: {shown} is not valid for {flag} ({e})") from None
    if action.nargs == 0:  # store_true / store_false / BooleanOptionalAction
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if value is None:
        if action.default is None:
            return None  # the flag's own "not given"
        raise bad(_expected(action) if action.nargs in (None, "?") else "a list")
    if action.nargs in (None, "?"):
        out = _scalar(action, value, bad, ranged)
        values = [out]
    else:
        if not isinstance(value, list):
            raise bad(f"a list of {action.nargs} values" if isinstance(action.nargs, int) else "a list")
        if isinstance(action.nargs, int) and len(value) != action.nargs:
            raise bad(f"a list of {action.nargs} values")
        if action.nargs == "+" and not value:
            raise bad("a non-empty list")
        out = values = [_scalar(action, v, lambda what: bad(f"a list of {what.split(' ', 1)[1]}s"), ranged) for v in value]
    if action.choices is not None:
        for v in values:
            if v not in action.choices:
                raise UsageError(f"{where}{key}: {shown} is not valid for {flag} "
                                 f"(choose from: {', '.join(map(str, action.choices))})")
    return out


def layer(parser: argparse.ArgumentParser, data: dict[str, Any], origin: str,
          ignore: Sequence[str] = ()) -> dict[str, Any]:
    """YAML values keyed by flag dest, each checked by `check_value`; keys in `ignore` are dropped,
    any other key that is not a flag is a UsageError."""
    actions = {a.dest: a for a in parser._actions if a.dest not in NOT_FROM_FILES}
    out = {}
    for key, value in data.items():
        dest = str(key).replace("-", "_")
        if dest in ignore:
            continue
        if dest not in actions:
            close = difflib.get_close_matches(dest, actions, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"{origin + ': ' if origin else ''}unknown key {str(key)[:LONGEST_ECHO]!r}{hint}; keys are the flags' names with underscores, "
                             f"such as {', '.join(sorted(actions)[:6])}, ...")
        out[dest] = check_value(actions[dest], str(key), value, origin)
    return out


def explicit(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> dict[str, Any]:
    """Only the flags given on the command line, parsed."""
    saved = {a.dest: a.default for a in parser._actions}
    for a in parser._actions:
        a.default = argparse.SUPPRESS
    try:
        return vars(parser.parse_args(argv))
    finally:
        for a in parser._actions:
            a.default = saved[a.dest]


def given(parser: argparse.ArgumentParser, argv: Sequence[str] | None, config: str | None) -> dict[str, Any]:
    """What the user gave, parsed: the command line over the `--config` file's values. A value equal to its
    flag's default counts as given too; the defaults of flags not given are left out."""
    out = layer(parser, load_yaml(config, f"--config {config}"), f"--config {config}") if config else {}
    out.update(explicit(parser, argv))
    return out


def merge(*layers: dict[str, Any], dicts: Sequence[str] = ()) -> dict[str, Any]:
    """Later layers override earlier ones; the dests in `dicts` are merged key by key instead."""
    out: dict[str, Any] = {}
    for values in layers:
        for k, v in values.items():
            out[k] = {**out.get(k, {}), **v} if k in dicts else v
    return out


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line over `--config FILE` (when the parser has --config) over the flags' defaults."""
    pre, _ = parser.parse_known_args(argv)
    if getattr(pre, "config", None):
        parser.set_defaults(**layer(parser, load_yaml(pre.config, f"--config {pre.config}"), f"--config {pre.config}"))
    return parser.parse_args(argv)


def saved_flags(parser: argparse.ArgumentParser, path: str | Path, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The flag values of a run's saved config (e.g. config.yaml read back on --resume), checked like
    --config; keys that are not flags (resolved extras such as versions) and `exclude` are left out."""
    data = load_yaml(path, str(path))
    defaults = {a.dest: a.default for a in parser._actions if a.dest not in (*NOT_FROM_FILES, *exclude)}
    data = {str(k).replace("-", "_"): v for k, v in data.items() if str(k).replace("-", "_") in defaults}
    # null for a flag that has a default now was saved when the algorithm resolved it: that same default
    resolved = {k: defaults[k] for k, v in data.items() if v is None and defaults[k] is not None}
    return {**layer(parser, {k: v for k, v in data.items() if k not in resolved}, str(path)), **resolved}
