"""Every score a search computes, to `scores.jsonl` and TensorBoard (and kept in memory).

scores.jsonl: one JSON object per line, written and flushed as soon as the score exists, so a
crashed or interrupted run keeps everything computed so far; a NaN value is written as null. Records have `kind`:
  score      {proposal, step, stage: op|order|topology, edge, op (null for topology), value}
  decision   {proposal, step, edge, op}           a permanent A + (e, o)
  pruned     {proposal, step, edge}               a permanent edge removal (topology step)
  proposal   {proposal, genotype}                 the candidate a proposal round produced
  validation {candidate, genotype, value, status, reason, seconds, details}
                                                  the evaluator's record of a unique candidate
  evaluation {trial, genotype, value, status, reason, seconds, details}
                                                  one evaluated architecture of a multi-trial search
  proxy      {genotype, proxy, value}             a zero-cost score steering a multi-trial search
  result     {genotype}
Under torchrun the records of the proposal rounds also say which rank computed them (`rank`; absent on
a single process): every rank runs its share of the rounds and rank 0 writes all of them, in proposal order.
TensorBoard (tags use `a_from_b` for edge `a<-b` and `/` for a cell-type prefix `normal:`):
  proposal_<p>/score/<edge>/<op>   scalar per scoring pass, x = decision step
  proposal_<p>/topology/<edge>     scalar, topology step scores
  proposal_<p>/heatmap[/<group>]   image of edges × ops (latest score of each pair), per step
  proposal_<p>/decision            text "edge -> op" per step; proposal_<p>/genotype text
  validation/score                 scalar, x = candidate index; validation/genotype text
  genotype                         text, the final genotype
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np

from ptnas import jsonio
from ptnas.event_files import summary_writer
from ptnas.heatmaps import edge_op_tables, render_heatmap


def tag(edge: str) -> str:
    """A TensorBoard-safe, readable name for an edge id: `normal:3<-1` -> `normal/3_from_1`."""
    return edge.replace("<-", "_from_").replace(":", "/")


class ReplayMismatchError(RuntimeError):
    """A resumed search produced a record other than the one its scores.jsonl holds at that place."""


class SearchLog:
    """Writes to `run_dir/scores.jsonl` and `run_dir/events/` when run_dir is given; always keeps
    `records` in memory.

    replay: the records of an interrupted run (see `resume`). While some are left, every record the
    search produces must equal the next one; it is taken from the file instead of written again, and
    scoring passes are served from it (`replayed_pass`).
    """

    def __init__(self, run_dir: str | Path | None, tensorboard: bool = True, replay: list[dict] | None = None):
        self.records: list[dict[str, Any]] = []
        self._file = None
        self._tb = None
        self._latest: dict[int, dict[tuple[str, str], float]] = {}
        self._replay = list(replay or [])
        if run_dir is not None:
            run_dir = Path(run_dir)
            self._file = open(run_dir / "scores.jsonl", "a", encoding="utf-8")
            if tensorboard:
                self._tb = summary_writer(run_dir / "events")

    @classmethod
    def resume(cls, run_dir: str | Path, tensorboard: bool = True) -> "SearchLog":
        """Continue the log of an interrupted search: its complete records are kept and replayed; a line
        cut by the kill and the scores of a pass that was not finished are dropped from the file."""
        path = Path(run_dir) / "scores.jsonl"
        kept = complete_records(path.read_text(encoding="utf-8") if path.is_file() else "")
        from ptnas.rundir import RunDir

        RunDir.reopen(run_dir).write_text("scores.jsonl", "".join(jsonio.dumps(r) + "\n" for r in kept))
        return cls(run_dir, tensorboard, replay=kept)

    def pending(self) -> list[dict[str, Any]]:
        """The replayed records not yet reproduced (for the other ranks of a resumed torchrun search)."""
        return list(self._replay)

    @property
    def replaying(self) -> bool:
        return bool(self._replay)

    # ---- records ----------------------------------------------------------------------------
    def _write(self, record: dict[str, Any]) -> bool:
        """Keep `record`; write it unless it is the next replayed record. True when it was written."""
        self.records.append(record)
        if self._replay:
            expected = self._replay.pop(0)
            if _comparable(expected) != _comparable(record):
                raise ReplayMismatchError(f"the resumed search diverges from its scores.jsonl: expected {expected}, "
                                          f"got {record}")
            return False
        if self._file is not None:
            self._file.write(jsonio.dumps(record) + "\n")  # NaN as null: strict JSON
            self._file.flush()
        return True

    def replayed_pass(self, proposal: int, step: int, stage: str) -> dict[tuple[str, str | None], float] | None:
        """The scores of this scoring pass when the replayed file holds them (they are consumed), else None."""
        def ours(r: dict) -> bool:
            return (r.get("kind") == "score" and r["proposal"] == proposal and r["step"] == step
                    and r["stage"] == stage)

        if not (self._replay and ours(self._replay[0])):
            return None
        out = {}
        while self._replay and ours(self._replay[0]):
            r = self._replay.pop(0)
            value = math.nan if r["value"] is None else float(r["value"])
            self.records.append({**r, "value": value})
            out[(r["edge"], r["op"])] = value
            if r["op"] is not None:
                self._latest.setdefault(proposal, {})[(r["edge"], r["op"])] = value
        return out

    def replayed_validations(self) -> list:
        """The validation records at the head of the replayed file, as evaluator Records (consumed)."""
        from ptnas.evaluators.base import Record

        out = []
        while self._replay and self._replay[0].get("kind") == "validation":
            r = self._replay.pop(0)
            self.records.append(r)
            out.append(Record.from_row(r))
        return out

    def replayed_records(self, kind: str, genotypes: Sequence[str]) -> list[dict[str, Any]]:
        """The replayed records of `kind` ("evaluation", "proxy") at the head of the file that are those of
        the leading `genotypes`, in order. Not consumed: writing the same records again consumes them
        (and checks them), so a multi-trial search continues exactly where it was cut."""
        out = []
        for r, g in zip(self._replay, genotypes):
            if r.get("kind") != kind or r.get("genotype") != g:
                break
            out.append(r)
        return out

    def skip_replay(self) -> None:
        """Forget the replayed records unchecked (a rank that takes rank 0's replayed outcome as it is)."""
        self._replay.clear()

    def next_replayed(self, kind: str) -> dict[str, Any] | None:
        """The next replayed record when it is of `kind`, else None (not consumed: writing it again does)."""
        return self._replay[0] if self._replay and self._replay[0].get("kind") == kind else None

    def take_proposal_replay(self) -> dict[int, list[dict]]:
        """The replayed records of the proposal rounds, by proposal (consumed; validations stay), for
        ranks that replay their own proposals (`SearchLog(None, replay=...)`) under torchrun."""
        out: dict[int, list[dict]] = {}
        while self._replay and self._replay[0].get("kind") in ("score", "decision", "pruned", "proposal"):
            r = self._replay.pop(0)
            out.setdefault(r["proposal"], []).append(r)
        return out

    def absorb(self, records: list[dict[str, Any]], written: int, rank: int) -> None:
        """Records another log made (a rank's proposal round): kept, tagged with `rank`, and all but the
        first `written` (already in the file of a resumed run) written, with their scalars and texts
        mirrored to TensorBoard (no heatmaps: they need the supernet of that round)."""
        for n, record in enumerate(records):
            record = {**record, "rank": rank}
            self.records.append(record)
            if n < written or self._file is None:
                continue
            self._file.write(jsonio.dumps(record) + "\n")
            self._file.flush()
            if self._tb is None:
                continue
            p, kind = record["proposal"], record["kind"]
            if kind == "score" and not math.isnan(record["value"]):
                name = f"score/{tag(record['edge'])}/{record['op']}" if record["op"] is not None else \
                    f"topology/{tag(record['edge'])}"
                self._tb.add_scalar(f"proposal_{p}/{name}", record["value"], record["step"])
            elif kind in ("decision", "pruned"):
                text = f"{record['edge']} -> {record['op']}" if kind == "decision" else f"{record['edge']} pruned"
                self._tb.add_text(f"proposal_{p}/decision", text, record["step"])
            elif kind == "proposal":
                self._tb.add_text(f"proposal_{p}/genotype", record["genotype"], 0)

    def score(self, proposal: int, step: int, stage: str, edge: str, op: str | None, value: float) -> None:
        if op is not None:
            self._latest.setdefault(proposal, {})[(edge, op)] = value
        if not self._write({"kind": "score", "proposal": proposal, "step": step, "stage": stage,
                            "edge": edge, "op": op, "value": value}):
            return
        if self._tb is not None and not math.isnan(value):
            name = f"score/{tag(edge)}/{op}" if op is not None else f"topology/{tag(edge)}"
            self._tb.add_scalar(f"proposal_{proposal}/{name}", value, step)

    def decision(self, proposal: int, step: int, edge: str, op: str, net) -> None:
        if self._write({"kind": "decision", "proposal": proposal, "step": step, "edge": edge, "op": op}) and self._tb:
            self._tb.add_text(f"proposal_{proposal}/decision", f"{edge} -> {op}", step)
            for group, image in self._heatmaps(proposal, net).items():
                name = f"proposal_{proposal}/heatmap" + (f"/{group}" if group else "")
                self._tb.add_image(name, image, step, dataformats="HWC")

    def pruned(self, proposal: int, step: int, edge: str) -> None:
        if self._write({"kind": "pruned", "proposal": proposal, "step": step, "edge": edge}) and self._tb:
            self._tb.add_text(f"proposal_{proposal}/decision", f"{edge} pruned", step)

    def proposal(self, proposal: int, genotype: Hashable) -> None:
        if self._write({"kind": "proposal", "proposal": proposal, "genotype": str(genotype)}) and self._tb:
            self._tb.add_text(f"proposal_{proposal}/genotype", str(genotype), 0)

    def validation(self, candidate: int, record) -> None:
        """The evaluator's record of unique candidate `candidate` (an evaluators.Record)."""
        if self._write({"kind": "validation", "candidate": candidate, **_evaluation(record)}) and self._tb:
            if record.score is not None:
                self._tb.add_scalar("validation/score", record.score, candidate)
            self._tb.add_text("validation/genotype", f"{record.genotype} ({record.status})", candidate)

    def evaluation(self, trial: int, record, best: float | None = None, seconds: float | None = None) -> None:
        """One evaluated architecture of a multi-trial search; `best` is the best score so far and
        `seconds` the search's wall time so far (TensorBoard: best-so-far against trials and seconds)."""
        if self._write({"kind": "evaluation", "trial": trial, **_evaluation(record)}) and self._tb:
            if record.score is not None:
                self._tb.add_scalar("evaluation/score", record.score, trial)
            if best is not None:
                self._tb.add_scalar("evaluation/best", best, trial)
                if seconds is not None:
                    self._tb.add_scalar("evaluation/best_vs_seconds", best, int(seconds))
            self._tb.add_text("evaluation/genotype", f"{record.genotype} ({record.status})", trial)

    def proxy(self, genotype: str, value: float, proxy: str) -> None:
        """A zero-cost score that steers a multi-trial search (oriented: higher = better; not an evaluation)."""
        self._write({"kind": "proxy", "genotype": genotype, "proxy": proxy, "value": value})

    def result(self, genotype: Hashable) -> None:
        if self._write({"kind": "result", "genotype": str(genotype)}) and self._tb:
            self._tb.add_text("genotype", str(genotype), 0)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._file is not None:
            self._file.close()

    # ---- heatmaps ---------------------------------------------------------------------------
    def _heatmaps(self, proposal: int, net) -> dict[str, np.ndarray]:
        """One edges × ops image per cell type (edge-id prefix before ':'), latest score per pair."""
        latest = self._latest.get(proposal, {})
        images = {}
        for group, (edges, ops, values) in edge_op_tables(net, lambda e, o: latest.get((e, o), math.nan)).items():
            decided = {(e, net.candidates(e)[0]) for e in edges if net.is_decided(e)}
            images[group] = render_heatmap(values, edges, ops, decided)
        return images


def _evaluation(record) -> dict[str, Any]:
    """The fields of an evaluator Record, with `value` for its score (as every scores.jsonl record)."""
    return {"genotype": record.genotype, "value": record.score, "status": record.status, "reason": record.reason,
            "seconds": record.seconds, "details": record.details}


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """What must match between a replayed record and a recomputed one (timings and the rank may differ)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v  # as the file holds them: null
            for k, v in record.items() if k not in ("seconds", "details", "rank")}


def complete_records(text: str) -> list[dict[str, Any]]:
    """The records of an interrupted run's scores.jsonl that a resume keeps: a last line cut by the kill,
    and the score records of a scoring pass that did not finish (scores at the very end), are dropped."""
    records = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    while records and records[-1].get("kind") == "score":
        records.pop()
    return records
