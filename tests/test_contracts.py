"""The contract every registered selector, evaluator and strategy keeps, checked over the registries through
the Python API (what the programs run), so a new one is held to it with no new test. Spaces have their own
(tests/spaces/test_contract.py).

A component that needs settings to run at a tiny size lists them in TINY; the others run with their defaults.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import ptnas
from ptnas import evaluators, selectors, spaces, strategies
from tests.conftest import random_image_folder, shared_data

NB201 = spaces.get("nb201")
SMALL = dict(space="nb201", init_channels=4, layers=1, batch_size=8, seed=0, device="cpu")
TINY = {  # the settings that make each component's work tiny
    "zc-pt": {"proposals": 1, "valid_batches": 1},
    "zc-disc": {"proposals": 1, "valid_batches": 1},
    "darts-alpha": {"epochs": 1, "steps_per_epoch": 2, "eval_batches": 1},
    "darts-pt": {"epochs": 1, "steps_per_epoch": 2, "eval_batches": 1},
    "zero-cost": {"valid_batches": 1},
    "shortreg": {"train_epochs": 1, "train_batch_size": 8},
    "fear": {"fear_threshold": 0.1, "fear_epochs": 1, "fear_batch_size": 8, "train_batch_size": 8, "fear_max_epochs": 1},
    "naswot": {"samples": 6},
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A CIFAR-10-shaped ImageFolder of real PNG files: 10 classes × 4 images in train/ and test/."""
    return random_image_folder(tmp_path_factory.mktemp("cifar"))


@pytest.mark.parametrize("name", selectors.names())
def test_a_selector_decides_every_edge_and_the_same_settings_decide_the_same(name):
    first = ptnas.search(**SMALL, selector=name, **TINY.get(name, {}))
    again = ptnas.search(**SMALL, selector=name, **TINY.get(name, {}))
    g = first.genotype
    assert NB201.parse(str(g)) == g  # a whole genotype of the space: every edge decided
    assert str(again.genotype) == str(g)  # same seed and settings on the CPU: same genotype
    assert first.summary["genotype"] == str(g)
    assert str(g) in [c["genotype"] for c in first.candidates] or not first.candidates


GENOTYPES = [str(NB201.sample(np.random.default_rng(seed))) for seed in range(3)]


@pytest.mark.parametrize("name", evaluators.names())
def test_an_evaluator_gives_one_record_per_genotype_in_order_and_ranks_them(name, images):
    settings = dict(SMALL, evaluator=name, genotypes=GENOTYPES, dataset="cifar10", data=str(images),
                    **TINY.get(name, {}))
    if name == "table":
        settings["table"] = str(shared_data("nb201_test_accuracy.csv"))
    result = ptnas.evaluate(**settings)
    assert [r.genotype for r in result.records] == GENOTYPES
    for r in result.records:
        assert r.status in ("ok", "rejected", "failed")
        assert (r.status == "ok") == (r.score is not None and math.isfinite(r.score)), r
        assert r.status == "ok" or r.reason
    scored = [row["score"] for row in result.rows if row["score"] is not None]
    assert scored == sorted(scored, reverse=True)  # best first
    if evaluators.get(name).deterministic:
        assert [r.score for r in ptnas.evaluate(**settings).records] == [r.score for r in result.records]


@pytest.mark.parametrize("name", strategies.names())
def test_a_strategy_keeps_its_budget_evaluates_each_arch_once_and_is_reproducible(name, tmp_path):
    trials = 6
    chosen = strategies.get(name)
    settings = dict(SMALL, strategy=name, trials=trials, **TINY.get(name, {}))
    if chosen.uses_evaluator:
        settings.update(evaluator="table", table=str(shared_data("nb201_test_accuracy.csv")))

    def evaluations(out):
        result = ptnas.search(**settings, out=out)
        rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
        return result, [(r["genotype"], r["value"]) for r in rows if r.get("kind") == "evaluation"]

    result, made = evaluations(tmp_path / "a")
    assert NB201.parse(str(result.genotype)) == result.genotype
    assert len(made) <= trials and len({g for g, _ in made}) == len(made)  # the budget, no arch twice
    if chosen.uses_evaluator:
        assert len(made) == trials
        assert max(made, key=lambda e: e[1])[1] == dict(made)[str(result.genotype)]  # the best evaluated wins
    assert evaluations(tmp_path / "b")[1] == made and str(evaluations(tmp_path / "c")[0].genotype) == str(result.genotype)
