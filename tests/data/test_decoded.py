"""Images decoded once into memory: the same pixels, labels and splits as the torchvision path, and the
CIFAR augmentation (pad 4, random crop, flip) done on tensors."""
from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from ptnas.data import cifar, cifar_transform, first_portion
from ptnas.data.decoded import DecodedImages, _crop_and_flip, decoded


def image_folder(root, per_class=6, classes=10):
    g = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in range(classes):
            folder = root / split / f"class{c:02d}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(g.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def test_crop_and_flip_equal_torchvision_pad_crop_and_hflip_with_the_same_draws():
    x = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (16, 3, 32, 32), dtype=np.uint8))
    out = _crop_and_flip(x, 4, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)  # the same draws, in the same order
    offsets, flips = torch.randint(0, 9, (2, 16), generator=g), torch.rand(16, generator=g) < 0.5
    for i in range(16):
        expected = TF.crop(TF.pad(x[i], [4]), int(offsets[0, i]), int(offsets[1, i]), 32, 32)
        if flips[i]:
            expected = TF.hflip(expected)
        assert torch.equal(out[i], expected)
    assert 0 < int(flips.sum()) < 16  # both branches were checked


def test_an_image_folder_decodes_to_the_pixels_labels_and_normalisation_of_the_torchvision_path(tmp_path):
    root = image_folder(tmp_path)
    full = cifar("cifar10", root, train=True)
    images = decoded("cifar10", root, train=True, augment=False)
    assert images.images.dtype == torch.uint8 and len(images) == len(full) == 60
    assert images.labels.tolist() == full.targets
    reference = cifar_transform("cifar10", train=False)
    x, y = next(images.batches(60))
    for i in (0, 17, 59):
        picture = Image.open(full.samples[i][0]).convert("RGB")
        assert torch.allclose(x[i], reference(picture), atol=1e-6)
        assert int(y[i]) == full.targets[i]


def test_the_two_portions_are_the_search_splits(tmp_path):
    root = image_folder(tmp_path)
    full = cifar("cifar10", root, train=True)
    head = decoded("cifar10", root, portion=(0.0, 0.5))
    rest = decoded("cifar10", root, portion=(0.5, 1.0))
    first = first_portion(full, 0.5)
    assert head.labels.tolist() == [full.targets[i] for i in first.indices]
    assert len(head) + len(rest) == len(full) == 60
    assert sorted(head.labels.tolist() + rest.labels.tolist()) == sorted(full.targets)
    assert np.bincount(head.labels.numpy()).tolist() == [3] * 10  # the first half of every class


def test_an_epoch_is_a_shuffled_pass_in_full_batches_fixed_by_seed_and_epoch():
    x = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1).expand(10, 3, 4, 4).contiguous()
    data = DecodedImages(x, torch.arange(10), augment=False)
    seen = [int(v) for xb, yb in data.epoch(3, seed=0, epoch=0) for v in yb]
    assert len(seen) == 9 and len(set(seen)) == 9  # 3 full batches, the last image dropped, no repeats
    assert seen == [int(v) for _, yb in data.epoch(3, seed=0, epoch=0) for v in yb]
    assert seen != [int(v) for _, yb in data.epoch(3, seed=0, epoch=1) for v in yb]
    for xb, yb in data.epoch(3, seed=0, epoch=0):
        assert torch.equal(xb[:, 0, 0, 0], yb.float())  # images travel with their labels


def test_a_batch_source_over_the_decoded_search_pool_draws_its_epochs_reproducibly(tmp_path):
    """search.py's pool: the search half decoded once; a stream walks its epochs (seed, 0), (seed, 1), ...,
    the same for a seed whatever else used the global RNG, and batches the pool's own pixels, augmented."""
    from ptnas.data import BatchSource, search_pool

    root = image_folder(tmp_path)
    pool = search_pool("cifar10", root, 0.5)
    assert len(pool) == 30 and pool.augment and pool.labels.tolist() == decoded("cifar10", root, portion=(0, 0.5)).labels.tolist()
    source = BatchSource(pool, 8)
    torch.manual_seed(1)
    first = list(source.take(seed=4, count=5))  # 3 full batches per epoch: epochs 0 and 1
    torch.rand(50)
    again = list(source.take(seed=4, count=5))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again))
    want = [b for epoch in (0, 1) for b in pool.epoch(8, seed=4, epoch=epoch)][:5]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, want))
    assert not torch.equal(next(source.stream(seed=5))[0], first[0][0])
    x = first[0][0]
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32 and abs(float(x.mean())) < 0.5  # normalised


def test_jpeg_files_decode_to_pil_s_pixels():
    """read_uint8 decodes JPEGs with torchvision's decoder: the same pixels as ImageFolder's PIL loader, on
    real CIFAR-10 JPEGs (and on a PNG, which goes through PIL)."""
    from pathlib import Path

    import pytest

    from ptnas.data.cifar import read_image
    from ptnas.data.decoded import read_uint8

    folder = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-jpg" / "train"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (../shared/data holds the JPEG CIFAR-10 subset)")
    files = sorted(folder.glob("*/*.jpg"))[::25]  # 400 files over the 10 classes
    assert len(files) == 400
    for f in files:
        assert torch.equal(read_uint8(str(f), read_image),
                           torch.from_numpy(np.array(read_image(str(f)))).permute(2, 0, 1)), f
