"""Issue 21's proxies end to end: a tiny zc-pt search (every scoring pass and the validation stage) and a
multi-trial search that uses the proxy for warm-up and move proposal write finite scores."""
from __future__ import annotations

import json
import math

import pytest

from ptnas.cli.search import main
from tests.conftest import shared_data

NEW = ["meco", "swap", "swap_reg", "zico", "az_nas"]
TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "8", "--device", "cpu"]


def values(out, kind):
    return [r["value"] for r in map(json.loads, (out / "scores.jsonl").read_text().splitlines()) if r["kind"] == kind]


@pytest.mark.parametrize("name", NEW)
def test_a_zero_cost_search_writes_finite_scores(tmp_path, name):
    out = tmp_path / name
    assert main([*TINY, "--proposals", "1", "--valid-batches", "1", "--order", "fixed", "--proxy", name,
                 "--out", str(out)]) == 0
    scores = values(out, "score")
    assert len(scores) == 30 and all(v is not None and math.isfinite(v) for v in scores)
    assert json.loads((out / "genotype.json").read_text())["genotype"]


@pytest.mark.parametrize("name", NEW)
def test_warm_up_and_move_proposal_score_with_the_proxy(tmp_path, name):
    out = tmp_path / name
    assert main([*TINY, "--strategy", "evolution", "--population", "3", "--tournament", "2", "--warmup", "4",
                 "--move-proposal", "--trials", "5", "--evaluator", "table",
                 "--table", str(shared_data("nb201_test_accuracy.csv")), "--proxy", name, "--out", str(out)]) == 0
    scores = values(out, "proxy")
    assert len(scores) >= 4 and all(v is not None and math.isfinite(v) for v in scores)
    assert len(values(out, "evaluation")) == 5
