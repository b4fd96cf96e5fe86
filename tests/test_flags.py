"""Algorithms' counted flags: 0 and negative values are refused in one line naming the flag, never replaced."""
import pytest

from ptnas import evaluators, flags, strategies
from ptnas.cli import search
from ptnas.runtime.config import UsageError, parse

COUNTED = [f for f in (*flags.declared(evaluators._EVALUATORS), *flags.declared(strategies._STRATEGIES, strategies.COMMON))
           if getattr(f.kwargs.get("type"), "__name__", "") == "int"]


def test_the_counted_flags_are_found():
    names = {f.name for f in COUNTED}
    assert {"--population", "--tournament", "--samples", "--trials", "--proxy-batches", "--train-epochs",
            "--train-batch-size", "--warmup"} <= names


@pytest.mark.parametrize("flag", COUNTED, ids=lambda f: f.name)
def test_below_its_minimum_is_one_line_naming_the_flag(flag):
    low = 0 if flag.name in ("--warmup", "--move-proposal") else 1
    with pytest.raises(UsageError, match=rf"^{flag.name} must be at least {low}, got {low - 1}$"):
        parse(search.build_parser(), [flag.name, str(low - 1)])


def test_zero_where_zero_is_allowed_stays_zero():
    args = parse(search.build_parser(), ["--strategy", "random", "--warmup", "0"])
    assert strategies.get("random").from_args(args).warmup == 0
    assert flags.unset(0, 5) == 0 and flags.unset(None, 5) == 5
