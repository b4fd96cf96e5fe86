"""Settings: one vocabulary (keyword = YAML key = flag with dashes), one declaration and one default per
setting, checked alike wherever a value enters."""
import argparse

import pytest

from ptnas import evaluators, proxies
from ptnas.runtime.config import OneLineParser, explicit, layer
from ptnas.runtime.errors import UsageError
from ptnas.settings import Setting, unique

V = Setting("valid_batches", int, 100, "V", minimum=1)
MODE = Setting("bn_mode", str, "eval", "BN", choices=("eval", "train"))
FIX = Setting("fix_alpha", bool, False, "fix")


def _parser():
    p = OneLineParser(prog="t")
    for s in (V, MODE, FIX):
        s.add_to(p)
    return p


def test_flag_name_is_the_keyword_with_dashes_and_the_default_is_declared_once():
    assert V.flag == "--valid-batches"
    assert vars(_parser().parse_args(["--valid-batches", "7", "--fix-alpha"])) == \
        {"valid_batches": 7, "bn_mode": "eval", "fix_alpha": True}
    assert vars(_parser().parse_args([])) == {"valid_batches": 100, "bn_mode": "eval", "fix_alpha": False}
    assert "(default 100)" in _parser().format_help()


def test_a_default_given_explicitly_counts_as_given():
    assert explicit(_parser(), ["--valid-batches", "100"]) == {"valid_batches": 100}
    assert explicit(_parser(), []) == {}


def test_keyword_and_flag_fail_with_the_same_words():
    with pytest.raises(UsageError, match=r"^--valid-batches must be at least 1, got 0$"):
        _parser().parse_args(["--valid-batches", "0"])
    with pytest.raises(UsageError, match=r"^--valid-batches must be at least 1, got 0$"):
        layer(_parser(), {"valid_batches": 0}, "")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^must be at least 1, got 0$"):
        V.parse("0")


@pytest.mark.parametrize("value", [True, 1.5, None, [3]])
def test_a_keyword_of_the_wrong_type_is_refused(value):
    with pytest.raises(UsageError, match=r"is not valid for --valid-batches \(expected an integer"):
        layer(_parser(), {"valid_batches": value}, "ptnas.search")


def test_choices_unknown_names_and_long_values_are_one_short_line():
    with pytest.raises(UsageError, match=r"choose from: eval, train"):
        layer(_parser(), {"bn-mode": "x"}, "ptnas.search")
    with pytest.raises(UsageError, match="unknown key 'lr'"):
        layer(_parser(), {"lr": 0.1}, "ptnas.search")
    with pytest.raises(UsageError) as e:
        layer(_parser(), {"bn_mode": "x" * 10_000}, "ptnas.search")
    assert len(str(e.value)) < 200
    with pytest.raises(UsageError) as e:
        layer(_parser(), {"y" * 10_000: 1}, "ptnas.search")
    assert len(str(e.value)) < 300


def test_one_name_declared_twice_differently_is_a_bug():
    assert unique([V, V, MODE]) == [V, MODE]
    with pytest.raises(ValueError, match="declared twice"):
        unique([V, Setting("valid_batches", int, 10)])


def test_every_program_offers_the_zero_cost_settings_with_one_default():
    from ptnas.cli import correlate
    from ptnas.jobs import evaluate, search

    def defaults(parser):
        return {a.dest: a.default for a in parser._actions}

    search_, evaluate_, correlate_ = (defaults(m.build_parser()) for m in (search, evaluate, correlate))
    for setting in evaluators.ZeroCost.SETTINGS:
        assert search_[setting.name] == evaluate_[setting.name] == setting.default
    assert correlate_["bn_mode"] == proxies.BN_MODE.default == "eval"
    assert evaluate_["valid_batches"] == 100  # it was 10 in ptnas-evaluate and 100 in search.py
