"""CIFAR-10/100 from a directory: torchvision's own layout or an ImageFolder tree (train/, test/).
torchvision is imported when a split or transform is made, not with the module (programs start faster)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable

from PIL import Image
from torch.utils.data import Dataset

from ptnas.data.datasets import CIFAR_MEAN_STD as MEAN_STD
from ptnas.data.errors import DataError, DataNotFoundError

_TORCHVISION = {  # torchvision's dataset class, its folder, the classes
    "cifar10": ("CIFAR10", "cifar-10-batches-py", 10),
    "cifar100": ("CIFAR100", "cifar-100-python", 100),
}


def read_image(path: str) -> Image.Image:
    """ImageFolder's loader, with a file that is not a readable image reported as a DataError naming it.

    Corrupt or truncated files are only found when read, so this runs at every read (workers included)."""
    try:
        with open(path, "rb") as f:
            return Image.open(f).convert("RGB")
    except (OSError, ValueError, SyntaxError) as e:  # PIL: UnidentifiedImageError, truncated data, bad headers
        raise DataError(f"{path}: not a readable image ({type(e).__name__}: {e})".replace("\n", " ")) from None


def image_folder(folder: str | Path, transform: Callable | None = None):
    """`folder/<class>/<image>` as an ImageFolder that reads through `read_image`; DataError (one line)
    when there is no class folder or a class folder holds no image."""
    folder = Path(folder)
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import IMG_EXTENSIONS

    try:
        ds = ImageFolder(str(folder), transform=transform, loader=read_image, allow_empty=True)
    except FileNotFoundError:  # torchvision: no class folder at all
        raise DataError(f"{folder} has no class folders: expected {folder}/<class>/<image>") from None
    counts = Counter(ds.targets)
    empty = [c for i, c in enumerate(ds.classes) if counts[i] == 0]
    if empty:
        others = f" (nor do {len(empty) - 1} other class folders)" if len(empty) > 1 else ""
        raise DataError(f"{folder / empty[0]} holds no images{others}; image files end in "
                        f"{', '.join(IMG_EXTENSIONS)}")
    return ds


def cifar_transform(name: str, train: bool, cutout: int = 0) -> Callable:
    """Standard crop + flip (train) and normalisation; `cutout` > 0 adds timm-free Cutout via RandomErasing."""
    mean, std = MEAN_STD[name]
    from torchvision import transforms as T

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
        import torchvision

        return getattr(torchvision.datasets, cls)(str(root), train=train, transform=transform, download=download)
    split = root / ("train" if train else "test")
    if split.is_dir():
        ds = image_folder(split, transform)
        if len(ds.classes) != num_classes:
            raise DataNotFoundError(f"{split} has {len(ds.classes)} class folders, {name} needs {num_classes}")
        return ds
    raise DataNotFoundError(
        f"no {name} data in {root}: looked for {root / folder} (torchvision layout) and {split}/<class>/ "
        f"(ImageFolder layout); pass --data DIR pointing at one of them, or --download")
