"""ImageNet (or any image classification tree) from an ImageFolder layout: `root/train/<class>/*`, `root/val/<class>/*`.

Transforms follow the DARTS ImageNet recipe (Liu et al. 2019, after Inception training):
RandomResizedCrop + horizontal flip + optional ColorJitter for training, resize to size/0.875 and a
centre crop for evaluation, normalised with the ImageNet channel statistics.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ptnas.data.cifar import DataNotFoundError, image_folder
from ptnas.data.datasets import IMAGENET_MEAN_STD as MEAN_STD

if TYPE_CHECKING:
    from torchvision.datasets import ImageFolder

EVAL_CROP_FRACTION = 0.875  # 224 out of 256


def imagenet_transform(train: bool, img_size: int = 224, color_jitter: Sequence[float] | None = None) -> Callable:
    """Training: RandomResizedCrop(img_size), flip, ColorJitter(b, c, s, h) when given; eval: resize + centre crop."""
    from torchvision import transforms as T  # torchvision loads when a transform is made

    mean, std = MEAN_STD
    if train:
        steps: list = [T.RandomResizedCrop(img_size), T.RandomHorizontalFlip()]
        if color_jitter is not None and any(v > 0 for v in color_jitter):
            steps.append(T.ColorJitter(*color_jitter))
    else:
        steps = [T.Resize(int(round(img_size / EVAL_CROP_FRACTION))), T.CenterCrop(img_size)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(mean, std)])


def check_layout(root: str | Path, splits: tuple[str, ...] = ("train", "val")) -> None:
    """DataNotFoundError (one line) unless every split is a folder of class folders."""
    root = Path(root)
    layout = f"expected {root}/train/<class>/<image> and {root}/val/<class>/<image> (ImageFolder layout)"
    for split in splits:
        folder = root / split
        if not folder.is_dir():
            raise DataNotFoundError(f"no {split}/ folder in {root}: {layout}")
        if not any(p.is_dir() for p in folder.iterdir()):
            raise DataNotFoundError(f"{folder} has no class folders: {layout}; ImageNet's validation images must be "
                                    "sorted into one folder per class first")


def imagenet(root: str | Path, split: str, transform: Callable | None = None) -> ImageFolder:
    """The `split` ("train" or "val") folder of an ImageFolder tree; DataNotFoundError (one line) when the layout is wrong."""
    check_layout(root, (split,))
    return image_folder(Path(root) / split, transform)  # corrupt images and empty class folders: DataError


def imagenet_splits(root: str | Path, train_transform: Callable | None = None,
                    eval_transform: Callable | None = None) -> tuple[ImageFolder, ImageFolder]:
    """`(train, val)` ImageFolders whose class folders must agree, so label i means the same class in both."""
    check_layout(root)
    train = imagenet(root, "train", train_transform)
    val = imagenet(root, "val", eval_transform)
    if train.classes != val.classes:
        missing = sorted(set(train.classes) ^ set(val.classes))
        raise DataNotFoundError(f"{root}/train and {root}/val have different class folders "
                                f"({len(train.classes)} vs {len(val.classes)}; e.g. {', '.join(missing[:3])})")
    return train, val
