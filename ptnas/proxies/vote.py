"""vote (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, Sec. 5): of two
models, the better one is the one that a majority of synflow, jacob_cov and snip prefers.

Across a population the pairwise majority becomes a Copeland score: each member scores 1 per member
it beats by majority and ½ per majority tie (possible only when some proxy ties). Higher is better.
"""
from __future__ import annotations

from ptnas.proxies.base import Proxy


def prefers(a: dict[str, float], b: dict[str, float], parts: tuple[Proxy, ...]) -> int:
    """+1 if the majority of `parts` prefers a over b, −1 if b over a, 0 on a tie."""
    votes = 0
    for p in parts:
        d = a[p.name] - b[p.name]
        votes += (d > 0) - (d < 0) if p.higher_is_better else (d < 0) - (d > 0)
    return (votes > 0) - (votes < 0)


def pairwise_majority(rows: list[dict[str, float]], parts: tuple[Proxy, ...]) -> list[float]:
    scores = [0.0] * len(rows)
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            w = prefers(rows[i], rows[j], parts)
            scores[i] += (1 + w) / 2
            scores[j] += (1 - w) / 2
    return scores
