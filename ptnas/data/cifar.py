"""CIFAR-10/100 from a directory: torchvision's own layout or an ImageFolder tree (train/, test/)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torchvision
from torch.utils.data import Dataset
from torchvision import transforms as T

MEAN_STD = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_TORCHVISION = {
    "cifar10": (torchvision.datasets.CIFAR10, "cifar-10-batches-py", 10),
    "cifar100": (torchvision.datasets.CIFAR100, "cifar-100-python", 100),
}


class DataNotFoundError(FileNotFoundError):
    """The dataset is not where the user pointed; the message says where we looked and what to pass."""


def cifar_transform(name: str, train: bool, cutout: int = 0) -> Callable:
    """Standard crop + flip (train) and normalisation; `cutout` > 0 adds timm-free Cutout via RandomErasing."""
    mean, std = MEAN_STD[name]
    steps = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if train else []
    steps += [T.ToTensor(), T.Normalize(mean, std)]
    if train and cutout > 0:
        area = cutout * cutout / (32 * 32)
        steps.append(T.RandomErasing(p=1.0, scale=(area, area), ratio=(1.0, 1.0), value=0))
    return T.Compose(steps)


def cifar(name: str, root: str | Path, train: bool, transform: Callable | None = None,
          download: bool = False) -> Dataset:
    """The CIFAR split from `root`: `cifar-10-batches-py/` (torchvision) or `train|test/<class>/` images."""
    if name not in _TORCHVISION:
        raise ValueError(f"unknown CIFAR dataset {name!r}; choose from: {', '.join(_TORCHVISION)}")
    cls, folder, num_classes = _TORCHVISION[name]
    root = Path(root)
    if (root / folder).is_dir() or download:
        return cls(str(root), train=train, transform=transform, download=download)
    split = root / ("train" if train else "test")
    if split.is_dir():
        ds = torchvision.datasets.ImageFolder(str(split), transform=transform)
        if len(ds.classes) != num_classes:
            raise DataNotFoundError(f"{split} has {len(ds.classes)} class folders, {name} needs {num_classes}")
        return ds
    raise DataNotFoundError(
        f"no {name} data in {root}: looked for {root / folder} (torchvision layout) and {split}/<class>/ "
        f"(ImageFolder layout); pass --data DIR pointing at one of them, or --download")
