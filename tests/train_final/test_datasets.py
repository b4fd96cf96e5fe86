"""Training datasets: ImageFolder loading, the validation hold-out, and how loaders shard over ranks."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from ptnas.train_final import datasets

from tests.train_final.conftest import COLOURS


def test_imagenet_folder_splits_and_transforms(colour_folder):
    splits = datasets.build("imagenet", colour_folder, img_size=12, color_jitter=[0.4, 0.4, 0.4, 0.2])
    assert splits.num_classes == len(COLOURS) and splits.input_size == 12 and splits.val is None
    assert len(splits.train) == 3 * 32 and len(splits.test) == 3 * 8
    x, y = splits.train[0]
    assert x.shape == (3, 12, 12) and y == 0  # classes in sorted folder order: blue, green, red
    x, y = splits.test[len(splits.test) - 1]
    assert x.shape == (3, 12, 12) and y == 2


def test_validation_holdout_takes_the_tail_of_every_class(colour_folder):
    splits = datasets.build("imagenet", colour_folder, val_split=0.25, img_size=16)
    assert len(splits.train) == 3 * 24 and len(splits.val) == 3 * 8
    assert sorted(int(splits.val[i][1]) for i in range(len(splits.val))) == [0] * 8 + [1] * 8 + [2] * 8
    train_idx, val_idx = datasets.holdout([0, 0, 0, 0, 1, 1, 1, 1], 0.25)
    assert (train_idx, val_idx) == ([0, 1, 2, 4, 5, 6], [3, 7])


def test_validation_images_get_the_evaluation_transform(colour_folder):
    splits = datasets.build("imagenet", colour_folder, val_split=0.25, img_size=16)
    first = splits.val[0][0]
    assert torch.equal(first, splits.val[0][0])  # no random crop or flip on the validation split


def test_train_shards_are_disjoint_and_cover_the_epoch():
    data = TensorDataset(torch.arange(40).float().view(40, 1), torch.zeros(40, dtype=torch.long))
    seen = []
    for rank in range(2):
        loader = datasets.train_loader(data, batch_size=5, world_size=2, rank=rank, seed=3)
        loader.sampler.set_epoch(1)
        seen.append([int(v) for x, _ in loader for v in x.view(-1)])
    assert len(seen[0]) == len(seen[1]) == 20 and sorted(seen[0] + seen[1]) == list(range(40))
    again = datasets.train_loader(data, batch_size=5, world_size=2, rank=0, seed=3)
    again.sampler.set_epoch(1)
    assert [int(v) for x, _ in again for v in x.view(-1)] == seen[0]  # the order is a function of (seed, epoch)


def test_eval_shards_partition_without_padding():
    data = TensorDataset(torch.arange(11).float(), torch.zeros(11, dtype=torch.long))
    shards = [[int(v) for x, _ in datasets.eval_loader(data, 4, world_size=3, rank=r) for v in x] for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(11))


def test_synthetic_cifar10_has_disjoint_train_and_test_draws():
    splits = datasets.build("synthetic-cifar10", synthetic_n=64)
    assert splits.num_classes == 10 and len(splits.train) == len(splits.test) == 64
    assert not torch.equal(splits.train[0][0], splits.test[0][0])


def test_cifar_imagefolder_copy_with_cutout():
    root = Path("../shared/data/cifar10-jpg")
    if not root.is_dir():
        pytest.skip(f"{root} not found (reference data lives next to the repository)")
    splits = datasets.build("cifar10", root, cutout=16, val_split=0.1)
    assert splits.num_classes == 10 and len(splits.train) == 9000 and len(splits.val) == 1000
    assert len(splits.test) == 10000
    torch.manual_seed(0)
    x, _ = splits.train[0]
    assert x.shape == (3, 32, 32)
    zero_columns = (x == 0).all(0).sum(0)  # Cutout: a 16×16 square of zeros (the mean, after normalising)
    assert (zero_columns >= 16).sum() == 16
    v, _ = splits.val[0]
    assert not (v == 0).all(0).any()  # the validation split gets the test transform: no Cutout
