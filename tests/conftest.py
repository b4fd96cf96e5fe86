"""Shared fixtures: tiny networks and inputs, fixed seeds, the reference-data directory.

The whole suite runs torch on one intra-op thread (subprocesses too, through OMP_NUM_THREADS): tiny
networks are fastest that way, results do not depend on the machine's core count, and on a loaded
2-core machine two spin-waiting threads made some tests 40x slower.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared_data(name: str) -> Path:
    """Path of a file in ../shared/data, or skip the test with the reason."""
    path = (SHARED_DATA / name).resolve()
    if not path.exists():
        pytest.skip(f"reference data {name} not found in ../shared/data")
    return path


def random_image_folder(root: Path, per_class: int = 4) -> Path:
    """A CIFAR-10-shaped ImageFolder of real PNG files at `root`: 10 classes × `per_class` random images in
    train/ and test/ (seeded)."""
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    for split in ("train", "test"):
        for c in range(10):
            folder = root / split / f"c{c}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = (torch.rand(32, 32, 3, generator=g) * 255).to(torch.uint8).numpy()
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def differing_positions(a, b) -> int:
    """How many positions two equally long sequences differ in (a neighbour of a genotype differs in 1)."""
    a, b = tuple(a), tuple(b)
    assert len(a) == len(b), f"sequences of {len(a)} and {len(b)} positions"
    return sum(x != y for x, y in zip(a, b))


@pytest.fixture
def tiny_nb201():
    """NAS-Bench-201 supernet with C=4, one cell per stage, fixed seed."""
    from ptnas.spaces.nb201 import NB201Supernet

    torch.manual_seed(0)
    return NB201Supernet(C=4, N=1, num_classes=10)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 10, (8,), generator=g)


def zero_cost_validation(proxy, batches, build, seed: int = 0, bn_mode: str = "eval"):
    """The zero-cost evaluator the search programs use as validation stage: `proxy` summed over the
    batches that `batches()` returns, each candidate built by `build` after torch.manual_seed(seed)."""
    from ptnas import proxies
    from ptnas.evaluators import ZeroCost

    def network(g):
        torch.manual_seed(seed)
        return build(g)

    return ZeroCost(proxies.get(proxy) if isinstance(proxy, str) else proxy, batches, network, bn_mode=bn_mode)


def one_line_exit_2(capsys, main, argv) -> str:
    """Run a program's `main(argv)` expecting a user error: exit code 2 and one stderr line, no traceback."""
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err
