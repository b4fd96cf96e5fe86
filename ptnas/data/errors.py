"""The errors of loading data: missing where the user pointed, or there but unusable (one line each)."""
from __future__ import annotations


class DataNotFoundError(FileNotFoundError):
    """The dataset is not where the user pointed; the message says where we looked and what to pass."""


class DataError(DataNotFoundError):
    """The data is there but unusable (a corrupt image, an empty folder); one line naming the file or folder."""

    def __init__(self, message: str):
        if "\nOriginal Traceback" in message:  # re-raised by a DataLoader worker: keep our own last line
            message = message.strip().splitlines()[-1].split(": ", 1)[-1]
        super().__init__(message)
