"""The datasets of a final training run, by name: training set, optional validation hold-out, test set.

`build(...)` returns `Splits`; `train_loader` / `eval_loader` shard them over DDP ranks. The test set is
what papers report on (CIFAR test, ImageNet val/); a validation split, when asked for, is held out of
the training set and is the only split a "best" checkpoint may be chosen on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from ptnas.data import DataNotFoundError, datasets


@dataclass
class Splits:
    train: Dataset
    val: Dataset | None
    test: Dataset
    num_classes: int
    input_size: int  # side of the square input images the network sees


class Transformed(Dataset):
    """`(transform(image), target)` for the items of `base`: one file scan serves two transforms."""

    def __init__(self, base: Dataset, transform: Callable | None):
        self.base = base
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, y = self.base[i]
        return (self.transform(x) if self.transform is not None else x), y


def targets_of(dataset: Dataset) -> list[int]:
    """Class labels of every item, without decoding images."""
    if hasattr(dataset, "targets"):
        return [int(t) for t in dataset.targets]
    if hasattr(dataset, "tensors"):
        return dataset.tensors[1].tolist()
    return [int(dataset[i][1]) for i in range(len(dataset))]


def holdout(targets: Sequence[int], fraction: float) -> tuple[list[int], list[int]]:
    """`(train, val)` indices: the last `fraction` of every class is held out, so both stay class-balanced."""
    if not 0 <= fraction < 1:
        raise ValueError(f"--val-split must be in [0, 1), got {fraction}")
    by_class: dict[int, list[int]] = {}
    for i, t in enumerate(targets):
        by_class.setdefault(t, []).append(i)
    train, val = [], []
    for idx in by_class.values():
        k = int(round(len(idx) * fraction))
        train.extend(idx[: len(idx) - k])
        val.extend(idx[len(idx) - k:])
    return sorted(train), sorted(val)


def build(name: str, root: str | Path = "data", val_split: float = 0.0, cutout: int = 0, img_size: int = 224,
          color_jitter: Sequence[float] | None = None, synthetic_n: int = 10000, download: bool = False) -> Splits:
    """The splits of dataset `name` (`data.datasets`); DataNotFoundError / UnknownNameError carry one-line
    messages. `img_size` applies to datasets whose image size is not fixed (ImageNet: the crop)."""
    info = datasets.get(name)
    size = info.image_size if info.num_classes is not None else img_size
    train_tf = info.transform(True, size, cutout=cutout, color_jitter=color_jitter)
    eval_tf = info.transform(False, size)
    extra = {} if info.needs_files else {"n": synthetic_n}
    full = info.load(root, train=True, transform=None, download=download, **extra)
    test = info.load(root, train=False, transform=eval_tf, download=download, **extra)
    if getattr(full, "classes", None) != getattr(test, "classes", None):
        missing = sorted(set(full.classes) ^ set(test.classes))
        raise DataNotFoundError(f"the training and test splits of {name} in {root} have different class folders "
                                f"({len(full.classes)} vs {len(test.classes)}; e.g. {', '.join(missing[:3])})")
    num_classes = info.num_classes or len(full.classes)
    val = None
    train: Dataset = full
    if val_split > 0:
        train_idx, val_idx = holdout(targets_of(full), val_split)
        train, val = Subset(full, train_idx), Transformed(Subset(full, val_idx), eval_tf)
    return Splits(Transformed(train, train_tf), val, test, num_classes, size)


def train_loader(dataset: Dataset, batch_size: int, world_size: int = 1, rank: int = 0, seed: int = 0,
                 workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """Shuffled full batches of this rank's shard; call `loader.sampler.set_epoch(e)` every epoch.

    DistributedSampler shuffles with `seed + epoch`, so the order is a function of the epoch (exact resume)
    and the ranks' shards are disjoint. A single process uses the same sampler with one replica.
    """
    if len(dataset) // world_size < batch_size:
        raise ValueError(f"the training set ({len(dataset)} images over {world_size} process(es)) does not fill "
                         f"one batch of {batch_size}; lower --batch-size")
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, pin_memory=pin_memory,
                      drop_last=True)


def eval_loader(dataset: Dataset, batch_size: int, world_size: int = 1, rank: int = 0, workers: int = 0,
                pin_memory: bool = False) -> DataLoader:
    """Every `world_size`-th item from `rank` on, in order: the shards partition the set with no padding,
    so summing counts over ranks gives the exact accuracy."""
    shard = Subset(dataset, range(rank, len(dataset), world_size))
    return DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers, pin_memory=pin_memory)

