"""Datasets: real CIFAR-10 images through ImageFolder, the search split, synthetic CIFAR-10, batch streams."""
from __future__ import annotations

import collections

import pytest
import torch

from ptnas import data
from ptnas.data import BatchSource, DataNotFoundError, first_portion, synthetic_cifar10
from tests.conftest import shared_data


def test_imagefolder_cifar10_gives_cifar_labels_and_normalised_tensors():
    root = shared_data("cifar10-jpg")
    ds = data.cifar("cifar10", root, train=False, transform=data.cifar_transform("cifar10", train=False))
    assert len(ds) == 10000 and ds.classes[:3] == ["airplane", "automobile", "bird"]
    x, y = ds[0]
    assert x.shape == (3, 32, 32) and y == 0
    assert -3 < x.mean() < 3


def test_search_split_is_the_first_half_of_every_class():
    pool = data.search_dataset("cifar10", shared_data("cifar10-jpg"))
    assert len(pool) == 5000
    counts = collections.Counter(pool.dataset.targets[i] for i in pool.indices)
    assert counts == {c: 500 for c in range(10)}
    # the first half of each class folder: image 0000 … 0499 of class 0
    assert pool.dataset.samples[pool.indices[0]][0].endswith("airplane/0000.jpg")
    assert pool.dataset.samples[pool.indices[499]][0].endswith("airplane/0499.jpg")


def test_plain_datasets_split_on_the_first_indices():
    ds = torch.utils.data.TensorDataset(torch.arange(10))
    assert list(first_portion(ds, 0.5).indices) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="train_portion must be in"):
        first_portion(ds, 0)


def test_missing_data_names_where_it_looked_and_what_to_pass(tmp_path):
    with pytest.raises(DataNotFoundError) as e:
        data.search_dataset("cifar100", tmp_path)
    msg = str(e.value)
    assert "cifar-100-python" in msg and str(tmp_path / "train") in msg and "--data" in msg and "--download" in msg


def test_an_imagefolder_with_the_wrong_number_of_classes_is_refused(tmp_path):
    from PIL import Image
    for c in ("a", "b"):
        (tmp_path / "train" / c).mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / "train" / c / "0.png")
    with pytest.raises(DataNotFoundError, match="has 2 class folders, cifar10 needs 10"):
        data.cifar("cifar10", tmp_path, train=True)


def test_synthetic_cifar10_is_deterministic_labelled_by_the_pixels_and_roughly_balanced():
    a, b = synthetic_cifar10(n=2000, seed=0), synthetic_cifar10(n=2000, seed=0)
    assert torch.equal(a.tensors[0], b.tensors[0]) and torch.equal(a.tensors[1], b.tensors[1])
    assert a.tensors[0].shape == (2000, 3, 32, 32)
    counts = torch.bincount(a.tensors[1], minlength=10)
    assert counts.min() > 100  # every class present in quantity (2000 / 10 = 200 on average)
    other = synthetic_cifar10(n=2000, seed=1)
    assert not torch.equal(a.tensors[0], other.tensors[0])
    test = synthetic_cifar10(n=2000, seed=0, test=True)
    assert not torch.equal(test.tensors[0], a.tensors[0])


def test_batch_streams_repeat_exactly_for_a_seed_including_augmentation():
    pool = data.search_dataset("cifar10", shared_data("cifar10-jpg"))
    source = BatchSource(pool, 16)
    torch.manual_seed(123)
    first = [b for b in source.take(seed=5, count=2)]
    torch.rand(100)  # unrelated use of the global RNG must not change the batches
    second = [b for b in source.take(seed=5, count=2)]
    for (x1, y1), (x2, y2) in zip(first, second):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    other = next(source.stream(seed=6))
    assert not torch.equal(other[0], first[0][0])


def test_batch_streams_cycle_through_epochs():
    ds = torch.utils.data.TensorDataset(torch.arange(6).float().view(6, 1), torch.arange(6))
    seen = [y.tolist() for _, y in BatchSource(ds, 3).take(seed=0, count=4)]
    assert sorted(seen[0] + seen[1]) == list(range(6)) and sorted(seen[2] + seen[3]) == list(range(6))
    with pytest.raises(ValueError, match="larger than the dataset"):
        BatchSource(ds, 7)


def test_fixed_batches_are_identical_at_every_call_kept_or_reloaded():
    ds = torch.utils.data.TensorDataset(torch.randn(20, 3), torch.arange(20))
    source = BatchSource(ds, 4)
    expected = [y.tolist() for _, y in source.take(seed=3, count=3)]
    kept = source.fixed(seed=3, count=3)
    reloaded = source.fixed(seed=3, count=3, max_bytes=1)
    for get in (kept, reloaded):
        assert [y.tolist() for _, y in get()] == expected
        assert [y.tolist() for _, y in get()] == expected


def test_data_and_proxies_share_batch_without_importing_each_other():
    import subprocess
    import sys

    code = ("import sys, ptnas.data, ptnas.batch; assert 'ptnas.proxies' not in sys.modules; "
            "import ptnas.proxies; assert 'ptnas.supernet.training' not in sys.modules; "
            "assert ptnas.proxies.Batch is ptnas.data.batches.Batch is ptnas.batch.Batch")
    subprocess.run([sys.executable, "-c", code], check=True)
