"""What every evaluator of whole subnetworks shares: the record it returns, the context it is built
from, and the settings it declares.

An evaluator scores the standalone networks of a list of genotypes (`evaluate(genotypes)`), one
`Record` per genotype, in order, each passed to `on_record` as soon as it exists. `score` is always
"higher = better": an evaluator turns a proxy's direction around, its callers never do. A candidate
that cannot be scored is `failed` (with the reason) or, for evaluators with early rejection,
`rejected`; its score is None and callers rank it last.

The command-line programs (search.py's validation stage, ptnas-evaluate, multi-trial search) build an
evaluator with `Evaluator.from_args(args, context)` and never name one: each evaluator declares its own
settings (`SETTINGS`, `ptnas.settings.Setting`s with their real defaults) and the generic ones it reads
(`READS`), so the programs can refuse a setting that does not apply to the chosen evaluator.
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, ClassVar, Hashable, Sequence

import torch
from torch import nn

from ptnas.settings import Setting

STATUSES = ("ok", "rejected", "failed")


@dataclass
class Record:
    """The result of evaluating one genotype."""

    genotype: str
    score: float | None  # higher = better; None unless status is "ok"
    status: str = "ok"
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown record status {self.status!r}; choose from: {', '.join(STATUSES)}")
        if self.score is not None and not math.isfinite(self.score):
            self.score, self.status = None, "failed"
            self.reason = self.reason or "the score is NaN or infinite"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def merit(self) -> float:
        """The score, with anything not ok ranked below every ok record."""
        return self.score if self.ok and self.score is not None else -math.inf

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Record":
        """The record of a scores.jsonl or evaluations.jsonl row (its score under `value`); ValueError,
        one line, for a row that is not one."""
        value, seconds, details = row.get("value"), row.get("seconds", 0.0), row.get("details") or {}
        if not isinstance(row.get("genotype"), str):
            raise ValueError(f"a record's genotype must be a string, got {row.get('genotype')!r}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"a record's value must be a number or null, got {value!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not isinstance(details, dict):
            raise ValueError(f"a record's seconds must be a number and its details a mapping, got {seconds!r}, "
                             f"{details!r}")
        reason = row.get("reason")
        return cls(row["genotype"], None if value is None else float(value), row.get("status", "ok"), float(seconds),
                   details, None if reason is None else str(reason))


@dataclass
class Context:
    """Everything an evaluator may need beyond its own flags, resolved once by the calling program.

    size: network size keywords (the space's `network(g, num_classes, **size)`).
    data: dataset name, directory, download flag and the training portion the search splits use
        (`data.search_splits`): training evaluators train on the first part and validate on the rest.
    run_dir: where evaluators may cache what they compute once (FEAR's threshold).
    """

    space: Any
    num_classes: int
    size: dict[str, Any] = field(default_factory=dict)
    device: torch.device = torch.device("cpu")
    seed: int = 0
    dataset: str = "synthetic-cifar10"
    data_dir: str = "data"
    download: bool = False
    train_portion: float = 0.5
    batch_size: int = 64
    workers: int = 0
    run_dir: Path | None = None
    progress: bool = False

    def network(self, genotype: Hashable) -> nn.Module:
        """The genotype's standalone network, seeded so a genotype always gets the same initial weights."""
        torch.manual_seed(self.seed)
        model = self.space.network(genotype, num_classes=self.num_classes, **self.size)
        place = getattr(self.space, "place", None)  # a SearchSpace puts it in its memory format
        return place(model, self.device) if place is not None else model.to(self.device)

    @cached_property
    def search_pool(self):
        """The search's training portion, decoded once, augmented (crop + flip) where it is drawn: what
        zero-cost scoring draws batches from."""
        from ptnas import data

        return data.search_pool(self.dataset, self.data_dir, self.train_portion, self.download)

    @cached_property
    def decoded_splits(self):
        """(train, valid) of the search splits, decoded once into memory on the device."""
        from ptnas.data.decoded import decoded

        train = decoded(self.dataset, self.data_dir, download=self.download, portion=(0.0, self.train_portion))
        valid = decoded(self.dataset, self.data_dir, download=self.download, portion=(self.train_portion, 1.0),
                        augment=False) if self.train_portion < 1 else None
        return train.to(self.device), (valid.to(self.device) if valid is not None else None)


Sink = Callable[[Record], None]


class Evaluator:
    """Base class. Subclasses set `name`, `SETTINGS`, `READS`, implement `from_args` and `evaluate_one`
    (or `evaluate`, when candidates are scored against each other)."""

    name: ClassVar[str] = ""
    SETTINGS: ClassVar[tuple[Setting, ...]] = ()  # the settings it reads of its own, with their defaults
    READS: ClassVar[tuple[str, ...]] = ()  # generic flags (dests) it reads, e.g. ("proxy", "valid_batches")
    deterministic: ClassVar[bool] = True  # same genotype, same settings -> same record (timings aside)

    @classmethod
    def from_args(cls, args: argparse.Namespace, context: Context) -> "Evaluator":
        raise NotImplementedError

    def evaluate(self, genotypes: Sequence[Hashable], on_record: Sink | None = None) -> list[Record]:
        records = []
        for g in genotypes:
            record = self.timed(g)
            if on_record is not None:
                on_record(record)
            records.append(record)
        return records

    def prepare(self) -> None:
        """Load and check what the evaluations will need (the data, batch sizes against it): a job calls
        it before it makes the run dir, so bad input ends the run with one line and nothing half-made.
        Raises ValueError (or DataNotFoundError); calling it again costs nothing."""

    def shardable(self, genotypes: Sequence[Hashable]) -> bool:
        """Whether `genotypes` may be split over ranks (False: a candidate's score depends on the others)."""
        return True

    def share_minimum(self, board) -> None:
        """Under torchrun: `board` (evaluators.distributed.SharedMinimum) is a value every rank lowers and
        reads; evaluators that compare candidates against the best so far (FEAR) keep it."""

    def timed(self, genotype: Hashable) -> Record:
        start = time.perf_counter()
        record = self.evaluate_one(genotype)
        if not record.seconds:
            record.seconds = time.perf_counter() - start
        return record

    def evaluate_one(self, genotype: Hashable) -> Record:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Settings worth recording next to the results (config.yaml, TensorBoard)."""
        return {"evaluator": self.name}


def ranked(records: Sequence[Record]) -> list[int]:
    """Indices of `records`, best first (ties keep their order; rejected and failed come last)."""
    return sorted(range(len(records)), key=lambda i: -records[i].merit())
