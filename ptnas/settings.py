"""Settings, declared by the components that read them, in one vocabulary for flags, YAML and keywords.

A `Setting` is one name with a type, a default and a check. Its name is the keyword of the Python API
and the YAML key; the flag is the same name with dashes (`valid_batches` = `valid_batches:` =
`--valid-batches`). Selectors, strategies, evaluators, spaces and the bilevel trainer list the settings
they read in `SETTINGS`; a job collects them from the registries, and a program builds its flags from the
same list, so no program names an algorithm.

    values = resolve(declared, {"valid_batches": 10}, origin="ptnas.search")   # a `Settings`
    values.valid_batches, values.given                                         # 10, {"valid_batches"}

Every value is checked where it enters, in the words of the command line: a keyword `valid_batches=0`
and a flag `--valid-batches 0` both fail with `--valid-batches must be at least 1, got 0` (a
`UsageError`, which is a `ValueError`).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from ptnas.runtime.errors import UsageError

TYPES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
LONGEST_ECHO = 80  # characters of a bad value repeated in an error


def echo(value: Any) -> str:
    """A value as an error message repeats it: its repr, cut to LONGEST_ECHO characters."""
    text = repr(value)
    return text if len(text) <= LONGEST_ECHO else text[:LONGEST_ECHO - 3] + "..."


@dataclass(frozen=True)
class Setting:
    """One setting. `default` None means "not set" (the reader decides, and says so in `help`);
    `minimum` is an inclusive lower bound, `check(value)` returns what is wrong or None."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    check: Callable[[Any], str | None] | None = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def from_text(self, text: str) -> Any:
        """A command-line value (argparse's `type`): converted and checked."""
        try:
            value = self.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{echo(text)} is not {TYPES.get(self.type, 'valid')}") from None
        problem = self.problem(value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    def convert(self, value: Any) -> Any:
        """A Python value (a keyword, a YAML value): of the setting's type, then checked; UsageError otherwise."""
        if value is None and self.default is None:
            return None
        ok = (isinstance(value, bool) if self.type is bool else
              isinstance(value, int) and not isinstance(value, bool) if self.type is int else
              isinstance(value, (int, float)) and not isinstance(value, bool) if self.type is float else
              isinstance(value, str) if self.type is str else isinstance(value, self.type))
        if not ok:
            raise UsageError(f"{self.flag}: {echo(value)} is not {TYPES.get(self.type, 'valid')}")
        value = float(value) if self.type is float else value
        problem = self.problem(value)
        if problem is not None:
            raise UsageError(f"{self.flag} {problem}")
        return value

    def problem(self, value: Any) -> str | None:
        """What is wrong with a value of the right type, as the tail of a message after the flag."""
        if value is None:
            return None
        if self.choices is not None and value not in self.choices:
            return f"{echo(value)} is not one of: {', '.join(map(str, self.choices))}"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}, got {value}"
        return self.check(value) if self.check is not None else None

    def add_to(self, group) -> None:
        """This setting as a flag of an argparse parser or group; an absent flag is absent from the result."""
        if self.type is bool:
            group.add_argument(self.flag, action="store_true", default=argparse.SUPPRESS, help=self.help)
        else:
            group.add_argument(self.flag, type=self.from_text, default=argparse.SUPPRESS, help=self.help,
                               metavar=self.metavar or self.name.upper())


def unique(settings: Iterable[Setting]) -> list[Setting]:
    """Each name once, in order of first declaration; two different declarations of one name are a bug."""
    out: dict[str, Setting] = {}
    for s in settings:
        if s.name in out and out[s.name] != s:
            raise ValueError(f"setting {s.name!r} is declared twice, differently")
        out.setdefault(s.name, s)
    return list(out.values())


class Settings(Mapping[str, Any]):
    """Resolved values by name (also as attributes), and `given`: the names the user set explicitly."""

    def __init__(self, values: Mapping[str, Any], given: Iterable[str] = ()):
        self._values = dict(values)
        self.given = frozenset(given)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def replace(self, **values: Any) -> "Settings":
        return Settings({**self._values, **values}, self.given)

    def __repr__(self) -> str:
        return f"Settings({self._values!r})"


def check(declared: Sequence[Setting], given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` (keywords or YAML) converted and checked; a name that is not declared is refused."""
    by_name = {s.name: s for s in declared}
    out = {}
    for key, value in given.items():
        name = str(key).replace("-", "_")
        if name not in by_name:
            raise UsageError(f"unknown setting {echo(key)}; settings are the flags' names, such as "
                             f"{', '.join(sorted(by_name)[:6])}, ...")
        out[name] = by_name[name].convert(value)
    return out


def resolve(declared: Sequence[Setting], given: Mapping[str, Any], base: Mapping[str, Any] | None = None,
            defaults: Mapping[str, Any] | None = None) -> Settings:
    """Every declared setting: `given` (already checked) over `base` (e.g. a resumed run's saved values)
    over `defaults` (a component's own defaults for others' settings) over each setting's default."""
    values = {s.name: s.default for s in declared}
    values.update({k: v for k, v in (defaults or {}).items() if k in values})
    values.update({k: v for k, v in (base or {}).items() if k in values})
    values.update(given)
    return Settings(values, given)


def flag_names(names: Iterable[str]) -> str:
    return " or ".join(f"--{n.replace('_', '-')}" for n in names)
