"""Settings: one vocabulary (keyword = YAML key = flag with dashes), checked alike wherever a value enters."""
import argparse

import pytest

from ptnas.runtime.errors import UsageError
from ptnas.settings import Setting, check, resolve, unique

V = Setting("valid_batches", int, 100, "V", minimum=1)
MODE = Setting("bn_mode", str, "eval", "BN", choices=("eval", "train"))
FIX = Setting("fix_alpha", bool, False, "fix")


def _parser():
    p = argparse.ArgumentParser(exit_on_error=False)
    for s in (V, MODE, FIX):
        s.add_to(p)
    return p


def test_flag_name_is_the_keyword_with_dashes():
    assert V.flag == "--valid-batches"
    assert vars(_parser().parse_args(["--valid-batches", "7", "--fix-alpha"])) == {"valid_batches": 7, "fix_alpha": True}


def test_an_absent_flag_is_absent_so_a_default_given_explicitly_counts_as_given():
    assert vars(_parser().parse_args([])) == {}
    values = resolve([V, MODE, FIX], check([V, MODE, FIX], {"valid_batches": 100}))
    assert values.valid_batches == 100 and values.given == {"valid_batches"}
    assert values.bn_mode == "eval" and values.fix_alpha is False


def test_keyword_and_flag_fail_with_the_same_words():
    with pytest.raises(UsageError, match=r"^--valid-batches must be at least 1, got 0$"):
        check([V], {"valid_batches": 0})
    with pytest.raises(argparse.ArgumentTypeError, match=r"^must be at least 1, got 0$"):
        V.from_text("0")


@pytest.mark.parametrize("value", [True, 1.5, "3", None])
def test_a_keyword_of_the_wrong_type_is_refused(value):
    with pytest.raises(UsageError, match=r"--valid-batches: .* is not an integer"):
        check([V], {"valid_batches": value})


def test_choices_unknown_names_and_long_values_are_one_short_line():
    with pytest.raises(UsageError, match="is not one of: eval, train"):
        check([MODE], {"bn-mode": "x"})
    with pytest.raises(UsageError, match="unknown setting 'lr'"):
        check([MODE], {"lr": 0.1})
    with pytest.raises(UsageError) as e:
        check([MODE], {"bn_mode": "x" * 10_000})
    assert len(str(e.value)) < 200


def test_layers_given_over_base_over_component_defaults_over_declared():
    values = resolve([V, MODE], {"bn_mode": "train"}, base={"valid_batches": 5, "bn_mode": "eval"},
                     defaults={"valid_batches": 10})
    assert (values.valid_batches, values.bn_mode) == (5, "train")
    assert resolve([V], {}, defaults={"valid_batches": 10}).valid_batches == 10


def test_one_name_declared_twice_differently_is_a_bug():
    assert unique([V, V, MODE]) == [V, MODE]
    with pytest.raises(ValueError, match="declared twice"):
        unique([V, Setting("valid_batches", int, 10)])
