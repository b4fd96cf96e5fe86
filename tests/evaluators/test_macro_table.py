"""NAS-Bench-Macro table: lookups, ranks, malformed files; the benchmark's published figures."""
from __future__ import annotations

import json

import pytest

from ptnas import evaluators
from ptnas.evaluators import MacroTable, NB201Table
from ptnas.registry import UnknownNameError
from tests.conftest import shared_data


def row(acc: float, params: int = 100, flops: int = 1000) -> dict:
    return {"test_acc": [acc - 1, acc, acc + 1], "mean_acc": acc, "std": 0.8, "params": params, "flops": flops}


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "macro.json"
    path.write_text(json.dumps({"00000000": row(45.0, 10, 20), "22212220": row(93.0, 30, 40),
                                "11111111": row(91.0), "12121212": row(91.0)}))
    return MacroTable(path)


def test_lookup_report_and_rank(small):
    assert len(small) == 4 and "22212220" in small and "22222222" not in small
    assert small.test_accuracy("22212220") == 93.0
    assert small.lookup("00000000") == row(45.0, 10, 20)
    assert [small.rank(k) for k in ("22212220", "11111111", "12121212", "00000000")] == [1, 2, 2, 4]
    assert small.report("22212220") == {"test_accuracy": 93.0, "test_accuracy_seeds": [92.0, 93.0, 94.0], "std": 0.8,
                                        "params": 30, "flops": 40, "rank": 1, "of": 4}
    assert small.describe("00000000") == ("NAS-Bench-Macro CIFAR-10 test accuracy 45.00% (mean of 3), rank 4 of 4, "
                                          "10 params, 20 FLOPs")


def test_a_genotype_object_is_looked_up_by_its_key(small):
    from ptnas import spaces
    assert small.test_accuracy(spaces.get("macro").parse("11111111")) == 91.0
    with pytest.raises(KeyError, match="'22222222' is not in"):
        small.lookup("22222222")


@pytest.mark.parametrize("text, message", [
    ("arch,cifar10\n", "not JSON"),
    ("[1, 2]", "non-empty"),
    ('{"00000000": {"mean_acc": 1}}', "lacks ['flops', 'params', 'std', 'test_acc']"),
    ('{"00000000": {"test_acc": [1, 2, 3], "mean_acc": "93.1", "std": 0, "params": 1, "flops": 1}}',
     "the row of '00000000' holds a value that is not a number (mean_acc '93.1'"),
    ('{"00000000": {"test_acc": 93.1, "mean_acc": 93.1, "std": 0, "params": 1, "flops": 1}}', "test_acc must be a list"),
])
def test_a_file_that_is_not_the_benchmark_is_rejected(tmp_path, text, message):
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{path}") as info:
        MacroTable(path)
    assert message in str(info.value)


def test_tables_by_space(tmp_path, small):
    assert evaluators.table_spaces() == ["nb201", "macro"]
    assert isinstance(evaluators.table("macro", small.path), MacroTable)
    csv = tmp_path / "nb201.csv"
    csv.write_text("arch,cifar10,cifar100,imagenet16_120\n|a~0|,90.5,70.0,40.0\n")
    nb201 = evaluators.table("nb201", csv)
    assert isinstance(nb201, NB201Table) and nb201.report("|a~0|") == {
        "test_accuracy": {"cifar10": 90.5, "cifar100": 70.0, "imagenet16_120": 40.0}}
    with pytest.raises(UnknownNameError, match="choose from: nb201, macro"):
        evaluators.table("darts", csv)


def test_the_real_table_has_the_published_best_architecture():
    """Su et al. 2021: 22212220 is the best of the 6,561 (93.13 % mean test accuracy, 1.99 M params)."""
    table = MacroTable(shared_data("nas_bench_macro_cifar10.json"))
    assert len(table) == 6561 and table.rank("22212220") == 1
    r = table.report("22212220")
    assert round(r["test_accuracy"], 3) == 93.127 and r["params"] == 1_985_514 and r["flops"] == 85_164_544
    assert table.rank("00000000") == 6561  # all identities: no conv beyond stem, downsamples and head
