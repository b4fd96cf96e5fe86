"""The datasets by name: what each one is (classes, image size, normalisation), how its splits load and
transform, and whether a search can score on it. Everything else (the search splits, the decoded pool,
final training's splits) asks here, so a new dataset is one entry.

    info = data.datasets.get("cifar100")
    info.num_classes, info.image_size, info.mean, info.std
    ds = info.load("data", train=True, transform=info.transform(train=True))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ptnas.registry import Registry

CIFAR_MEAN_STD = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset. `num_classes` None: its class folders say (an ImageNet-style tree). `image_size`: the side
    of the square images a network sees (ImageNet: the default crop, `--img-size` changes it). `mean`/`std`
    None: the images are already normalised (synthetic). `searchable`: a search or evaluation can score and
    train on its training split (32×32 images that `data.decoded` holds in memory).
    `load(root, train, transform, download)` is the training or test split; `transform(train, image_size,
    cutout, color_jitter)` the standard augmentation (training) or preprocessing (test) of final training."""

    name: str
    num_classes: int | None
    image_size: int
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    searchable: bool
    load: Callable[..., Any]
    transform: Callable[..., Callable | None]
    needs_files: bool = True


def _cifar(name: str) -> DatasetInfo:
    def load(root: str | Path, train: bool, transform: Callable | None = None, download: bool = False):
        from ptnas.data.cifar import cifar
        return cifar(name, root, train=train, transform=transform, download=download)

    def transform(train: bool, image_size: int = 32, cutout: int = 0, color_jitter: Sequence[float] | None = None):
        from ptnas.data.cifar import cifar_transform
        return cifar_transform(name, train=train, cutout=cutout)

    mean, std = CIFAR_MEAN_STD[name]
    return DatasetInfo(name, {"cifar10": 10, "cifar100": 100}[name], 32, mean, std, True, load, transform)


def _imagenet() -> DatasetInfo:
    def load(root: str | Path, train: bool, transform: Callable | None = None, download: bool = False):
        from ptnas.data.imagenet import check_layout, imagenet
        check_layout(root)  # both splits, before a long scan of one
        return imagenet(root, "train" if train else "val", transform)

    def transform(train: bool, image_size: int = 224, cutout: int = 0, color_jitter: Sequence[float] | None = None):
        from ptnas.data.imagenet import imagenet_transform
        return imagenet_transform(train, image_size, color_jitter)

    mean, std = IMAGENET_MEAN_STD
    return DatasetInfo("imagenet", None, 224, mean, std, False, load, transform)


def _synthetic() -> DatasetInfo:
    def load(root: str | Path, train: bool, transform: Callable | None = None, download: bool = False, n: int = 10000):
        from ptnas.data.synthetic import synthetic_cifar10
        return synthetic_cifar10(n, seed=0, test=not train)

    def transform(train: bool, image_size: int = 32, cutout: int = 0, color_jitter: Sequence[float] | None = None):
        return None

    return DatasetInfo("synthetic-cifar10", 10, 32, None, None, True, load, transform, needs_files=False)


_DATASETS: Registry[DatasetInfo] = Registry("dataset")
for _info in (_cifar("cifar10"), _cifar("cifar100"), _synthetic(), _imagenet()):
    _DATASETS.register(_info.name, _info)

get = _DATASETS.get
register = _DATASETS.register
names = _DATASETS.names


def searchable() -> list[str]:
    """The datasets a search or evaluation can run on."""
    return [n for n in names() if get(n).searchable]


def get_searchable(name: str) -> DatasetInfo:
    """`get(name)` for a dataset a search can run on; UnknownNameError naming those otherwise."""
    if name not in searchable():
        from ptnas.registry import UnknownNameError
        raise UnknownNameError(f"unknown dataset {name!r}; choose from: {', '.join(searchable())}")
    return get(name)
