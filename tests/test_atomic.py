"""One atomic writer for run files, checkpoints and PNGs: whole files only, created with the usual mode."""
from __future__ import annotations

import os
import stat

import pytest
import torch

from ptnas import atomic
from ptnas.rundir import RunDir
from ptnas.supernet import checkpoint


@pytest.fixture(params=[0o022, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_writer_creates_files_with_0666_minus_the_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    run = RunDir(tmp_path / "run")
    written = [run.write_text("genotype.txt", "g\n"), run.write_json("genotype.json", {"a": 1}),
               run.write_bytes("scatter.png", b"\x89PNG"), checkpoint.save(tmp_path / "ck" / "supernet.pt", {"x": 1}),
               atomic.write_bytes(tmp_path / "b.bin", b"123")]
    assert {p.name: oct(mode(p)) for p in written} == {p.name: oct(expected) for p in written}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "ck.pt"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic.open_atomic(target, "wb") as f:
            torch.save({"half": torch.zeros(3)}, f)
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


def test_replacing_a_file_gives_the_new_content(tmp_path):
    target = tmp_path / "t.txt"
    atomic.write_text(target, "one")
    atomic.write_text(target, "two")
    assert target.read_text() == "two"
    assert checkpoint.load(checkpoint.save(tmp_path / "s.pt", {"v": 3}))["v"] == 3
