"""`search.py --max-latency MS --latency-table FILE`: a latency limit predicted by a ptnas-latency table, kept by
every search and refused in one line when it cannot be met or the table does not fit."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import ptnas
from ptnas import spaces
from ptnas.cli.search import main
from ptnas.spaces import latency, limit
from ptnas.spaces.nb201 import EDGES, NB201Genotype

NB201 = spaces.get("nb201")
TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8", "--device", "cpu"]
CHEAPEST_MS = 1.0


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> Path:
    """A real NB201 table at the final-training size (C=16, N=5, 10 classes, 32×32: what a CIFAR-10 search is
    costed at), measured quickly. Its `fixed` is shifted so that the cheapest network predicts CHEAPEST_MS: a
    quick measurement is noisy and can put `fixed` below zero, and the tests need a known floor."""
    table = latency.build("nb201", device="cpu", repeats=2, warmup=1, threads=1)
    low, _ = table.cost_model().range(None)
    table.fixed += CHEAPEST_MS - low.latency
    return table.save(tmp_path_factory.mktemp("latency") / "nb201-cpu.json")


def _predicted(path: Path) -> list[float]:
    model = latency.load(path, "nb201").cost_model()
    return sorted(model.of(NB201Genotype(ops)).latency for ops in itertools.product(NB201.ops, repeat=len(EDGES)))


def test_a_selector_search_keeps_the_predicted_latency_within_the_limit(table_path, tmp_path):
    predicted = _predicted(table_path)
    quarter = predicted[len(predicted) // 4]  # three quarters of the space are over it
    out = tmp_path / "run"
    assert main([*TINY, "--proposals", "2", "--valid-batches", "1", "--order", "random",
                 "--max-latency", f"{quarter:.6f}", "--latency-table", str(table_path), "--out", str(out)]) == 0
    saved = json.loads((out / "genotype.json").read_text())
    table = latency.load(table_path, "nb201")
    assert saved["limit"]["latency"] == pytest.approx(table.predict(saved["genotype"]))
    assert saved["limit"]["latency"] <= quarter and saved["limit"]["within"]
    assert saved["limit"]["max_latency"] == pytest.approx(quarter)
    assert all(table.predict(c["genotype"]) <= quarter for c in saved["candidates"])


def test_a_multi_trial_search_evaluates_only_networks_within_the_latency_limit(table_path, tmp_path):
    predicted = _predicted(table_path)
    quarter = predicted[len(predicted) // 4]
    result = ptnas.search(space="nb201", init_channels=4, layers=1, batch_size=8, device="cpu", strategy="random",
                          trials=5, valid_batches=1, max_latency=quarter, latency_table=str(table_path),
                          out=str(tmp_path / "r"))
    table = latency.load(table_path, "nb201")
    rows = [json.loads(line) for line in (tmp_path / "r" / "scores.jsonl").read_text().splitlines()]
    evaluated = [r["genotype"] for r in rows if r["kind"] == "evaluation"]
    assert len(evaluated) == 5 and all(table.predict(g) <= quarter for g in evaluated)
    assert table.predict(result.genotype) <= quarter


def test_the_limit_honours_latency_in_every_question(table_path):
    lim = limit.Limit.of(NB201, 10, 32, {"C": 4, "N": 1}, max_latency=5.0, latency_table=str(table_path))
    table = latency.load(table_path, "nb201")
    slow = max((NB201Genotype((op,) * 6) for op in NB201.ops), key=table.predict)
    assert table.predict(slow) > 5.0
    assert lim.excess(slow) == f"{table.predict(slow):.4g} ms predicted latency, over --max-latency 5"
    assert lim.describe() == {"max_params": None, "max_flops": None, "max_latency": 5.0}
    net = NB201.supernet(C=4, N=1)
    for e in EDGES:
        for op in lim.allowed(net, e):  # each allowed op leaves a completion within 5 ms
            assert lim.model.range(net, assume={e: op})[0].latency <= 5.0


def test_an_unreachable_latency_limit_is_refused_before_any_run_dir(table_path, tmp_path, capsys):
    out = tmp_path / "run"
    for family in (["--proposals", "2"], ["--strategy", "random", "--trials", "3"]):
        with pytest.raises(SystemExit) as e:
            main([*TINY, *family, "--max-latency", str(CHEAPEST_MS / 2), "--latency-table", str(table_path),
                  "--out", str(out)])
        assert e.value.code == 2 and not out.exists()
        err = capsys.readouterr().err.strip()
        assert err == ("search.py: error: no network of the nb201 space fits: the smallest has 1 ms predicted latency, "
                       "over --max-latency 0.5")


@pytest.mark.parametrize("given, message", [
    (["--max-latency", "5"], "--max-latency needs --latency-table FILE"),
    (["--max-latency", "0", "--latency-table", "t.json"], "--max-latency must be positive, got 0.0"),
    (["--max-latency", "5", "--latency-table", "nowhere.json"], "latency table nowhere.json: no such file"),
])
def test_a_latency_limit_without_a_usable_table_is_one_line(tmp_path, capsys, given, message):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as e:
        main([*TINY, *given, "--out", str(out)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_table_of_another_size_or_space_is_refused_in_one_line(table_path, tmp_path, capsys):
    small = latency.build("nb201", device="cpu", repeats=1, warmup=0, threads=1, C=4, N=1).save(tmp_path / "small.json")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as e:
        main([*TINY, "--max-latency", "5", "--latency-table", str(small), "--out", str(out)])
    assert e.value.code == 2 and not out.exists()
    assert (f"latency table {small} is of size num_classes=10, input_size=32, C=4, N=1, not num_classes=10, "
            "input_size=32, C=16, N=5" in capsys.readouterr().err)
    with pytest.raises(SystemExit) as e:  # CIFAR-100: the same network with 100 classes is another size
        main([*TINY, "--dataset", "cifar100", "--max-latency", "5", "--latency-table", str(table_path),
              "--out", str(out)])
    assert e.value.code == 2 and "not num_classes=100" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["--space", "macro", "--device", "cpu", "--max-latency", "5", "--latency-table", str(table_path), "--out", str(out)])
    assert e.value.code == 2 and not out.exists()
    assert f"latency table {table_path} is of the nb201 space, not macro" in capsys.readouterr().err
