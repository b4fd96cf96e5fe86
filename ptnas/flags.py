"""Flags that registered algorithms (evaluators, strategies) declare, and how a program adds and checks them.

Each algorithm class lists its own command-line flags in `FLAGS` (every default None, so a use is visible);
a program adds the choice flag (`--evaluator`, `--strategy`) and every algorithm's flags once with
`add_choice`, and `refuse_foreign` refuses a flag that the chosen algorithm does not read. A program never
names an algorithm.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Iterable

from ptnas.registry import Registry


@dataclass(frozen=True)
class Flag:
    """`parser.add_argument(name, **kwargs)`; its default must be None (the algorithm resolves the real one)."""

    name: str
    kwargs: dict[str, Any]

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")


def at_least(low: float, kind: type = int, high: float | None = None, why: str = ""):
    """An argparse `type` that refuses values below `low` (or above `high`, for `why`) in one line naming
    the flag (argparse adds it): 0 or a negative value is never silently replaced by a default."""
    name = {int: "an integer", float: "a number"}[kind]

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:80]!r} is not {name}") from None
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be at least {low:g}, got {text[:80]}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,} ({why}), got {text[:80]}")
        return value

    convert.__name__ = kind.__name__
    return convert


def unset(value, default):
    """`value`, or `default` when the flag was not given (None); unlike `value or default`, 0 stays 0."""
    return default if value is None else value


def declared(registry: Registry, common: Iterable[Flag] = ()) -> list[Flag]:
    """`common` and every registered algorithm's flags, each name once, in order."""
    out: dict[str, Flag] = {f.name: f for f in common}
    for name in registry.names():
        for flag in registry.get(name).FLAGS:
            out.setdefault(flag.name, flag)
    return list(out.values())


def add_choice(parser: argparse.ArgumentParser, title: str, choice: str, registry: Registry, default: str | None,
               help: str, common: Iterable[Flag] = ()) -> None:
    """`--<choice>` and the flags of every algorithm in `registry` (those the parser has already are skipped)."""
    group = parser.add_argument_group(title)
    group.add_argument(f"--{choice}", default=default, help=help)
    known = {s for a in parser._actions for s in a.option_strings}
    for flag in declared(registry, common):
        if flag.name not in known:
            group.add_argument(flag.name, **flag.kwargs)


def refuse_foreign(args: argparse.Namespace, choice: str, registry: Registry) -> None:
    """ValueError (one line) for a flag of another algorithm given while `args.<choice>` is chosen."""
    chosen = getattr(args, choice)
    own = {f.dest for f in registry.get(chosen).FLAGS}
    for flag in declared(registry):
        if flag.dest not in own and getattr(args, flag.dest, None) is not None:
            users = [n for n in registry.names() if flag.dest in {f.dest for f in registry.get(n).FLAGS}]
            raise ValueError(f"{flag.name} applies to --{choice} {' or '.join(users)}, not {chosen}")
