"""The contract every registered space keeps (strategies, evaluators and pictures rely on it), checked
over the registry, so a new space is held to it with no new test."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ptnas import spaces

# The smallest network of each space's size flags (what a tiny test can build and run).
TINY = {"nb201": {"C": 4, "N": 1}, "darts": {"C": 4, "layers": 2}, "mobilenet": {"C": 8, "layers": 1}, "macro": {"C": 8}}


def tiny(name: str) -> dict:
    return TINY.get(name, {})


@pytest.mark.parametrize("name", spaces.names())
def test_text_round_trips_and_sampling_is_deterministic(name):
    space = spaces.get(name)
    drawn = [space.sample(np.random.default_rng(seed)) for seed in range(20)]
    assert [str(g) for g in drawn] == [str(space.sample(np.random.default_rng(seed))) for seed in range(20)]
    assert len({str(g) for g in drawn}) > 1  # not a constant
    for g in drawn:
        assert space.parse(str(g)) == g and str(space.parse(str(g))) == str(g)


@pytest.mark.parametrize("name", spaces.names())
def test_neighbours_exclude_the_genotype_hold_no_duplicates_and_mutate_gives_one(name):
    space = spaces.get(name)
    rng = np.random.default_rng(0)
    for _ in range(5):
        g = space.sample(rng)
        near = [str(n) for n in space.neighbours(g)]
        assert near and str(g) not in near and len(near) == len(set(near))
        assert all(str(space.parse(n)) == n for n in near)
        assert str(space.mutate(g, rng)) in near


@pytest.mark.parametrize("name", spaces.names())
def test_the_network_of_a_sample_builds_and_runs_and_its_picture_draws(name):
    space = spaces.get(name)
    size = tiny(name)
    g = space.at_size(**size).sample(np.random.default_rng(1))
    net = space.network(g, num_classes=10, **size).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    figure = space.draw(g)
    assert figure.get_axes()  # something was drawn
