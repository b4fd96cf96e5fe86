"""Training recipes: YAML files of flag defaults shipped in the package (ptnas/train_final/recipe_files/,
package data, so a non-editable install has them too), one per space and dataset family.

A recipe's keys are train_final flag names (`batch_size` or `batch-size`); its `space` says which
search space it is for and its `dataset` the default dataset. `--recipe auto` picks the recipe whose
space is the genotype's and whose dataset family (ImageNet or the 32×32 sets) matches `--dataset`.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ptnas.runtime.config import load_yaml
from ptnas.registry import UnknownNameError

PACKAGE, FOLDER = "ptnas.train_final", "recipe_files"


def _files():
    return resources.files(PACKAGE) / FOLDER


def names() -> list[str]:
    return sorted(f.name[: -len(".yaml")] for f in _files().iterdir() if f.name.endswith(".yaml"))


def load(name_or_path: str) -> dict[str, Any]:
    """The shipped recipe called `name_or_path`, or the YAML file at that path."""
    path = Path(name_or_path)
    if path.is_file():
        data = load_yaml(path, f"--recipe {path}")  # one line naming the file (and the line) when malformed
    else:
        shipped = _files() / f"{name_or_path}.yaml"
        if not shipped.is_file():
            raise UnknownNameError(f"unknown recipe {name_or_path!r}; choose from: {', '.join(names())}, "
                                   "auto, none, or a path to a YAML file")
        with resources.as_file(shipped) as file:
            data = load_yaml(file, f"recipe {name_or_path} ({file})")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def auto(space: str, dataset: str | None) -> str | None:
    """The recipe for `space` and `dataset`'s family (None when there is none), e.g. darts + cifar100 -> darts-cifar."""
    family = None if dataset is None else (dataset == "imagenet")
    matches = []
    for name in names():
        recipe = load(name)
        if recipe.get("space") != space:
            continue
        if family is None or (recipe.get("dataset") == "imagenet") == family:
            matches.append(name)
    return matches[0] if matches else None
