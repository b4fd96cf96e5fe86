"""The user-error type: bad input, printed by a program as one line with exit code 2, raised by the
Python API as it is (a `ValueError`)."""
from __future__ import annotations

import argparse
from typing import Any

LONGEST_ECHO = 80  # characters of a bad value repeated in an error


def echo(value: Any) -> str:
    """A value as an error message repeats it: its repr, cut to LONGEST_ECHO characters."""
    text = repr(value)
    return text if len(text) <= LONGEST_ECHO else text[:LONGEST_ECHO - 3] + "..."


class UsageError(ValueError):
    """Bad input from the user: one line saying what is wrong and what is allowed."""


class WrongType(argparse.ArgumentTypeError):
    """A value's text that is not of a setting's type (a YAML value or keyword then says "expected an integer")."""


def one_line(e: BaseException) -> str:
    """An exception's message on one line (a KeyError's key without its quotes)."""
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(text.split()) or type(e).__name__
