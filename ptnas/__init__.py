"""ptnas: differentiable NAS with perturbation-based operation selection.

    import ptnas
    result = ptnas.search(space="nb201", selector="zc-pt", order="global-op-iter", proposals=2, valid_batches=2)
    result.genotype, result.run_dir

Keywords are the programs' flag names with underscores (`--valid-batches` is `valid_batches`); bad ones
raise ptnas.UsageError (a ValueError) with the program's one line. docs/python-api.md has the rest.
"""
from __future__ import annotations

from typing import Any

from ptnas.runtime.errors import UsageError

__version__ = "0.1.0"
__all__ = ["UsageError", "correlate", "evaluate", "search", "train"]


def search(**settings: Any):
    """One architecture search with search.py's settings; returns a SearchResult (genotype, run_dir,
    summary: genotype.json's content)."""
    from ptnas.jobs.search import search as run  # the job loads torch and the algorithms on first use

    return run(settings)


def evaluate(**settings: Any):
    """One ptnas-evaluate run with its settings; returns an EvaluationResult (records, best, run_dir)."""
    from ptnas.jobs.evaluate import evaluate as run

    return run(settings)


def correlate(**settings: Any):
    """One correlation study with `python -m ptnas.cli.correlate`'s settings; returns a CorrelationResult
    (rows: Spearman ρ and Kendall τ per proxy and dataset, records, text, run_dir)."""
    from ptnas.jobs.correlate import correlate as run

    return run(settings)


def train(**settings: Any):
    """One final training with ptnas-train's settings; returns a TrainResult (results: results.json's
    content, run_dir)."""
    from ptnas.jobs.train import train as run

    return run(settings)
