"""Read the genotype to train, and its space, from what a user has at hand.

Accepted: a search run dir (holds `genotype.json`), a `genotype.json` (`{"space": ..., "genotype": ...}`),
a text file, or the text itself (NB201 arch string, DARTS `Genotype(...)`, MobileNet block list).
The space is `--space` when given, else the JSON's "space" field, else the one registered space whose
`parse` accepts the text.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Hashable

from ptnas import spaces


class GenotypeError(ValueError):
    """The genotype cannot be read or parsed; the message is one line for the CLI."""


def read(source: str) -> tuple[str, str | None]:
    """`(text, space or None)` from a run dir, a JSON or text file, or the text itself."""
    path = Path(source)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError:  # a long genotype string is not a valid path on some systems
        is_dir = is_file = False
    if is_dir:
        if not (path / "genotype.json").is_file():
            raise GenotypeError(f"--genotype {path}: a directory, but it has no genotype.json (a search run dir has one)")
        path, is_file = path / "genotype.json", True
    if not is_file:
        return source.strip(), None
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        return text.strip(), None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GenotypeError(f"--genotype {path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("genotype"), str):
        raise GenotypeError(f"--genotype {path}: expected a JSON object with a \"genotype\" string (and \"space\")")
    space = data.get("space")
    return data["genotype"].strip(), (str(space) if space is not None else None)


def load(source: str, space: str | None = None) -> tuple[str, Hashable]:
    """`(space name, genotype)`; GenotypeError or UnknownNameError with a one-line message."""
    text, found_space = read(source)
    if not text:
        raise GenotypeError("--genotype is empty; pass a search run dir, a genotype.json or the genotype text")
    if space is not None and found_space is not None and space != found_space:
        raise GenotypeError(f"--space {space} but {source} holds a {found_space} genotype")
    name = space or found_space
    if name is not None:
        if name not in spaces.names():
            raise GenotypeError(f"the genotype is of the {name} space, which is not available here; "
                                f"registered spaces: {', '.join(spaces.names())}")
        try:
            return name, spaces.get(name).parse(text)
        except ValueError as e:
            raise GenotypeError(f"not a valid {name} genotype: {e}") from None
    parsed, errors = {}, []
    for candidate in spaces.names():
        try:
            parsed[candidate] = spaces.get(candidate).parse(text)
        except (ValueError, TypeError, SyntaxError) as e:
            errors.append(f"{candidate}: {e}")
    if len(parsed) == 1:
        return next(iter(parsed.items()))
    if not parsed:
        raise GenotypeError(f"{_short(text)} is not a genotype of any registered space ({'; '.join(errors)})")
    raise GenotypeError(f"{_short(text)} parses in several spaces ({', '.join(parsed)}); pass --space")


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
