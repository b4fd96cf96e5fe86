"""Settings declared once, by the component that reads them, in one vocabulary for flags, YAML and keywords.

A `Setting` is one name with a type, a default, a help text and a check. Its name is the keyword of the
Python API and the YAML key; the flag is the same name with dashes (`valid_batches` = `valid_batches:` =
`--valid-batches`). A setting that several programs offer (the proxy, V, the BN mode, the precision) is
declared once where its meaning lives, and every program adds it from there with `add_to`, so it has one
default and one help text everywhere.

Values are checked where they enter, in the words of the command line: the flag through argparse, a
keyword or a YAML value through `runtime.config.layer`, which runs the same `parse` on the value's text.
So `valid_batches=0` and `--valid-batches 0` both fail with `--valid-batches must be at least 1, got 0`.

Registered components that a program picks by name (`--evaluator`, `--strategy`) declare theirs in a class
attribute `SETTINGS`: the program adds every component's with `add_choice` and `refuse_foreign` refuses one
that was given (a value equal to the default included: `args.given`) while a component that does not read it
is chosen. A program never names a component.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ptnas.runtime.errors import WrongType, echo

TYPES = {str: "a string", int: "an integer", float: "a number"}


@dataclass(frozen=True)
class Setting:
    """One setting. `minimum` is an inclusive lower bound; `check(value)` returns what is wrong or None;
    `choices` are checked by argparse (and by `layer` for keywords and YAML)."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    check: Callable[[Any], str | None] | None = None
    metavar: str | None = None
    const: Any = None  # not None: the flag may be given without a value, which then means `const`

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """A value's text (argparse's `type`): converted, then checked."""
        try:
            value = self.type(text)
        except ValueError:
            raise WrongType(f"{echo(text)} is not {TYPES.get(self.type, 'valid')}") from None
        if self.minimum is not None and value < self.minimum:
            raise argparse.ArgumentTypeError(f"must be at least {self.minimum:g}, got {value}")
        problem = self.check(value) if self.check is not None else None
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    def add_to(self, group) -> None:
        """This setting as a flag of an argparse parser or group, with its default (said in the help)."""
        if self.type is bool:
            group.add_argument(self.flag, action="store_true", default=bool(self.default), help=self.help)
            return
        parse = self.parse if (self.minimum is not None or self.check is not None) else self.type

        def typed(text: str) -> Any:
            return parse(text)

        typed.__name__ = self.type.__name__  # "an integer" in a YAML value's error
        shown = "" if self.default is None else f" (default {self.default})"
        bare = {} if self.const is None else {"nargs": "?", "const": self.const}
        group.add_argument(self.flag, type=typed, default=self.default, choices=self.choices,
                           help=f"{self.help}{shown}", metavar=self.metavar, **bare)


def unique(settings: Iterable[Setting]) -> list[Setting]:
    """Each name once, in order of first declaration; two different declarations of one name are a bug."""
    out: dict[str, Setting] = {}
    for s in settings:
        if s.name in out and out[s.name] != s:
            raise ValueError(f"setting {s.name!r} is declared twice, differently")
        out.setdefault(s.name, s)
    return list(out.values())


def declared(registry, common: Iterable[Setting] = ()) -> list[Setting]:
    """`common` and the `SETTINGS` of every component in `registry` (a `ptnas.registry.Registry`), each once."""
    return unique([*common, *(s for name in registry.names() for s in registry.get(name).SETTINGS)])


def add_choice(parser: argparse.ArgumentParser, title: str, choice: str, registry, default: str | None,
               help: str, common: Iterable[Setting] = ()) -> None:
    """`--<choice>` and the settings of every component in `registry` (those the parser has already are skipped)."""
    group = parser.add_argument_group(title)
    group.add_argument(f"--{choice}", default=default, help=help)
    known = {a.dest for a in parser._actions}
    for setting in declared(registry, common):
        if setting.name not in known:
            setting.add_to(group)


def refuse_foreign(args: argparse.Namespace, choice: str, registry, shared: Iterable[str] = ()) -> None:
    """ValueError (one line) for a setting of another component of `registry` that was given (`args.given`,
    a value equal to its default included) while `args.<choice>` is chosen; `shared` are never refused."""
    chosen, shared = getattr(args, choice), set(shared)
    own = {s.name for s in registry.get(chosen).SETTINGS}
    for setting in declared(registry):
        if setting.name in args.given and setting.name not in own and setting.name not in shared:
            users = [n for n in registry.names() if setting.name in {s.name for s in registry.get(n).SETTINGS}]
            raise ValueError(f"{setting.flag} applies to --{choice} {' or '.join(users)}, not {chosen}")
