"""Ground truth from a benchmark table as an evaluator: a genotype's score is its test accuracy (%).

This is how the multi-trial literature simulates training on NAS-Bench-201 and NAS-Bench-Macro
(e.g. Abdelfattah et al., ICLR 2021, §5; White et al. 2020): the table answers instead of a training
run. The table is `--table FILE` (NB201 CSV or the official benchmark file; NAS-Bench-Macro JSON) and
the column `--table-dataset` (NB201: cifar10, cifar100, imagenet16_120; default: --dataset when the
table has it, else cifar10).
"""
from __future__ import annotations

from typing import Any, Hashable

from ptnas.evaluators.base import Context, Evaluator, Record
from ptnas.settings import Setting


class TableEvaluator(Evaluator):
    name = "table"
    READS = ("table",)
    SETTINGS = (Setting("table_dataset", str, None, metavar="COLUMN",
                        help="table: the dataset column scored (NB201: cifar10, cifar100, imagenet16_120; default: "
                             "--dataset when the table has it, else cifar10)"),)

    def __init__(self, table, dataset: str = "cifar10", space: str = ""):
        self.table, self.dataset, self.space = table, dataset, space

    @classmethod
    def from_args(cls, args, context: Context) -> "TableEvaluator":
        from ptnas import evaluators

        if args.table is None:
            raise ValueError("--evaluator table needs --table FILE, the benchmark table of the space")
        table = evaluators.table(context.space.name, args.table)
        return cls(table, column(table, context.dataset, args.table_dataset), context.space.name)

    def describe(self) -> dict[str, Any]:
        return {"evaluator": self.name, "table": str(getattr(self.table, "path", "")), "dataset": self.dataset}

    def evaluate_one(self, genotype: Hashable) -> Record:
        try:
            accuracy = float(self.table.test_accuracy(genotype, self.dataset))
        except KeyError as e:
            return Record(str(genotype), None, "failed", details={"dataset": self.dataset},
                          reason=str(e).strip("'\""))
        return Record(str(genotype), accuracy, "ok", details={"dataset": self.dataset, "test_accuracy": accuracy})


def column(table, dataset: str, requested: str | None = None) -> str:
    """The dataset column of `table` to use: `requested`, else `dataset` when the table has it, else its first."""
    datasets = table.DATASETS
    chosen = requested or (dataset if dataset in datasets else datasets[0])
    if chosen not in datasets:
        raise ValueError(f"--table-dataset {chosen!r}: {table.path} has {', '.join(datasets)}")
    return chosen
