"""The Pareto front (ptnas.pareto) of hand-made points, and its picture (drawing.pareto_figure)."""
from __future__ import annotations

import math

import pytest

from ptnas import pareto
from ptnas.drawing import pareto_figure


def test_the_front_of_hand_made_points():
    #          0    1    2    3    4    5    6
    costs = [1.0, 2.0, 2.0, 3.0, 4.0, 0.5, 5.0]
    scores = [10., 30., 20., 25., 40., 5.0, 40.]
    # 5 (cheapest), 0 (better than 5), 1 (beats 0), 4 (beats 1); 2 loses to 1 (same cost, lower score),
    # 3 to 1 (dearer, lower score), 6 to 4 (dearer, same score)
    assert pareto.front(costs, scores) == [5, 0, 1, 4]


def test_equal_points_on_the_front_are_all_kept_and_non_finite_ones_never_are():
    costs = [1.0, 1.0, 2.0, math.nan, 0.1]
    scores = [5.0, 5.0, 4.0, 100.0, math.inf]
    assert pareto.front(costs, scores) == [0, 1]
    assert pareto.front([], []) == []
    assert pareto.front([3.0], [1.0]) == [0]


def test_a_front_against_every_pair_by_brute_force():
    import random

    rng = random.Random(0)
    costs = [rng.choice([1, 2, 3, 4, 5]) * 1.0 for _ in range(40)]
    scores = [rng.choice([1, 2, 3, 4, 5, 6]) * 1.0 for _ in range(40)]
    dominated = {i for i in range(40) for j in range(40)
                 if costs[j] <= costs[i] and scores[j] >= scores[i] and (costs[j], scores[j]) != (costs[i], scores[i])}
    assert set(pareto.front(costs, scores)) == set(range(40)) - dominated


def test_costs_and_scores_must_pair_up():
    with pytest.raises(ValueError, match="2 costs for 1 scores"):
        pareto.front([1.0, 2.0], [1.0])


def test_the_picture_marks_the_front_and_shows_the_others():
    costs, scores = [1.0, 2.0, 2.0, 3.0], [1.0, 3.0, 2.0, 4.0]
    fig = pareto_figure(costs, scores, "parameters (millions)", "table score")
    ax = fig.axes[0]
    by_gid = {c.get_gid(): c.get_offsets().tolist() for c in ax.collections}
    assert by_gid["pareto:front"] == [[1.0, 1.0], [2.0, 3.0], [3.0, 4.0]]
    assert by_gid["pareto:others"] == [[2.0, 2.0]]
    assert ax.get_xlabel() == "parameters (millions), fewer is better"
    assert ax.get_ylabel() == "table score, higher is better"
