"""--bn-mode: data-dependent proxies see BN in the mode asked for; the search run records and uses it."""
import json

import pytest
import torch
import yaml

from ptnas import proxies, spaces
from ptnas.cli import search
from conftest import tiny_batch

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_batch_policy_proxies_depend_on_the_bn_mode_and_the_others_do_not():
    torch.manual_seed(0)
    model = spaces.get("nb201").network(BEST, C=4, N=1)
    batch = tiny_batch()
    for name in proxies.names():
        p = proxies.get(name)
        if p.population:
            continue
        train, eval_ = p(model, batch, bn_mode="train"), p(model, batch, bn_mode="eval")
        # counts that saturate either way: 8 patterns in 8 samples; all 2^8 unit patterns (swap's factor
        # depends on the parameters only)
        if p.bn == "batch" and name not in ("linear_regions", "swap", "swap_reg"):
            assert train != eval_, name
        elif p.bn != "batch":
            assert train == eval_, name
    with pytest.raises(ValueError, match="choose from: train, eval"):
        proxies.get("nwot")(model, batch, bn_mode="frozen")


def run_search(tmp_path, bn_mode):
    out = tmp_path / bn_mode
    assert search.main(["--proxy", "nwot", "--order", "fixed", "--proposals", "1", "--valid-batches", "1",
                        "--batch-size", "8", "--init-channels", "4", "--layers", "1", "--bn-mode", bn_mode,
                        "--out", str(out), "--device", "cpu"]) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    scores = [r["value"] for r in map(json.loads, (out / "scores.jsonl").read_text().splitlines())
              if r["kind"] == "score"]
    return config, scores


def test_search_records_and_honours_the_bn_mode(tmp_path):
    train_config, train_scores = run_search(tmp_path, "train")
    eval_config, eval_scores = run_search(tmp_path, "eval")
    assert train_config["bn_mode"] == "train" and eval_config["bn_mode"] == "eval"
    assert len(train_scores) == len(eval_scores) == 30 and train_scores != eval_scores


def test_search_keeps_the_parts_of_a_population_proxy(tmp_path):
    out = tmp_path / "tenas"
    assert search.main(["--proxy", "tenas", "--order", "fixed", "--proposals", "1", "--valid-batches", "1",
                        "--batch-size", "8", "--init-channels", "4", "--layers", "1", "--out", str(out),
                        "--device", "cpu"]) == 0
    strict = lambda line: json.loads(line, parse_constant=lambda token: 1 / 0)  # noqa: E731 (NaN is written as null)
    parts = [strict(line) for line in (out / "parts.jsonl").read_text().splitlines()]
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    values = [r["value"] for r in scores if r["kind"] == "score"]
    assert len(parts) == 30 and [r["value"] for r in parts] == values
    assert all(set(r["parts"]) == {"ntk_cond", "linear_regions"} for r in parts)
