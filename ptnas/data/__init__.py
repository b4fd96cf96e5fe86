"""Datasets by name and the search splits of the training set, as DARTS, DARTS-PT and ZC-PT use them.

`search_dataset(name, data_dir)` returns the training pool a zero-cost search draws its minibatches
from: the first `train_portion` of the training set with crop + flip (CIFAR) or the synthetic images;
`search_pool(name, data_dir)` is the same pool decoded once into memory, drawn and augmented on the device
(what search.py and the zero-cost evaluator use).
`search_splits(name, data_dir)` returns that pool and the rest of the training set: bilevel DARTS
trains the weights on the first and α on the second, which is also DARTS-PT's validation split.
"""
from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset, Subset

from ptnas.data.batches import BatchSource
from ptnas.data.cifar import cifar, cifar_transform
from ptnas.data.decoded import DecodedImages, decoded
from ptnas.data.errors import DataError, DataNotFoundError
from ptnas.data.imagenet import imagenet, imagenet_splits, imagenet_transform
from ptnas.data.synthetic import synthetic_cifar10
from ptnas.data import datasets
from ptnas.settings import Setting


def names() -> list[str]:
    """The datasets a search or evaluation runs on (`datasets.names()` also has those only final training uses)."""
    return datasets.searchable()


def _portion(value: float) -> str | None:
    return None if 0 < value <= 1 else f"must be in (0, 1], got {value}"


# The data settings of the jobs that score or train on the search splits (search, evaluate).
DATASET = Setting("dataset", str, "synthetic-cifar10", help=f"{', '.join(names())} (synthetic-cifar10 needs no files)")
DATA_DIR = Setting("data", str, "data",
                   help="dataset directory: torchvision layout or train/ and test/ class folders")
DOWNLOAD = Setting("download", bool, False, help="download CIFAR through torchvision if absent")
BATCH_SIZE = Setting("batch_size", int, 64, minimum=1,
                     help="minibatch of every scoring pass and training step (ZC-PT uses 256 on NB201)")
TRAIN_PORTION = Setting("train_portion", float, 0.5, check=_portion,
                        help="fraction of the training set searched on: training evaluators (and bilevel training's "
                             "weights) train on it and validate (α) on the rest")
WORKERS = Setting("workers", int, 0, minimum=0, help="data-loading worker processes")
SETTINGS = (DATASET, DATA_DIR, DOWNLOAD, BATCH_SIZE, TRAIN_PORTION, WORKERS)


def num_classes(name: str) -> int:
    return datasets.get_searchable(name).num_classes


def search_dataset(name: str, data_dir: str | Path = "data", train_portion: float = 0.5,
                   download: bool = False) -> Dataset:
    """The pool of training images a search scores on: the first `train_portion` of the train split."""
    return first_portion(_train_set(name, data_dir, download), train_portion)


def search_pool(name: str, data_dir: str | Path = "data", train_portion: float = 0.5,
                download: bool = False) -> DecodedImages:
    """`search_dataset`'s images decoded once (ptnas/data/decoded.py): a `BatchSource` over it draws and
    augments (crop + flip) on its device instead of decoding every batch in a DataLoader."""
    datasets.get_searchable(name)
    if not 0 < train_portion <= 1:
        raise ValueError(f"train_portion must be in (0, 1], got {train_portion}")
    return decoded(name, data_dir, download=download, portion=(0.0, train_portion))


def search_splits(name: str, data_dir: str | Path = "data", train_portion: float = 0.5,
                  download: bool = False) -> tuple[Subset, Subset]:
    """(train, valid) halves of the training set for bilevel search (Liu et al. 2019, DARTS §3.3).

    train: the first `train_portion` (the weights' data, the same pool `search_dataset` returns);
    valid: the rest (α's data, and the split DARTS-PT measures V on). Both use the training
    transforms (crop + flip), as DARTS and DARTS-PT draw both from one augmented training set.
    """
    if not 0 < train_portion < 1:
        raise ValueError(f"train_portion must be in (0, 1) for a train/valid split, got {train_portion}")
    full = _train_set(name, data_dir, download)
    train = first_portion(full, train_portion)
    return train, rest_of(full, train)


def _train_set(name: str, data_dir: str | Path, download: bool) -> Dataset:
    info = datasets.get_searchable(name)
    return info.load(data_dir, train=True, transform=info.transform(train=True), download=download)


def first_portion(dataset: Dataset, portion: float) -> Subset:
    """The first `portion` of a dataset, as DARTS splits CIFAR's training set.

    An ImageFolder is sorted by class, so there the first `portion` of every class is taken instead;
    torchvision's CIFAR order is already mixed, so there it is simply the first indices.
    """
    if not 0 < portion <= 1:
        raise ValueError(f"train_portion must be in (0, 1], got {portion}")
    from torchvision.datasets import ImageFolder

    if isinstance(dataset, ImageFolder):
        by_class: dict[int, list[int]] = {}
        for i, t in enumerate(dataset.targets):
            by_class.setdefault(t, []).append(i)
        return Subset(dataset, sorted(i for idx in by_class.values() for i in idx[: int(len(idx) * portion)]))
    return Subset(dataset, range(int(len(dataset) * portion)))


def rest_of(dataset: Dataset, part: Subset) -> Subset:
    """The items of `dataset` that `part` does not hold, in index order."""
    taken = set(part.indices)
    return Subset(dataset, [i for i in range(len(dataset)) if i not in taken])


__all__ = ["BatchSource", "DataError", "DataNotFoundError", "cifar", "datasets", "cifar_transform", "first_portion", "imagenet", "imagenet_splits",
           "imagenet_transform", "names", "num_classes", "rest_of", "search_dataset", "search_pool", "search_splits",
           "synthetic_cifar10"]
