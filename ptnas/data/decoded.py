"""Images decoded once and kept in memory, augmented on the device: the data of short trainings and of
zero-cost searches (`data.search_pool`).

A candidate trained for a few epochs (the shortreg and FEAR evaluators) would spend most of its time
decoding JPEGs through a DataLoader. `DecodedImages` reads a split once into one uint8 tensor
(N×3×H×W; the synthetic set is already float and normalised), moves it to the device, and draws
minibatches there: random crop with zero padding and horizontal flip (the CIFAR recipe, as
torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip), then normalisation. Shuffles and
augmentation come from a CPU generator seeded by (seed, epoch), so the batches of an epoch are the
same on every device and never depend on what ran before.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Subset


Batch = tuple[torch.Tensor, torch.Tensor]


class DecodedImages:
    """A whole split in memory: `images` (uint8 N×3×H×W, or float already normalised) and `labels`.

    mean/std: per-channel statistics applied after augmentation (uint8 images only).
    augment: random crop (padding `pad`) and horizontal flip on every training batch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean=None, std=None, augment: bool = True,
                 pad: int = 4, num_classes: int | None = None):
        if images.ndim != 4 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"expected N×C×H×W images and N labels, got {tuple(images.shape)} and {tuple(labels.shape)}")
        self.images, self.labels = images, labels.long()
        self.augment, self.pad = augment, pad
        self.num_classes = num_classes if num_classes is not None else int(labels.max()) + 1
        shape = (1, -1, 1, 1)
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).view(shape)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).view(shape)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def device(self) -> torch.device:
        return self.images.device

    def to(self, device: torch.device | str) -> "DecodedImages":
        out = DecodedImages.__new__(DecodedImages)
        out.__dict__.update(self.__dict__)
        out.images, out.labels = self.images.to(device), self.labels.to(device)
        out.mean = None if self.mean is None else self.mean.to(device)
        out.std = None if self.std is None else self.std.to(device)
        return out

    def nbytes(self) -> int:
        return self.images.numel() * self.images.element_size() + self.labels.numel() * 8

    # ---- batches ------------------------------------------------------------------------------
    def epoch(self, batch_size: int, seed: int, epoch: int, train: bool = True) -> Iterator[Batch]:
        """One shuffled pass in full batches (drop_last), augmented when `train` and `augment`."""
        if batch_size > len(self):
            raise ValueError(f"batch size {batch_size} is larger than the split ({len(self)} images)")
        g = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))
        order = torch.randperm(len(self), generator=g)
        for start in range(0, len(self) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            yield self._prepare(idx.to(self.device), g if (train and self.augment) else None)

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Every image once, in order, not augmented (evaluation); the last batch may be smaller."""
        for start in range(0, len(self), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(self)), device=self.device)
            yield self._prepare(idx, None)

    def _prepare(self, idx: torch.Tensor, g: torch.Generator | None) -> Batch:
        x = self.images.index_select(0, idx)
        if g is not None:
            x = _crop_and_flip(x, self.pad, g)
        if x.dtype == torch.uint8:
            x = x.float().div_(255)
            if self.mean is not None:
                x = (x - self.mean) / self.std
        return x, self.labels.index_select(0, idx)


def _crop_and_flip(x: torch.Tensor, pad: int, g: torch.Generator) -> torch.Tensor:
    """Per image: a random H×W window of the zero-padded image, then a horizontal flip with p = 1/2."""
    n, c, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=g).to(x.device)
    flips = (torch.rand(n, generator=g) < 0.5).to(x.device)
    if pad > 0:
        x = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = offsets[0][:, None] + torch.arange(h, device=x.device)  # n×h
    cols = offsets[1][:, None] + torch.arange(w, device=x.device)  # n×w
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return x[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def read_uint8(path: str, loader: Callable[[str], Any]) -> torch.Tensor:
    """One image file as uint8 3×H×W RGB. A JPEG is decoded by torchvision's decoder (libjpeg-turbo): the same
    pixels as PIL's on the JPEG CIFAR-10 files (tests/data/test_decoded.py), about 4× faster per file, since
    PIL parses the headers in Python. Anything else, or a JPEG that decoder refuses, goes through `loader`
    (ImageFolder's, PIL), which names a file it cannot read; so does everything once torchvision drops its
    decoders (deprecated in 0.29 for TorchCodec's)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:3] == b"\xff\xd8\xff":
        try:
            from torchvision.io import ImageReadMode, decode_jpeg

            return decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
        except (ImportError, RuntimeError):
            pass
    return torch.from_numpy(np.array(loader(path).convert("RGB"))).permute(2, 0, 1)


def _as_uint8(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of a dataset without a transform, as uint8 N×3×H×W, and its labels."""
    from torchvision.datasets import ImageFolder

    base, indices = dataset, None
    if isinstance(dataset, Subset):
        base, indices = dataset.dataset, list(dataset.indices)
    if hasattr(base, "data") and isinstance(base.data, np.ndarray):  # torchvision CIFAR: already decoded
        images = torch.from_numpy(base.data).permute(0, 3, 1, 2).contiguous()
        labels = torch.tensor(base.targets)
    elif isinstance(base, ImageFolder):
        pictures, labels_list = [], []
        for i in (indices if indices is not None else range(len(base))):
            path, target = base.samples[i]
            pictures.append(read_uint8(path, base.loader))
            labels_list.append(target)
        return torch.stack(pictures), torch.tensor(labels_list)
    else:
        raise TypeError(f"cannot decode a {type(base).__name__} into memory")
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return images, labels


def decoded(name: str, root, train: bool = True, download: bool = False, portion: tuple[float, float] | None = None,
            augment: bool = True) -> DecodedImages:
    """The training (or test) split of dataset `name`, decoded into memory.

    portion: `(start, end)` fractions of every class (ImageFolder) or of the index range (torchvision
    CIFAR), the same rule `data.first_portion` uses, so (0, 0.5) is a search's training half and (0.5, 1)
    its validation half.
    """
    from ptnas.data import datasets, first_portion, rest_of  # the search splits' own rule

    info = datasets.get_searchable(name)
    full = info.load(root, train=train, transform=None, download=download)
    if info.mean is None:  # already float and normalised (synthetic)
        x, y = full.tensors
        if portion is not None:
            x, y = _slice(x, y, portion)
        return DecodedImages(x, y, augment=False, num_classes=info.num_classes)
    subset: Dataset = full
    if portion is not None:
        start, end = portion
        head = first_portion(full, end) if end < 1 else None
        if start > 0:
            before = first_portion(full, start)
            subset = rest_of(full, before) if head is None else Subset(full, sorted(set(head.indices) - set(before.indices)))
        elif head is not None:
            subset = head
    images, labels = _as_uint8(subset)
    return DecodedImages(images, labels, info.mean, info.std, augment=augment, num_classes=info.num_classes)


def _slice(x: torch.Tensor, y: torch.Tensor, portion: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(y)
    return x[int(n * portion[0]):int(n * portion[1])], y[int(n * portion[0]):int(n * portion[1])]
