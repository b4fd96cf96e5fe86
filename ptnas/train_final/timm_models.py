"""Genotypes as timm models: after `register_genotype(name, space, genotype)`, `timm.create_model(name)` builds it.

Every space's published reference genotypes are registered on import as `ptnas_<reference name>`
(e.g. `timm.create_model("ptnas_nb201_best_cifar10", num_classes=10)`); a training run registers its
own genotype as `model_name(space, genotype)`; in another process `register_run(run_dir)` does it
again with the run's sizes, and `timm.create_model(name, checkpoint_path=".../last.pth.tar")` loads it.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Hashable

import yaml

from timm.models import register_model

from ptnas import spaces

_REGISTERED: dict[str, tuple[str, str, dict[str, Any]]] = {}  # name -> (space, genotype text, defaults)


def model_name(space: str, genotype: Hashable) -> str:
    """A stable timm name for a genotype: `ptnas_<space>_<first 10 hex digits of sha1(text)>`."""
    return f"ptnas_{space}_{hashlib.sha1(str(genotype).encode()).hexdigest()[:10]}"


def register_genotype(name: str, space: str, genotype: Hashable | str, **defaults: Any) -> str:
    """Register `genotype` of `space` under `name` with default network keywords; returns `name`.

    `timm.create_model(name, num_classes=..., **size)` then calls `spaces.get(space).network(genotype, ...)`.
    Registering the same name and genotype again only replaces the defaults; another genotype is refused.
    """
    space_obj = spaces.get(space)
    genotype = space_obj.parse(genotype) if isinstance(genotype, str) else genotype
    if name in _REGISTERED:
        if _REGISTERED[name][:2] != (space, str(genotype)):
            raise ValueError(f"timm model {name!r} is already registered for another genotype")
        _REGISTERED[name] = (space, str(genotype), dict(defaults))
        return name
    _REGISTERED[name] = (space, str(genotype), dict(defaults))

    def entrypoint(pretrained: bool = False, **kwargs: Any):
        for unused in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
            kwargs.pop(unused, None)
        if pretrained:
            raise ValueError(f"{name} has no pretrained weights; load a training checkpoint with "
                             "timm.create_model(name, checkpoint_path=...)")
        return space_obj.network(genotype, **{**_REGISTERED[name][2], **kwargs})

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__module__ = __name__
    entrypoint.__doc__ = f"{space} genotype {genotype}"
    register_model(entrypoint)
    return name


def register_run(run_dir: str | Path) -> str:
    """Register a training run's genotype with the run's class count and network keywords as defaults, so
    `timm.create_model(name, checkpoint_path=run_dir / "checkpoint/last.pth.tar")` rebuilds the trained model."""
    args = yaml.safe_load((Path(run_dir) / "args.yaml").read_text(encoding="utf-8"))
    return register_genotype(args["timm_model"], args["space"], args["genotype"],
                             num_classes=args["num_classes"], **args["model_kwargs"])


def register_references() -> list[str]:
    """Register every space's published genotypes as `ptnas_<name>` (lower case)."""
    names = []
    for space in spaces.names():
        for ref, genotype in spaces.get(space).references().items():
            names.append(register_genotype("ptnas_" + re.sub(r"[^a-z0-9_]", "_", ref.lower()), space, genotype))
    return names


REFERENCE_MODELS = register_references()
