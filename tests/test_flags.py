"""Algorithms' counted settings: 0 and negative values are refused in one line naming the flag, never replaced."""
import pytest

from ptnas import evaluators, strategies
from ptnas.cli import search
from ptnas.runtime.config import UsageError, parse
from ptnas.settings import declared

COUNTED = [s for s in (*declared(evaluators._EVALUATORS), *declared(strategies._STRATEGIES, strategies.COMMON))
           if s.type is int]


def test_the_counted_flags_are_found():
    names = {s.flag for s in COUNTED}
    assert {"--population", "--tournament", "--samples", "--trials", "--proxy-batches", "--train-epochs",
            "--train-batch-size", "--warmup"} <= names


@pytest.mark.parametrize("setting", COUNTED, ids=lambda s: s.flag)
def test_below_its_minimum_is_one_line_naming_the_flag(setting):
    low = 0 if setting.flag in ("--warmup", "--move-proposal") else 1
    with pytest.raises(UsageError, match=rf"^{setting.flag} must be at least {low}, got {low - 1}$"):
        parse(search.build_parser(), [setting.flag, str(low - 1)])


def test_zero_where_zero_is_allowed_stays_zero():
    args = parse(search.build_parser(), ["--strategy", "random", "--warmup", "0"])
    assert strategies.get("random").from_args(args).warmup == 0
    plain = parse(search.build_parser(), ["--strategy", "evolution"])  # the declared default, 0 kept as given
    assert strategies.get("evolution").from_args(plain).population == 64 and plain.warmup == 0


@pytest.mark.parametrize("argv", [["--strategy", "random", "--warmup", "1000000000"],
                                  ["--strategy", "naswot", "--samples", "1000000000"]])
def test_a_sample_count_that_would_spin_is_refused_at_once(argv):
    with pytest.raises(UsageError, match=rf"^{argv[2]} must be at most 1,000,000 \(every drawn architecture is held"):
        parse(search.build_parser(), argv)


def test_evaluate_refuses_a_huge_sample_and_draws_as_before():
    import numpy as np

    from ptnas import spaces
    from ptnas.cli import evaluate

    with pytest.raises(UsageError, match=r"^--sample must be at most 1,000,000 "):
        parse(evaluate.build_parser(), ["--sample", "1000000000000"])
    space = spaces.get("nb201")
    args = parse(evaluate.build_parser(), ["--sample", "5", "--seed", "3"])
    rng, drawn = np.random.default_rng(3), []
    while len(drawn) < 5:  # the draw the program made before: distinct, in order of first appearance
        g = str(space.sample(rng))
        drawn += [g] if g not in drawn else []
    assert [str(g) for g in evaluate.genotypes_of(args, space)] == drawn
