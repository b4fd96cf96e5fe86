"""`--seed`: one declaration for every program, and the seeding of Python, NumPy and torch from it.

Seeds are 0 .. 2**31 - 1: the runs derive others from them (seed + 1, seed + rank, seed * 1,000,003 +
index) that must stay within NumPy's 32-bit legacy seeds and torch's 64-bit ones, so a larger or negative
seed is refused where it enters, not deep in a run after its run dir was made.
"""
from __future__ import annotations

import random

import numpy as np
import torch

from ptnas.settings import Setting

LARGEST = 2**31 - 1


def _in_range(seed: int) -> str | None:
    return None if seed <= LARGEST else f"must be at most 2**31 - 1 = {LARGEST}, got {seed}"


SEED = Setting("seed", int, 0, minimum=0, check=_in_range,
               help="seed of every random draw: weights, data order, sampled architectures, edge orders")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
