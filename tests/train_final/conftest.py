"""Shared pieces of the train_final tests: a tiny learnable ImageFolder tree and a CLI runner."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ptnas.cli.train import main

GENOTYPE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TINY = ["--model-kwargs", "C=4", "N=1", "--workers", "0", "--no-progress", "--device", "cpu"]
COLOURS = {"blue": 2, "green": 1, "red": 0}  # class -> the RGB channel that is bright


def write_colour_folder(root: Path, per_class: dict[str, int], size: int = 16, seed: int = 0) -> Path:
    """`root/<split>/<class>/<i>.png`: noisy images whose class is their dominant colour (learnable)."""
    rng = np.random.default_rng(seed)
    for split, n in per_class.items():
        for name, channel in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 110, (size, size, 3))
                pixels[..., channel] += 120
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
    return root



@pytest.fixture(scope="session")
def colour_folder(tmp_path_factory) -> Path:
    return write_colour_folder(tmp_path_factory.mktemp("colours"), {"train": 32, "val": 8})


def run(argv: list[str]) -> int:
    """The CLI in this process; its exit code (0 when it returns normally)."""
    try:
        return main([str(a) for a in argv]) or 0
    except SystemExit as e:
        return int(e.code or 0)
