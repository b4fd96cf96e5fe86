"""NAS-Bench-201 ground truth from the shipped CSV (figures from ../shared/data/README.md and the
benchmark), optional validation/params columns, and the official-API path."""
import importlib.util
import json
import os
from pathlib import Path

import pytest

from ptnas.evaluators.nb201_table import NATSBenchTable, NB201Table, open_table

CSV = Path("../shared/data/nb201_test_accuracy.csv")
REFERENCE = Path("../shared/data/nb201_zero_cost_reference.json")
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def table():
    if not CSV.is_file():
        pytest.skip("../shared/data/nb201_test_accuracy.csv is absent")
    return open_table(CSV)


def test_shipped_table_matches_the_published_figures(table):
    assert isinstance(table, NB201Table) and len(table) == 15625
    c10 = {a: table.test_accuracy(a) for a in table.archs()}
    assert max(c10, key=c10.get) == BEST and c10[BEST] == pytest.approx(94.3733)
    assert max(table.test_accuracy(a, "cifar100") for a in table.archs()) == pytest.approx(73.5133)
    assert max(table.test_accuracy(a, "imagenet16_120") for a in table.archs()) == pytest.approx(47.3111)
    assert sum(c10.values()) / len(c10) == pytest.approx(87.06, abs=0.005)
    assert table.lookup(BEST)["cifar10"] == pytest.approx(94.3733)


def test_params_equal_the_benchmarks_counts(table):
    if not REFERENCE.is_file():
        pytest.skip("../shared/data/nb201_zero_cost_reference.json is absent")
    reference = json.loads(REFERENCE.read_text())
    for arch in list(reference)[:3]:
        for dataset, key in (("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet16_120", "ImageNet16-120")):
            assert table.params(arch, dataset) == round(reference[arch][key]["params"] * 1e6)


def test_shipped_table_has_no_validation_accuracy(table):
    with pytest.raises(KeyError, match="no cifar10 validation accuracy"):
        table.valid_accuracy(BEST)


def test_optional_columns_are_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arch,cifar10,cifar100,imagenet16_120,cifar10_valid,cifar10_params\n"
                    f"{BEST},94.37,73.51,47.31,91.5,1234\n")
    t = NB201Table(path)
    assert t.valid_accuracy(BEST) == 91.5 and t.params(BEST) == 1234
    assert BEST in t and "|x|" not in t and t.archs() == [BEST]


def test_errors_say_what_is_wrong(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("arch,cifar10\n|a|,1\n")
    with pytest.raises(ValueError, match="missing columns"):
        NB201Table(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_table(tmp_path / "missing.csv")
    good = tmp_path / "good.csv"
    good.write_text(f"arch,cifar10,cifar100,imagenet16_120\n{BEST},1,2,3\n")
    with pytest.raises(KeyError, match="is not in"):
        NB201Table(good).test_accuracy("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ValueError, match="choose from: cifar10, cifar100, imagenet16_120"):
        NB201Table(good).test_accuracy(BEST, "svhn")


def test_a_bad_cell_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"arch,cifar10,cifar100,imagenet16_120\n{BEST},94.37,73.51,47.31\n|x|,abc,1,2\n")
    with pytest.raises(ValueError) as e:
        NB201Table(path)
    assert str(e.value) == f"{path}, line 3: cifar10 of |x| is 'abc', not a number"


def test_a_garbage_row_or_an_arch_twice_with_other_values_names_the_file_and_line(tmp_path):
    head = "arch,cifar10,cifar100,imagenet16_120\n"
    for body, message in ((f"{BEST},94.37,73.51,47.31\ngarbage\n", "line 3: not a row of the table"),
                          (f"{BEST},94.37,73.51,47.31\n{BEST},1,2,3,4\n", "line 3: not a row of the table"),
                          (f"{BEST},94.37,73.51,47.31\n{BEST},90,73.51,47.31\n", f"line 3: {BEST} is in the table twice")):
        path = tmp_path / "t.csv"
        path.write_text(head + body)
        with pytest.raises(ValueError) as e:
            NB201Table(path)
        assert str(e.value).startswith(f"{path}, ") and message in str(e.value), str(e.value)
    path.write_text(head + f"{BEST},94.37,73.51,47.31\n{BEST},94.37,73.51,47.31\n")  # the same row twice: one arch
    assert len(NB201Table(path)) == 1


def test_a_nas_bench_macro_json_is_refused_on_nb201(tmp_path):
    path = tmp_path / "nas_bench_macro_cifar10.json"
    path.write_text(json.dumps({"22212220": {"test_acc": [93.1, 93.2, 93.1], "mean_acc": 93.13, "std": 0.05,
                                             "params": 1000, "flops": 2000}}))
    with pytest.raises(ValueError) as e:
        open_table(path)
    assert str(e.value).startswith(f"{path} is a NAS-Bench-Macro table (--space macro); --space nb201 needs the "
                                   "NAS-Bench-201 CSV")
    assert "official benchmark file" in str(e.value)


def test_a_benchmark_file_needs_the_official_api(tmp_path):
    path = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    path.mkdir()
    if importlib.util.find_spec("nats_bench") or importlib.util.find_spec("nas_201_api"):
        pytest.skip("an official API is installed: covered by the test below")
    with pytest.raises(ValueError, match="pip install nats_bench"):  # a ValueError: one line in the programs
        open_table(path)


def test_official_api_when_installed():
    path = os.environ.get("PTNAS_NATS_BENCH")
    if not path or not (importlib.util.find_spec("nats_bench") or importlib.util.find_spec("nas_201_api")):
        pytest.skip("set PTNAS_NATS_BENCH to a NATS-Bench topology file with nats_bench installed")
    t = NATSBenchTable(path)
    assert len(t) == 15625
    assert t.test_accuracy(BEST) == pytest.approx(94.3733, abs=1e-3)
    assert 0 < t.valid_accuracy(BEST) < 100
