"""Result files are strict JSON: NaN and inf are written as null and read back as NaN where a number is expected."""
from __future__ import annotations

import json
import math

import numpy as np

from ptnas import jsonio
from ptnas.evaluators import Record
from ptnas.rundir import RunDir
from ptnas.search_log import SearchLog


def strict(text: str):
    """json.loads that refuses the NaN / Infinity tokens, as jq or a browser would."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_at_any_depth():
    value = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": (np.float64("nan"), 2), "e": "nan"}
    assert strict(jsonio.dumps(value)) == {"a": None, "b": [1.0, None, {"c": None}], "d": [None, 2], "e": "nan"}
    assert jsonio.dumps(np.float32(0.5)) == "0.5"


def test_null_reads_back_as_nan_and_numbers_as_floats():
    assert math.isnan(jsonio.number(None)) and jsonio.number(3) == 3.0


def test_search_log_and_run_dir_write_strict_json(tmp_path):
    log = SearchLog(tmp_path, tensorboard=False)
    log.score(0, 0, "op", "1<-0", "none", math.nan)
    log.validation(0, Record("g", None, "failed", reason="the proxy gave inf"))
    log.close()
    lines = [strict(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [r["value"] for r in lines] == [None, None]
    RunDir(tmp_path / "run").write_json("genotype.json", {"candidates": [{"validation_score": math.nan}]})
    assert strict((tmp_path / "run" / "genotype.json").read_text()) == {"candidates": [{"validation_score": None}]}

