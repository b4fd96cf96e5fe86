"""The dataset registry: one entry says what a dataset is, and the search pool, the decoded images and
final training's splits all take it from there, so a new dataset is one `register` call."""
from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from ptnas import data
from ptnas.data import datasets
from ptnas.data.decoded import decoded
from ptnas.registry import UnknownNameError
from ptnas.train_final import datasets as final
from tests.conftest import shared_data


def test_every_entry_loads_what_it_declares():
    root = shared_data("cifar10-jpg")
    info = datasets.get("cifar10")
    train = info.load(root, train=True)
    assert len(train.classes) == info.num_classes == 10 and len(train) == 10_000
    x, _ = info.load(root, train=False, transform=info.transform(train=False))[0]
    assert x.shape == (3, info.image_size, info.image_size)
    synthetic = datasets.get("synthetic-cifar10")
    x, y = synthetic.load(None, train=True).tensors
    assert x.shape[1:] == (3, 32, 32) and int(y.max()) == synthetic.num_classes - 1


def test_searches_run_only_on_the_searchable_datasets():
    assert "imagenet" in datasets.names() and "imagenet" not in data.names()
    with pytest.raises(UnknownNameError, match="choose from: cifar10, cifar100, synthetic-cifar10"):
        data.num_classes("imagenet")


def _toy(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, 32, 32, generator=g), torch.arange(n) % 3)


def test_a_registered_dataset_reaches_the_search_pool_the_decoded_images_and_final_training():
    toy = datasets.DatasetInfo(
        "toy-three", num_classes=3, image_size=32, mean=None, std=None, searchable=True,
        load=lambda root, train, transform=None, download=False, n=60: _toy(n, 0 if train else 1),
        transform=lambda train, image_size=32, cutout=0, color_jitter=None: None, needs_files=False)
    datasets.register(toy.name, toy)
    try:
        assert data.num_classes("toy-three") == 3 and "toy-three" in data.names()
        pool = decoded("toy-three", None, portion=(0.0, 0.5))
        assert pool.num_classes == 3 and len(pool.labels) == 30  # the first half, as a search takes it
        assert torch.equal(pool.images, _toy(60, 0).tensors[0][:30])
        splits = final.build("toy-three", synthetic_n=60, val_split=0.2)
        assert (splits.num_classes, splits.input_size, len(splits.train), len(splits.val)) == (3, 32, 48, 12)
        assert not torch.equal(splits.test[0][0], splits.train[0][0])  # the test split is its own
    finally:
        datasets._DATASETS._items.pop("toy-three")
