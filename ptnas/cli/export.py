"""`ptnas-export` / `python -m ptnas.cli.export`: a genotype's network as TorchScript and/or ONNX, each
checked by running it against PyTorch on the same input.

    python -m ptnas.cli.export runs/x --torchscript net.pt --onnx net.onnx          # a search run dir
    python -m ptnas.cli.export "|nor_conv_3x3~0|+|...|" --onnx net.onnx --init-channels 4 --layers 1
    python -m ptnas.cli.export --checkpoint runs/train/exp --onnx net.onnx          # trained weights

Without --checkpoint the network is freshly initialised at the space's standalone size (or --init-channels /
--layers); with one, it has the checkpoint's genotype, network keywords and weights. A file is written only
once its check passed (a temporary file, renamed), so a failed run leaves no output behind.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import io
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ptnas import spaces
from ptnas.cli.processes import fail
from ptnas.registry import UnknownNameError
from ptnas.runtime.config import OneLineParser, UsageError
from ptnas.train_final import checkpoint, genotype_source

PROG = "ptnas-export"
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
ONNX_INSTALL = "pip install 'ptnas[export]' (onnx, onnxscript, onnxruntime)"
BATCH = 2  # rows of the check input; the ONNX batch dimension is dynamic


class ExportError(RuntimeError):
    """An export failed or did not reproduce PyTorch's output; one line."""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Export a genotype's network as TorchScript and/or ONNX, checked "
                                             "against PyTorch on the same input.")
    p.add_argument("genotype", metavar="GENOTYPE", nargs="?", default=None,
                   help="genotype text, a genotype.json / genotype.txt file, or a search run dir (default with "
                        "--checkpoint: the checkpoint's genotype)")
    p.add_argument("--checkpoint", default=None,
                   help="ptnas-train weights: a checkpoint file, a training run dir or its checkpoint/ dir (then "
                        f"{checkpoint.LAST})")
    p.add_argument("--ema", action="store_true", help="export the checkpoint's EMA weights (trained with --model-ema)")
    p.add_argument("--torchscript", metavar="FILE", default=None, help="write TorchScript (torch.jit.trace) here")
    p.add_argument("--onnx", metavar="FILE", default=None, help=f"write ONNX (torch.onnx.export) here; needs {ONNX_INSTALL}")
    p.add_argument("--space", default=None, help=f"{', '.join(spaces.names())} (default: from the genotype)")
    p.add_argument("--num-classes", type=int, default=None,
                   help="classifier outputs (default: the checkpoint's, else the space's cost_input: 10, mobilenet 1000)")
    p.add_argument("--input-size", type=int, default=None,
                   help="side of the square input the export is traced and checked on (default: the network's "
                        "input_size keyword, else 32, mobilenet 224)")
    p.add_argument("--init-channels", type=int, default=None, help="the space's width (without --checkpoint)")
    p.add_argument("--layers", type=int, default=None, help="the space's depth (without --checkpoint)")
    p.add_argument("--atol", type=float, default=1e-4,
                   help="largest absolute difference from PyTorch's output that passes the check (default 1e-4)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        targets = check(args)
        model, x, space, genotype = build(args)
    except (UsageError, UnknownNameError, genotype_source.GenotypeError, NotImplementedError) as e:
        fail(PROG, str(e))
    print(f"{space} genotype {genotype}")
    for kind, path in targets:
        try:
            diff = EXPORTERS[kind](model, x, path, args.atol)
        except ExportError as e:
            fail(PROG, f"--{kind} {path}: {e}", code=1)
        except OSError as e:
            fail(PROG, f"--{kind} {path}: cannot write ({e.strerror or e})")
        print(f"{kind}: {path} (max abs difference {diff:.3g} from PyTorch on {BATCH}×{'×'.join(map(str, x.shape[1:]))}, "
              f"tolerance {args.atol:g})")
    return 0


def check(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """Everything that needs no work: the outputs, the packages, the flags that conflict."""
    if args.genotype is not None and not args.genotype.strip():
        raise UsageError("GENOTYPE is empty; give a genotype text, a genotype.json / genotype.txt file or a run dir")
    if args.genotype is None and args.checkpoint is None:
        raise UsageError("give a GENOTYPE, a --checkpoint, or both")
    targets = [(kind, Path(p)) for kind, p in (("torchscript", args.torchscript), ("onnx", args.onnx)) if p is not None]
    if not targets:
        raise UsageError("nothing to write: give --torchscript FILE and/or --onnx FILE")
    if len({p.resolve() for _, p in targets}) < len(targets):
        raise UsageError("--torchscript and --onnx name the same file")
    for kind, path in targets:
        if path.is_dir():
            raise UsageError(f"--{kind} {path}: is a directory")
        if path.parent.exists() and not path.parent.is_dir():
            raise UsageError(f"--{kind} {path}: {path.parent} is not a directory")
    missing = [m for m in ONNX_PACKAGES if importlib.util.find_spec(m) is None]
    if args.onnx is not None and missing:
        raise UsageError(f"--onnx needs {', '.join(missing)}, which are not installed: {ONNX_INSTALL}")
    if args.checkpoint is not None and (args.init_channels is not None or args.layers is not None):
        raise UsageError("--init-channels / --layers do not apply with --checkpoint (its network keywords are used)")
    if args.ema and args.checkpoint is None:
        raise UsageError("--ema needs --checkpoint")
    for flag in ("num_classes", "input_size"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be a positive integer, got {getattr(args, flag)}")
    if args.atol < 0:
        raise UsageError(f"--atol must be >= 0, got {args.atol}")
    return targets


def build(args: argparse.Namespace) -> tuple[nn.Module, torch.Tensor, str, Any]:
    """The eval-mode network (with the checkpoint's weights) and the check input."""
    ckpt = read_checkpoint(args.checkpoint) if args.checkpoint is not None else None
    config = ckpt["config"] if ckpt is not None else {}
    if args.space is not None:
        spaces.get(args.space)
    if args.genotype is not None:
        name, genotype = genotype_source.load(args.genotype, args.space or config.get("space"))
        if ckpt is not None and (name != config.get("space") or str(genotype) != str(
                spaces.get(name).parse(str(config.get("genotype"))))):
            raise UsageError(f"--checkpoint {args.checkpoint} holds the {config.get('space')} genotype "
                             f"{config.get('genotype')}, not {genotype}")
    else:
        name, genotype = genotype_source.load(str(config.get("genotype", "")), args.space or config.get("space"))
    space = spaces.get(name)
    if ckpt is not None:
        kwargs = dict(config.get("model_kwargs") or {})
        if args.ema and "state_dict_ema" not in ckpt:
            raise UsageError(f"--ema: {args.checkpoint} has no EMA weights (it was trained without --model-ema)")
        state = ckpt["state_dict_ema" if args.ema else "state_dict"]
        num_classes = args.num_classes or classifier_outputs(state)
    else:
        try:
            kwargs = space.size_kwargs(args.init_channels, args.layers)
        except ValueError as e:
            raise UsageError(str(e)) from None
        num_classes = args.num_classes or space.cost_input["num_classes"]
        state = None
    input_size = args.input_size or kwargs.get("input_size") or space.cost_input["input_size"]
    if "input_size" in inspect.signature(space.network).parameters:
        kwargs.setdefault("input_size", input_size)
    try:
        model = space.network(genotype, num_classes, **kwargs)
    except (TypeError, ValueError) as e:
        raise UsageError(f"the {name} network cannot be built with {kwargs}: {e}") from None
    if state is not None:
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise UsageError(f"--checkpoint {args.checkpoint}: its weights do not fit the network "
                             f"({str(e).splitlines()[0]}); pass the --num-classes it was trained with") from None
    generator = torch.Generator().manual_seed(0)
    return model.eval(), torch.randn(BATCH, 3, input_size, input_size, generator=generator), name, genotype


def read_checkpoint(source: str) -> dict[str, Any]:
    path = Path(source)
    for candidate in (path, path / checkpoint.LAST, path / "checkpoint" / checkpoint.LAST):
        if candidate.is_file():
            break
    else:
        raise UsageError(f"--checkpoint {path}: no checkpoint there (looked for {path}, {path / checkpoint.LAST} and "
                         f"{path / 'checkpoint' / checkpoint.LAST})")
    try:
        ckpt = torch.load(candidate, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a checkpoint, or unsafe pickle
        raise UsageError(f"--checkpoint {candidate}: cannot read it as a checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("config"), dict) or "state_dict" not in ckpt:
        raise UsageError(f"--checkpoint {candidate}: not a ptnas-train checkpoint (no config/state_dict)")
    return ckpt


def classifier_outputs(state: dict[str, torch.Tensor]) -> int:
    """Outputs of the last linear layer: the last 2-D weight of the state dict (every space registers its
    classifier last)."""
    weights = [v for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    if not weights:
        raise UsageError("the checkpoint has no linear classifier weight; pass --num-classes")
    return int(weights[-1].shape[0])


# ---- exporters: write to a temporary file next to `path`, check, rename -------------------------------
@contextlib.contextmanager
def _staged(path: Path):
    """A temporary path next to `path`; renamed to `path` when the block succeeds, removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _compare(expected: torch.Tensor, got: Any, atol: float) -> float:
    got = torch.as_tensor(got)
    if got.shape != expected.shape:
        raise ExportError(f"the export gives shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}")
    diff = float((got.float() - expected).abs().max())
    if not diff <= atol:
        raise ExportError(f"the export differs from PyTorch by up to {diff:.3g}, more than --atol {atol:g}")
    return diff


@torch.no_grad()
def export_torchscript(model: nn.Module, x: torch.Tensor, path: Path, atol: float) -> float:
    """torch.jit.trace of the eval-mode network, saved, loaded back and run on `x`; the max abs difference."""
    expected = model(x)
    with _staged(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 marks torch.jit deprecated; it still works
        try:
            torch.jit.save(torch.jit.trace(model, x), str(tmp))
        except RuntimeError as e:
            raise ExportError(f"torch.jit.trace failed ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        diff = _compare(expected, torch.jit.load(str(tmp))(x), atol)
    return diff


@torch.no_grad()
def export_onnx(model: nn.Module, x: torch.Tensor, path: Path, atol: float) -> float:
    """torch.onnx.export (the dynamo exporter, batch dimension dynamic) into one file, then run by
    onnxruntime on `x`; the max abs difference."""
    import onnxruntime

    expected = model(x)
    with _staged(path) as tmp:
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(model, (x,), dynamo=True, input_names=["images"], output_names=["logits"],
                                            dynamic_shapes=({0: torch.export.Dim("batch")},))
                program.save(str(tmp), external_data=False)
        except Exception as e:  # the exporter raises many types; report the first line
            raise ExportError(f"torch.onnx.export failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
                              ) from None
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        diff = _compare(expected, session.run(None, {"images": x.numpy()})[0], atol)
    return diff


EXPORTERS: dict[str, Callable[[nn.Module, torch.Tensor, Path, float], float]] = {
    "torchscript": export_torchscript, "onnx": export_onnx}


if __name__ == "__main__":
    sys.exit(main())
