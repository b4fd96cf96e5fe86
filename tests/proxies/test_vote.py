"""vote: the pairwise majority of synflow, jacob_cov and snip (Abdelfattah et al. 2021)."""
import math

import pytest

from ptnas import proxies


def row(synflow, jacob_cov, snip):
    return {"synflow": synflow, "jacob_cov": jacob_cov, "snip": snip}


def test_vote_counts_pairwise_majority_wins():
    vote = proxies.get("vote")
    assert [p.name for p in vote.parts] == ["synflow", "jacob_cov", "snip"]
    a, b, c = row(3, -1, 1), row(2, -2, 5), row(1, -3, 0)
    # a beats b (synflow, jacob_cov), a beats c (all three), b beats c (all three): 2, 1, 0 wins.
    assert vote.combine([a, b, c]) == [2.0, 1.0, 0.0]
    # A cycle: a > b, b > c, c > a by 2-of-3 majorities: one win each.
    a, b, c = row(3, 2, 1), row(2, 1, 3), row(1, 3, 2)
    assert vote.combine([a, b, c]) == [1.0, 1.0, 1.0]


def test_vote_halves_majority_ties_and_drops_nan_members():
    vote = proxies.get("vote")
    a, b = row(1, 1, 1), row(1, 2, 0)  # synflow ties, jacob_cov says b, snip says a: a tie
    assert vote.combine([a, b]) == [0.5, 0.5]
    scores = vote.combine([a, b, row(math.nan, 0, 0)])
    assert scores[:2] == [0.5, 0.5] and math.isnan(scores[2])


def test_vote_on_two_models_picks_the_majority(two_layer, two_layer_batch):
    import torch

    vote = proxies.get("vote")
    weak = type(two_layer)().double()
    with torch.no_grad():
        weak.conv.weight.mul_(0.1)  # synflow and snip both drop with smaller weights
    parts = [vote.measure(m, two_layer_batch) for m in (two_layer, weak)]
    assert parts[0]["synflow"] > parts[1]["synflow"] and parts[0]["snip"] > parts[1]["snip"]
    assert vote.combine(parts) == [1.0, 0.0]
    with pytest.raises(proxies.PopulationOnlyError):
        vote(two_layer, two_layer_batch)
