"""Evaluators of whole subnetworks, by name, and benchmark tables by space.

    evaluators.get("fear")           # zero-cost | table | shortreg | fear
    evaluators.names()
    evaluator = evaluators.build(args, context)        # from parsed flags (see base.Context)
    records = evaluator.evaluate(genotypes, on_record)  # one Record per genotype, score higher = better

`add_flags(parser)` adds `--evaluator` and every evaluator's settings (its class's `SETTINGS`) to a program's
parser; `check_flags(args)` refuses one given (`args.given`) that the chosen evaluator does not read.

`evaluators.table("macro", path)` reads the ground truth of that space's benchmark; every table has
`lookup(arch)`, `test_accuracy(arch)`, `report(arch)` and `describe(arch)`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ptnas.evaluators.base import Context, Evaluator, Record, ranked
from ptnas.evaluators.fear import Fear
from ptnas.evaluators.macro_table import MacroTable
from ptnas.evaluators.nb201_table import NATSBenchTable, NB201Table, open_table
from ptnas.evaluators.shortreg import ShortReg
from ptnas.evaluators.table import TableEvaluator
from ptnas.evaluators.zero_cost import ZeroCost
from ptnas.registry import Registry
from ptnas.settings import Setting, add_choice, declared, refuse_foreign

_EVALUATORS: Registry[type[Evaluator]] = Registry("evaluator", group="ptnas.evaluators")
_EVALUATORS.register("zero-cost", ZeroCost)
_EVALUATORS.register("table", TableEvaluator)
_EVALUATORS.register("shortreg", ShortReg)
_EVALUATORS.register("fear", Fear)

get = _EVALUATORS.get
register = _EVALUATORS.register  # register(name, item), or @register(name); a taken name is refused
names = _EVALUATORS.names

_TABLES: Registry = Registry("benchmark table space")
_TABLES.register("nb201", open_table)  # the CSV table, or the official API's benchmark file
_TABLES.register("macro", MacroTable)

table_spaces = _TABLES.names


def table(space: str, path: str | Path) -> NB201Table | NATSBenchTable | MacroTable:
    """The benchmark table of `space` read from `path` (UnknownNameError for a space without one)."""
    return _TABLES.get(space)(path)


# The zero-cost evaluator's settings (the proxy, V, the BN mode, the precision) are those of every program
# that scores, added before the evaluators' and read by the selectors too: never refused as another's.
SHARED = tuple(s.name for s in ZeroCost.SETTINGS)


def own_settings() -> list[Setting]:
    """Every registered evaluator's own settings, each once (the SHARED ones left out)."""
    return [s for s in declared(_EVALUATORS) if s.name not in SHARED]


def add_flags(parser: argparse.ArgumentParser, default: str = "zero-cost") -> None:
    """`--evaluator` and the evaluators' settings (each once, even when several evaluators share it)."""
    add_choice(parser, "evaluator (ranks whole candidate networks)", "evaluator", _EVALUATORS, default,
               f"{', '.join(names())} (default {default})")


def check_flags(args: argparse.Namespace, shared: tuple[str, ...] = SHARED) -> None:
    """ValueError (one line) for an evaluator setting given (`args.given`) that `args.evaluator` does not read.
    `shared` settings are never refused: by default the zero-cost ones, which a search's selectors and
    strategies read too; a program where only the evaluator reads them passes `shared=()`."""
    refuse_foreign(args, "evaluator", _EVALUATORS, shared=shared)


def build(args: argparse.Namespace, context: Context) -> Evaluator:
    check_flags(args)
    return get(args.evaluator).from_args(args, context)


__all__ = ["Context", "Evaluator", "Fear", "MacroTable", "NATSBenchTable", "NB201Table", "Record",
           "ShortReg", "TableEvaluator", "ZeroCost", "SHARED", "add_flags", "build", "check_flags", "get", "own_settings", "register", "names", "ranked",
           "table", "table_spaces"]
