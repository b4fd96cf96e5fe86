"""An evaluator behind a cost limit: a genotype over the limit (ptnas.spaces.limit) is `rejected` with the
reason and never built; the others go to the wrapped evaluator. Records keep the genotypes' order and reach
`on_record` in that order, as soon as every earlier one exists. Under torchrun it goes inside
`distributed.Sharded`, so every rank rejects its own share."""
from __future__ import annotations

from typing import Any, Hashable, Sequence

from ptnas.evaluators.base import Evaluator, Record, Sink
from ptnas.spaces.limit import Limit


def limited(evaluator: Evaluator, limit: Limit | None) -> Evaluator:
    """`evaluator` behind `limit` (None: no limit, the evaluator itself)."""
    return evaluator if limit is None else Limited(evaluator, limit)


class Limited(Evaluator):
    """`evaluator`, with the genotypes over `limit` rejected before it sees them."""

    def __init__(self, evaluator: Evaluator, limit: Limit):
        self.evaluator, self.limit = evaluator, limit
        self.name = evaluator.name
        self.deterministic = evaluator.deterministic

    def describe(self) -> dict[str, Any]:
        return {**self.evaluator.describe(), **{k: v for k, v in self.limit.describe().items() if v is not None}}

    def prepare(self) -> None:
        self.evaluator.prepare()

    def shardable(self, genotypes: Sequence[Hashable]) -> bool:
        return self.evaluator.shardable(genotypes)

    def share_minimum(self, board) -> None:
        self.evaluator.share_minimum(board)

    def timed(self, genotype: Hashable) -> Record:
        return self.evaluate([genotype])[0]

    def evaluate(self, genotypes: Sequence[Hashable], on_record: Sink | None = None) -> list[Record]:
        records: list[Record | None] = []
        for g in genotypes:
            reason = self.limit.excess(g)
            records.append(None if reason is None else Record(str(g), None, "rejected", reason=reason))
        inside = [i for i, r in enumerate(records) if r is None]
        arrivals = iter(inside)
        sent = 0

        def flush() -> None:
            nonlocal sent
            while sent < len(records) and records[sent] is not None:
                if on_record is not None:
                    on_record(records[sent])
                sent += 1

        def arrived(record: Record) -> None:
            records[next(arrivals)] = record
            flush()

        flush()
        if inside:
            results = self.evaluator.evaluate([genotypes[i] for i in inside], on_record=arrived)
            for i, record in zip(inside, results):
                records[i] = record
        flush()
        return records  # type: ignore[return-value]
