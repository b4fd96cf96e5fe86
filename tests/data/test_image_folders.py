"""Image folders with bad content: a corrupt or truncated image, an empty split, a class folder without
images are each a DataError (a DataNotFoundError) with one line naming the file or folder."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import DataLoader

from ptnas import data
from ptnas.cli import search
from ptnas.data import DataError, DataNotFoundError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def image_bytes(fmt: str, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (32, 32, 3)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def write_split(folder: Path, per_class: int = 2) -> Path:
    """folder/<class>/<i>.png|jpg: real PNG and JPEG files."""
    for c, name in enumerate(CLASSES):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            fmt, ext = (("PNG", "png"), ("JPEG", "jpg"))[i % 2]
            (folder / name / f"{i:04d}.{ext}").write_bytes(image_bytes(fmt, 10 * c + i))
    return folder


@pytest.fixture(params=["garbage", "truncated"])
def corrupt_root(tmp_path, request) -> tuple[Path, Path]:
    """A CIFAR-10 ImageFolder tree whose first airplane image is a bad .jpg (it sorts first, so the search pool holds it)."""
    write_split(tmp_path / "train")
    write_split(tmp_path / "test")
    bad = tmp_path / "train" / "airplane" / "0000-bad.jpg"
    jpeg = image_bytes("JPEG", 99)
    bad.write_bytes(b"this is not a JPEG at all" * 10 if request.param == "garbage" else jpeg[: len(jpeg) // 2])
    return tmp_path, bad


def one_line(e: pytest.ExceptionInfo) -> str:
    message = str(e.value)
    assert "\n" not in message
    return message


def test_a_corrupt_image_is_a_data_error_naming_the_file(corrupt_root):
    root, bad = corrupt_root
    ds = data.cifar("cifar10", root, train=True, transform=data.cifar_transform("cifar10", train=True))
    index = [p for p, _ in ds.samples].index(str(bad))
    ds[index + 1]  # the good images still read
    with pytest.raises(DataError) as e:
        ds[index]
    assert one_line(e).startswith(f"{bad}: not a readable image")
    assert isinstance(e.value, DataNotFoundError)


def test_the_path_survives_a_dataloader_worker(corrupt_root):
    root, bad = corrupt_root
    ds = data.cifar("cifar10", root, train=True, transform=data.cifar_transform("cifar10", train=False))
    loader = DataLoader(ds, batch_size=len(ds), num_workers=1)
    with pytest.raises(DataError) as e:
        next(iter(loader))
    assert one_line(e).startswith(f"{bad}: not a readable image")


def test_an_empty_split_and_an_empty_class_folder_are_named(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError) as e:
        data.cifar("cifar10", tmp_path, train=True)
    assert one_line(e).startswith(f"{tmp_path / 'train'} has no class folders")
    write_split(tmp_path / "test")
    for f in (tmp_path / "test" / "bird").iterdir():
        f.unlink()
    (tmp_path / "test" / "bird" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError) as e:
        data.cifar("cifar10", tmp_path, train=False)
    assert one_line(e).startswith(f"{tmp_path / 'test' / 'bird'} holds no images")


def test_imagenet_folders_get_the_same_checks(tmp_path):
    write_split(tmp_path / "train", per_class=1)
    write_split(tmp_path / "val", per_class=1)
    bad = tmp_path / "val" / "cat" / "0000.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    train, val = data.imagenet_splits(tmp_path)
    with pytest.raises(DataError) as e:
        val[[p for p, _ in val.samples].index(str(bad))]
    assert one_line(e).startswith(f"{bad}: not a readable image")
    for f in (tmp_path / "train" / "dog").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=f"^{tmp_path / 'train' / 'dog'} holds no images"):
        data.imagenet(tmp_path, "train")


def test_search_on_a_folder_with_a_corrupt_jpeg_exits_2_naming_it(corrupt_root, tmp_path, capsys):
    root, bad = corrupt_root
    with pytest.raises(SystemExit) as e:
        search.main(["--space", "nb201", "--init-channels", "4", "--layers", "1", "--proposals", "1",
                     "--valid-batches", "1", "--batch-size", "8", "--order", "fixed", "--dataset", "cifar10",
                     "--data", str(root), "--out", str(tmp_path / "run"), "--device", "cpu"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"search.py: error: {bad}: not a readable image"), err  # after the progress bar
    assert sum("error" in line for line in err) == 1 and "Traceback" not in "\n".join(err)
