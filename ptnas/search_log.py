"""Every score a search computes, to `scores.jsonl` and TensorBoard (and kept in memory).

scores.jsonl: one JSON object per line, written and flushed as soon as the score exists, so a
crashed or interrupted run keeps everything computed so far; a NaN value is written as null. Records have `kind`:
  score      {proposal, step, stage: op|order|topology, edge, op (null for topology), value}
  decision   {proposal, step, edge, op}           a permanent A + (e, o)
  pruned     {proposal, step, edge}               a permanent edge removal (topology step)
  proposal   {proposal, genotype}                 the candidate a proposal round produced
  validation {candidate, genotype, value}         validation-stage total of a unique candidate
  result     {genotype}
TensorBoard (tags use `a_from_b` for edge `a<-b` and `/` for a cell-type prefix `normal:`):
  proposal_<p>/score/<edge>/<op>   scalar per scoring pass, x = decision step
  proposal_<p>/topology/<edge>     scalar, topology step scores
  proposal_<p>/heatmap[/<group>]   image of edges × ops (latest score of each pair), per step
  proposal_<p>/decision            text "edge -> op" per step; proposal_<p>/genotype text
  validation/score                 scalar, x = candidate index; validation/genotype text
  genotype                         text, the final genotype
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Hashable

import numpy as np

from ptnas import jsonio
from ptnas.event_files import summary_writer
from ptnas.heatmaps import edge_op_tables, render_heatmap


def tag(edge: str) -> str:
    """A TensorBoard-safe, readable name for an edge id: `normal:3<-1` -> `normal/3_from_1`."""
    return edge.replace("<-", "_from_").replace(":", "/")


class SearchLog:
    """Writes to `run_dir/scores.jsonl` and `run_dir/events/` when run_dir is given; always keeps
    `records` in memory."""

    def __init__(self, run_dir: str | Path | None, tensorboard: bool = True):
        self.records: list[dict[str, Any]] = []
        self._file = None
        self._tb = None
        self._latest: dict[int, dict[tuple[str, str], float]] = {}
        if run_dir is not None:
            run_dir = Path(run_dir)
            self._file = open(run_dir / "scores.jsonl", "a", encoding="utf-8")
            if tensorboard:
                self._tb = summary_writer(run_dir / "events")

    # ---- records ----------------------------------------------------------------------------
    def _write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self._file is not None:
            self._file.write(jsonio.dumps(record) + "\n")  # NaN as null: strict JSON
            self._file.flush()

    def score(self, proposal: int, step: int, stage: str, edge: str, op: str | None, value: float) -> None:
        self._write({"kind": "score", "proposal": proposal, "step": step, "stage": stage,
                     "edge": edge, "op": op, "value": value})
        if op is not None:
            self._latest.setdefault(proposal, {})[(edge, op)] = value
        if self._tb is not None and not math.isnan(value):
            name = f"score/{tag(edge)}/{op}" if op is not None else f"topology/{tag(edge)}"
            self._tb.add_scalar(f"proposal_{proposal}/{name}", value, step)

    def decision(self, proposal: int, step: int, edge: str, op: str, net) -> None:
        self._write({"kind": "decision", "proposal": proposal, "step": step, "edge": edge, "op": op})
        if self._tb is not None:
            self._tb.add_text(f"proposal_{proposal}/decision", f"{edge} -> {op}", step)
            for group, image in self._heatmaps(proposal, net).items():
                name = f"proposal_{proposal}/heatmap" + (f"/{group}" if group else "")
                self._tb.add_image(name, image, step, dataformats="HWC")

    def pruned(self, proposal: int, step: int, edge: str) -> None:
        self._write({"kind": "pruned", "proposal": proposal, "step": step, "edge": edge})
        if self._tb is not None:
            self._tb.add_text(f"proposal_{proposal}/decision", f"{edge} pruned", step)

    def proposal(self, proposal: int, genotype: Hashable) -> None:
        self._write({"kind": "proposal", "proposal": proposal, "genotype": str(genotype)})
        if self._tb is not None:
            self._tb.add_text(f"proposal_{proposal}/genotype", str(genotype), 0)

    def validation(self, candidate: int, genotype: Hashable, value: float) -> None:
        self._write({"kind": "validation", "candidate": candidate, "genotype": str(genotype), "value": value})
        if self._tb is not None:
            if not math.isnan(value):
                self._tb.add_scalar("validation/score", value, candidate)
            self._tb.add_text("validation/genotype", str(genotype), candidate)

    def result(self, genotype: Hashable) -> None:
        self._write({"kind": "result", "genotype": str(genotype)})
        if self._tb is not None:
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
