"""The bilevel train/valid split: weights on the first part of the training set, α on the rest."""
import pytest
from PIL import Image

from ptnas import data


@pytest.fixture
def image_folder(tmp_path):
    """A CIFAR-10-shaped ImageFolder: 10 class folders of 4 real PNG files each (train/ and test/)."""
    for split in ("train", "test"):
        for c in range(10):
            folder = tmp_path / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(4):
                Image.new("RGB", (32, 32), (25 * c, 60 * i, 0)).save(folder / f"{i}.png")
    return tmp_path


def test_image_folder_splits_every_class_in_half(image_folder):
    train, valid = data.search_splits("cifar10", image_folder, 0.5)
    assert len(train) == len(valid) == 20
    assert set(train.indices).isdisjoint(valid.indices)
    assert sorted([*train.indices, *valid.indices]) == list(range(40))
    targets = train.dataset.targets
    for part in (train, valid):
        assert sorted(targets[i] for i in part.indices) == sorted(list(range(10)) * 2)
    # the weights' half is the pool zero-cost search scores on
    assert data.search_dataset("cifar10", image_folder, 0.5).indices == train.indices
    x, y = valid[0]
    assert tuple(x.shape) == (3, 32, 32)


def test_split_portion_must_leave_data_for_alpha(image_folder):
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        data.search_splits("cifar10", image_folder, 1.0)


def test_rest_of_is_the_complement_in_order():
    base = list(range(10))
    part = data.first_portion(base, 0.3)
    assert data.rest_of(base, part).indices == list(range(3, 10))
