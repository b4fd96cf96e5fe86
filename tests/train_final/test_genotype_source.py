"""The genotype to train comes from a search run dir, a genotype.json, a text file or the text itself."""
from __future__ import annotations

import json

import pytest

from ptnas.train_final.genotype_source import GenotypeError, load

from tests.train_final.conftest import GENOTYPE


def test_text_form_infers_the_space():
    space, genotype = load(GENOTYPE)
    assert space == "nb201" and str(genotype) == GENOTYPE


def test_search_run_dir_and_its_genotype_json(tmp_path):
    (tmp_path / "genotype.json").write_text(json.dumps({"space": "nb201", "genotype": GENOTYPE, "proxy": "nwot"}))
    assert load(str(tmp_path)) == load(str(tmp_path / "genotype.json")) == ("nb201", load(GENOTYPE)[1])


def test_text_file(tmp_path):
    (tmp_path / "genotype.txt").write_text(GENOTYPE + "\n")
    assert load(str(tmp_path / "genotype.txt"))[1] == load(GENOTYPE)[1]


def test_json_of_an_unregistered_space_says_which_spaces_exist(tmp_path):
    (tmp_path / "genotype.json").write_text(json.dumps({"space": "hypothetical", "genotype": "Genotype(...)"}))
    with pytest.raises(GenotypeError, match="hypothetical space, which is not available here; registered spaces: .*nb201"):
        load(str(tmp_path))


def test_space_flag_contradicting_the_json_is_refused(tmp_path):
    (tmp_path / "genotype.json").write_text(json.dumps({"space": "nb201", "genotype": GENOTYPE}))
    with pytest.raises(GenotypeError, match="--space darts but"):
        load(str(tmp_path), space="darts")


def test_directory_without_genotype_json_is_refused(tmp_path):
    with pytest.raises(GenotypeError, match="no genotype.json"):
        load(str(tmp_path))


def test_malformed_genotype_of_a_named_space_carries_the_parser_message():
    with pytest.raises(GenotypeError, match="not a valid nb201 genotype: .*needs 3 nodes"):
        load("|nor_conv_3x3~0|", space="nb201")
