"""Bad input that only the data can reveal (a missing, empty or corrupt --data, a batch larger than the
split) ends ptnas-evaluate and multi-trial search with one line, exit 2 and no run dir."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ptnas.cli.evaluate import main as evaluate
from ptnas.cli.search import main as search

TINY = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--batch-size", "4", "--device", "cpu"]
CLASSES = [f"c{i}" for i in range(10)]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """`empty`: train/ and test/ without class folders; `corrupt`: 10 classes of real JPEGs, one not an image."""
    root = tmp_path_factory.mktemp("data")
    for split in ("train", "test"):
        (root / "empty" / split).mkdir(parents=True)
        for c in CLASSES:
            folder = root / "corrupt" / split / c
            folder.mkdir(parents=True)
            for i in range(2):
                pixels = np.random.default_rng(i).integers(0, 255, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
    (root / "corrupt" / "train" / "c3" / "0.jpg").write_bytes(b"not a jpeg")
    return root


CASES = {
    "missing": (["--dataset", "cifar10", "--data", "MISSING"], "no cifar10 data in"),
    "empty": (["--dataset", "cifar10", "--data", "EMPTY"], "has no class folders"),
    "corrupt": (["--dataset", "cifar10", "--data", "CORRUPT"], "0.jpg: not a readable image"),
}
PROGRAMS = {
    "evaluate zero-cost": (evaluate, ["--sample", "2", "--valid-batches", "1"]),
    "random shortreg": (search, ["--strategy", "random", "--trials", "2", "--evaluator", "shortreg",
                                 "--train-epochs", "1", "--train-batch-size", "4"]),
    "evolution fear": (search, ["--strategy", "evolution", "--population", "2", "--tournament", "1", "--trials", "3",
                                "--evaluator", "fear", "--train-batch-size", "4", "--fear-batch-size", "4"]),
    "random with a zero-cost warm-up": (search, ["--strategy", "random", "--trials", "2", "--evaluator", "table",
                                                 "--table", "TABLE", "--warmup", "4"]),
}


def _paths(flags, folders, tmp_path):
    from tests.conftest import shared_data

    subs = {"MISSING": str(tmp_path / "nowhere"), "EMPTY": str(folders / "empty"), "CORRUPT": str(folders / "corrupt")}
    return [str(shared_data("nb201_test_accuracy.csv")) if f == "TABLE" else subs.get(f, f) for f in flags]


@pytest.mark.parametrize("program", list(PROGRAMS))
@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_one_line_before_any_run_dir(folders, tmp_path, capsys, program, case):
    main, flags = PROGRAMS[program]
    data, message = CASES[case]
    with pytest.raises(SystemExit) as e:
        main([*TINY, *_paths([*flags, *data], folders, tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags", [
    ["--evaluator", "shortreg", "--train-batch-size", "100000"],
    ["--evaluator", "fear", "--fear-batch-size", "100000"],
])
def test_a_batch_larger_than_the_split_is_one_line_before_any_run_dir(tmp_path, capsys, flags):
    with pytest.raises(SystemExit) as e:
        search([*TINY, "--strategy", "random", "--trials", "2", *flags, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "is larger than the training split" in err, err
    assert not (tmp_path / "run").exists()
