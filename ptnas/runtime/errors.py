"""The user-error type: bad input, printed by a program as one line with exit code 2, raised by the
Python API as it is (a `ValueError`)."""
from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user: one line saying what is wrong and what is allowed."""


def one_line(e: BaseException) -> str:
    """An exception's message on one line (a KeyError's key without its quotes)."""
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(text.split()) or type(e).__name__
