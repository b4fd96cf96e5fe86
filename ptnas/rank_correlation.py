"""Rank correlation of predicted scores with ground truth, computed here and nowhere else (scipy.stats):
the correlation study (`correlate`), ptnas-evaluate's ranking, the NASLib reference comparison, the latency
table's check and the benchmarks all use it.

Scores are oriented (higher = predicted better). Rank correlation is undefined on constant input: NaN.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def spearman_kendall(score: Sequence[float], truth: Sequence[float]) -> tuple[float, float]:
    """Spearman ρ and Kendall τ of two equally long sequences (NaN when either is constant or short)."""
    s, t = np.asarray(score, dtype=float), np.asarray(truth, dtype=float)
    if len(s) < 2 or np.ptp(s) == 0 or np.ptp(t) == 0:
        return math.nan, math.nan
    from scipy import stats  # scipy loads when a correlation is computed, not with the program

    return float(stats.spearmanr(s, t).statistic), float(stats.kendalltau(s, t).statistic)


def spearman(score: Sequence[float], truth: Sequence[float]) -> float:
    """Spearman ρ alone (NaN when either sequence is constant or short)."""
    return spearman_kendall(score, truth)[0]


def correlations(score: np.ndarray, acc: np.ndarray, top_k: int) -> dict[str, float]:
    """ρ and τ over all archs and over the top 10 % by accuracy, precision@top-10% and @top-k.
    NaN scores are left out (and counted)."""
    ok = np.isfinite(score)
    s, a = score[ok], acc[ok]
    out = {"n": int(ok.sum()), "nan": int((~ok).sum())}
    if len(s) < 3:
        return out | {k: math.nan for k in ("spearman", "kendall", "spearman_top10", "kendall_top10",
                                             "precision_top10pct", "precision_top_k")}
    out["spearman"], out["kendall"] = spearman_kendall(s, a)
    top = np.argsort(-a, kind="stable")[: max(3, math.ceil(0.1 * len(a)))]
    out["spearman_top10"], out["kendall_top10"] = spearman_kendall(s[top], a[top])
    out["precision_top10pct"] = precision(s, a, max(1, math.ceil(0.1 * len(a))))
    out["precision_top_k"] = precision(s, a, min(top_k, len(a)))
    return out


def precision(score: np.ndarray, acc: np.ndarray, k: int) -> float:
    """|top-k by score ∩ top-k by accuracy| / k (ties broken by position, stable)."""
    by_score = set(np.argsort(-score, kind="stable")[:k].tolist())
    by_acc = set(np.argsort(-acc, kind="stable")[:k].tolist())
    return len(by_score & by_acc) / k
