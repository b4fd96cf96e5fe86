"""Deterministic minibatch streams: the same seed gives the same batches (images and augmentation)."""
from __future__ import annotations

import itertools
from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from ptnas.batch import Batch
from ptnas.data.decoded import DecodedImages


class BatchSource:
    """Draws shuffled minibatches from a dataset, reproducibly.

    `stream(seed)` is an endless iterator over epochs of this dataset, reshuffled each epoch. The
    shuffle comes from a generator seeded with `seed`; random augmentations run under a forked global
    RNG seeded per batch, so results never depend on what else consumed randomness in between.
    A `DecodedImages` dataset (images decoded once, ptnas/data/decoded.py) is moved to `device` and
    drawn and augmented there, epoch by epoch, from its own generator seeded by (seed, epoch).
    """

    def __init__(self, dataset: Dataset | DecodedImages, batch_size: int, device: torch.device | str = "cpu",
                 workers: int = 0):
        if len(dataset) < batch_size:
            raise ValueError(f"batch size {batch_size} is larger than the dataset ({len(dataset)} items)")
        self.device = torch.device(device)
        self.dataset = dataset.to(self.device) if isinstance(dataset, DecodedImages) else dataset
        self.batch_size = batch_size
        self.workers = workers

    def stream(self, seed: int) -> Iterator[Batch]:
        if isinstance(self.dataset, DecodedImages):
            for epoch in itertools.count():
                yield from self.dataset.epoch(self.batch_size, seed, epoch)
        g = torch.Generator().manual_seed(seed)
        loader = DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True, drop_last=True,
                            num_workers=self.workers, generator=g)
        index = 0
        while True:
            it = iter(loader)
            while True:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed * 1_000_003 + index)
                    try:
                        x, y = next(it)
                    except StopIteration:
                        break
                index += 1
                yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def take(self, seed: int, count: int) -> Iterator[Batch]:
        """The first `count` batches of `stream(seed)`."""
        stream = self.stream(seed)
        for _ in range(count):
            yield next(stream)

    def fixed(self, seed: int, count: int, max_bytes: int = 2**30) -> Callable[[], Iterator[Batch]]:
        """A function returning the same `count` batches at every call (a validation set).

        The batches are loaded once and kept (on the source's device) when they fit in `max_bytes`;
        otherwise they are loaded again, identically, at every call.
        """
        first = next(self.take(seed, 1))
        if count * sum(t.numel() * t.element_size() for t in first) > max_bytes:
            return lambda: self.take(seed, count)
        kept = list(self.take(seed, count))
        return lambda: iter(kept)
