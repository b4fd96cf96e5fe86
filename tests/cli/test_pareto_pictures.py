"""Score against cost with the Pareto front: every multi-trial search and every ptnas-evaluate run writes the
pictures into its run dir and its TensorBoard events."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas.cli.evaluate import main as evaluate
from ptnas.cli.search import main as search
from ptnas.spaces import latency
from tests.conftest import shared_data

TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8", "--device", "cpu"]


def pictures(out, names):
    """The PNGs of `names` in `out` and the TensorBoard images pareto/<name>, checked to be the same picture."""
    events = EventAccumulator(str(out / "events"), size_guidance={"images": 0})
    events.Reload()
    assert sorted(t for t in events.Tags()["images"] if t.startswith("pareto/")) == sorted(f"pareto/{n}" for n in names)
    for name in names:
        with Image.open(out / f"pareto-{name}.png") as png:
            assert png.format == "PNG"
            size = png.size
        (image,) = events.Images(f"pareto/{name}")
        assert (image.width, image.height) == size
    return events


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    return latency.build("nb201", device="cpu", repeats=1, warmup=0, threads=1).save(
        tmp_path_factory.mktemp("latency") / "nb201-cpu.json")


def test_a_multi_trial_search_draws_score_against_params_flops_and_latency(tmp_path, table_path):
    out = tmp_path / "run"
    assert search([*TINY, "--strategy", "random", "--trials", "8", "--evaluator", "table", "--table",
                   str(shared_data("nb201_test_accuracy.csv")), "--latency-table", str(table_path),
                   "--out", str(out)]) == 0
    pictures(out, ["params", "flops", "latency"])


def test_without_a_latency_table_there_is_no_latency_picture_and_no_limit_is_needed(tmp_path):
    out = tmp_path / "run"
    assert search([*TINY, "--strategy", "evolution", "--population", "3", "--tournament", "2", "--trials", "6",
                   "--evaluator", "table", "--table", str(shared_data("nb201_test_accuracy.csv")),
                   "--out", str(out)]) == 0
    pictures(out, ["params", "flops"])
    assert not (out / "pareto-latency.png").exists()


def test_naswot_draws_its_proxy_scores(tmp_path):
    out = tmp_path / "run"
    assert search([*TINY, "--strategy", "naswot", "--samples", "4", "--proxy", "synflow", "--out", str(out)]) == 0
    pictures(out, ["params", "flops"])


def test_an_evaluation_draws_its_ok_scores(tmp_path, table_path):
    out = tmp_path / "ev"
    assert evaluate([*TINY, "--evaluator", "table", "--table", str(shared_data("nb201_test_accuracy.csv")),
                     "--sample", "10", "--seed", "2", "--latency-table", str(table_path), "--out", str(out)]) == 0
    events = pictures(out, ["params", "flops", "latency"])
    (image,) = events.Images("pareto/params")
    pixels = np.asarray(Image.open(out / "pareto-params.png").convert("RGB"))
    front_red = np.all(pixels == (0xc0, 0x39, 0x2b), axis=-1)
    assert front_red.sum() > 100  # the front is drawn, in its colour


def test_a_selector_search_refuses_a_latency_table_it_would_not_read(tmp_path, capsys, table_path):
    with pytest.raises(SystemExit) as e:
        search([*TINY, "--latency-table", str(table_path), "--out", str(tmp_path / "run")])
    assert e.value.code == 2 and not (tmp_path / "run").exists()
    assert "--latency-table applies to --max-latency and to the Pareto pictures of a --strategy search" in \
        capsys.readouterr().err
