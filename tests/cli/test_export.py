"""`ptnas-export`: tiny NB201 and DARTS networks as TorchScript and ONNX that reproduce PyTorch; trained
weights from a checkpoint; one-line errors with exit 2 and no half-written file."""
from __future__ import annotations

import importlib.util
import re

import pytest
import torch

from ptnas import spaces
from ptnas.cli import export

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NB201_TINY = ["--init-channels", "4", "--layers", "1"]
HAS_ONNX = all(importlib.util.find_spec(m) is not None for m in export.ONNX_PACKAGES)
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # torch 2.14 marks torch.jit deprecated
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="onnx, onnxscript and onnxruntime are not installed (.[export])")


def run(argv) -> int:
    try:
        return export.main([str(a) for a in argv])
    except SystemExit as e:
        return int(e.code or 0)


def _differences(out: str) -> list[float]:
    return [float(d) for d in re.findall(r"max abs difference (\S+) from PyTorch", out)]


def _onnx_logits(path, x):
    import onnxruntime
    return torch.from_numpy(onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                            .run(None, {"images": x.numpy()})[0])


@needs_onnx
@pytest.mark.parametrize("genotype,size", [
    (NB201, NB201_TINY),
    (str(spaces.get("darts").references()["darts_v2"]), ["--init-channels", "4", "--layers", "3", "--num-classes", "7"]),
])
def test_tiny_networks_export_to_torchscript_and_onnx_that_agree(tmp_path, capsys, genotype, size):
    pt, onnx = tmp_path / "net.pt", tmp_path / "net.onnx"
    assert run([genotype, *size, "--torchscript", pt, "--onnx", onnx]) == 0
    diffs = _differences(capsys.readouterr().out)
    assert len(diffs) == 2 and all(d <= 1e-4 for d in diffs)
    x = torch.randn(3, 3, 32, 32)  # another batch size than the check's: the ONNX batch dimension is dynamic
    with torch.no_grad():
        scripted = torch.jit.load(str(pt))(x)
    assert scripted.shape == (3, 7 if "7" in size else 10)
    assert torch.allclose(_onnx_logits(onnx, x), scripted, atol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx", "net.pt"]  # no temporary file left


def _checkpoint(tmp_path, ema: bool = False):
    """A training run dir as ptnas-train leaves it: checkpoint/last.pth.tar with config and weights."""
    net = spaces.get("nb201").network(NB201, num_classes=5, C=4, N=1).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1)  # not an initialisation the export could reproduce by chance
    ckpt = {"config": {"space": "nb201", "genotype": NB201, "model_kwargs": {"C": 4, "N": 1}},
            "state_dict": net.state_dict(), "arch": "ptnas_nb201_x"}
    if ema:
        ckpt["state_dict_ema"] = net.state_dict()
    (tmp_path / "run" / "checkpoint").mkdir(parents=True)
    torch.save(ckpt, tmp_path / "run" / "checkpoint" / "last.pth.tar")
    return net


def test_a_checkpoint_gives_its_genotype_sizes_and_weights(tmp_path):
    net = _checkpoint(tmp_path)
    pt = tmp_path / "trained.pt"
    assert run(["--checkpoint", tmp_path / "run", "--torchscript", pt]) == 0
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(torch.jit.load(str(pt))(x), net(x))  # 5 classes, C=4, N=1 and the trained weights
    assert run([NB201, "--checkpoint", tmp_path / "run", "--torchscript", pt]) == 0  # the same genotype: fine


def test_a_failed_check_exits_1_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.jit, "load", lambda path: (lambda x: torch.zeros(x.shape[0], 10)))
    assert run([NB201, *NB201_TINY, "--torchscript", tmp_path / "net.pt"]) == 1
    assert "differs from PyTorch" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_onnx_without_its_packages_says_what_to_install(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert run([NB201, "--onnx", tmp_path / "net.onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "onnxruntime" in err and "pip install 'ptnas[export]'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv,message", [
    ([NB201], "nothing to write"),
    (["", "--torchscript", "{tmp}/x.pt"], "GENOTYPE is empty"),
    (["--torchscript", "{tmp}/x.pt"], "give a GENOTYPE, a --checkpoint"),
    (["not-a-genotype", "--torchscript", "{tmp}/x.pt"], "not a genotype of any registered space"),
    ([NB201, "--torchscript", "{tmp}/x.pt", "--space", "cells"], "unknown space 'cells'"),
    ([NB201, "--torchscript", "{tmp}/folder"], "is a directory"),
    ([NB201, "--torchscript", "{tmp}/file.txt/x.pt"], "is not a directory"),
    ([NB201, "--torchscript", "{tmp}/x.pt", "--onnx", "{tmp}/x.pt"], "name the same file"),
    ([NB201, "--torchscript", "{tmp}/x.pt", "--init-channels", "0"], "must be a positive integer"),
    ([NB201, "--torchscript", "{tmp}/x.pt", "--num-classes", "0"], "--num-classes must be a positive integer"),
    ([NB201, "--torchscript", "{tmp}/x.pt", "--ema"], "--ema needs --checkpoint"),
    (["--checkpoint", "{tmp}/nowhere", "--torchscript", "{tmp}/x.pt"], "no checkpoint there"),
    (["--checkpoint", "{tmp}/file.txt", "--torchscript", "{tmp}/x.pt"], "cannot read it as a checkpoint"),
    (["--checkpoint", "{tmp}/run", "--torchscript", "{tmp}/x.pt", "--layers", "2"], "do not apply with --checkpoint"),
    (["--checkpoint", "{tmp}/run", "--torchscript", "{tmp}/x.pt", "--ema"], "has no EMA weights"),
    (["--checkpoint", "{tmp}/run", "--torchscript", "{tmp}/x.pt", "--num-classes", "10"], "do not fit the network"),
    (["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--checkpoint", "{tmp}/run", "--torchscript", "{tmp}/x.pt"],
     "holds the nb201 genotype"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    _checkpoint(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    before = sorted(tmp_path.rglob("*"))
    assert run([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ptnas-export: error:") and message in err, err
    assert sorted(tmp_path.rglob("*")) == before
