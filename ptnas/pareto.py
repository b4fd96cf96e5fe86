"""The Pareto front of scored networks: those that no other network beats on both counts, a cost (lower is better:
parameters, FLOPs, latency) and a score (higher is better, as every evaluator orients it)."""
from __future__ import annotations

import math
from collections.abc import Sequence


def front(costs: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates (a cost at most as high and a score at least as high, one
    of them strictly), by increasing cost; points with a non-finite cost or score are never on it, and equal
    points on the front are all kept."""
    if len(costs) != len(scores):
        raise ValueError(f"{len(costs)} costs for {len(scores)} scores")
    finite = [i for i in range(len(costs)) if math.isfinite(costs[i]) and math.isfinite(scores[i])]
    out: list[int] = []
    best = -math.inf
    for i in sorted(finite, key=lambda i: (costs[i], -scores[i])):
        if scores[i] > best:
            out.append(i)
            best = scores[i]
        elif out and (costs[i], scores[i]) == (costs[out[-1]], scores[out[-1]]):
            out.append(i)
    return out
