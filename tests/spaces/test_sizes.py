"""Every space refuses a non-positive or impossibly large size with one clear line, before building anything."""
from __future__ import annotations

import numpy as np
import pytest

from ptnas import spaces
from ptnas.spaces.base import MAX_PARAMS

SPACES = ["nb201", "darts", "mobilenet", "macro"]


def genotype(name):
    return spaces.get(name).sample(np.random.default_rng(0))


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("value", [0, -1])
def test_size_flags_must_be_positive(name, value):
    space = spaces.get(name)
    for flag, (_keyword, _) in space.size_flags.items():
        with pytest.raises(ValueError, match=rf"must be (a positive integer|in 1\.\.4).*got {value}"):
            space.size_kwargs(**{flag: value})


@pytest.mark.parametrize("name", SPACES)
def test_an_absurd_width_is_refused_with_the_estimated_count(name):
    with pytest.raises(ValueError, match=rf"C=100000000 in the {name} space gives a supernet of about [\d,]+ "
                                         r"parameters \(estimated\), more than the 2,147,483,648 allowed"):
        spaces.get(name).size_kwargs(init_channels=100_000_000)


def test_absurd_depth_is_refused_too():
    with pytest.raises(ValueError, match="N=100000000 in the nb201 space"):
        spaces.get("nb201").size_kwargs(layers=100_000_000)
    with pytest.raises(ValueError, match="layers=100000000 in the darts space"):
        spaces.get("darts").size_kwargs(layers=100_000_000)


def test_the_estimate_is_exact_where_parameters_are_quadratic_in_width_and_linear_in_depth():
    nb201 = spaces.get("nb201")
    built = sum(p.numel() for p in nb201.supernet(C=24, N=7).parameters())
    assert nb201.estimate_params(C=24, N=7) == pytest.approx(built, rel=1e-9)
    macro = spaces.get("macro")
    assert macro.estimate_params(C=48) == pytest.approx(sum(p.numel() for p in macro.supernet(C=48).parameters()))


def test_sizes_below_the_limit_pass():
    spaces.get("nb201").check_size(C=64, N=5, auxiliary=True)  # non-size keywords are ignored
    assert spaces.get("nb201").estimate_params(C=64, N=5) < MAX_PARAMS


@pytest.mark.parametrize("name, size", [
    ("nb201", {"C": 0}), ("nb201", {"N": 0}), ("darts", {"C": 0}), ("darts", {"layers": 0}),
    ("mobilenet", {"C": 0}), ("macro", {"C": 0}),
])
def test_networks_and_supernets_refuse_non_positive_sizes(name, size):
    space = spaces.get(name)
    with pytest.raises(ValueError, match="positive|>= 1|>= 2"):
        space.network(genotype(name), **size)  # darts and mobilenet used to replace C=0 by their default
    if name != "mobilenet" or "C" in size:
        with pytest.raises(ValueError, match="positive|>= 1|>= 2"):
            space.supernet(**size)
