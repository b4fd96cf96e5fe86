"""Retraining discovered genotypes from scratch: CIFAR and ImageNet recipes, one process or DDP via torchrun.

The program is `python -m ptnas.train_final --genotype RUN_DIR --dataset cifar10 --data DIR` (console script
`ptnas-train`, ptnas/cli/train.py; the job in ptnas/jobs/train.py, `ptnas.train(...)`); `register_genotype` makes any genotype a timm model.
"""
from typing import Any


def __getattr__(name: str) -> Any:  # timm loads when a genotype is registered, not with ptnas-train --help
    if name in __all__:
        from ptnas.train_final import timm_models
        return getattr(timm_models, name)
    raise AttributeError(f"module 'ptnas.train_final' has no attribute {name!r}")


__all__ = ["model_name", "register_genotype", "register_run"]
