"""Shared fixtures: tiny networks and inputs, fixed seeds, the reference-data directory."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared_data(name: str) -> Path:
    """Path of a file in ../shared/data, or skip the test with the reason."""
    path = (SHARED_DATA / name).resolve()
    if not path.exists():
        pytest.skip(f"reference data {name} not found in ../shared/data")
    return path


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
