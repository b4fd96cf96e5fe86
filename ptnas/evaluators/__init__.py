"""Benchmark tables by space: `evaluators.table("macro", path)` reads the ground truth of that space's
benchmark; every table has `lookup(arch)`, `test_accuracy(arch)`, `report(arch)` and `describe(arch)`."""
from __future__ import annotations

from pathlib import Path

from ptnas.evaluators.macro_table import MacroTable
from ptnas.evaluators.nb201_table import NATSBenchTable, NB201Table, open_table
from ptnas.registry import Registry

_TABLES: Registry = Registry("benchmark table space")
_TABLES.register("nb201", open_table)  # the CSV table, or the official API's benchmark file
_TABLES.register("macro", MacroTable)

table_spaces = _TABLES.names


def table(space: str, path: str | Path) -> NB201Table | NATSBenchTable | MacroTable:
    """The benchmark table of `space` read from `path` (UnknownNameError for a space without one)."""
    return _TABLES.get(space)(path)


__all__ = ["MacroTable", "NATSBenchTable", "NB201Table", "table", "table_spaces"]
