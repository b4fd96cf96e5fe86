"""Retraining discovered genotypes from scratch: CIFAR and ImageNet recipes, one process or DDP via torchrun.

The program is `python -m ptnas.train_final --genotype RUN_DIR --dataset cifar10 --data DIR` (console script
`ptnas-train`, ptnas/cli/train.py; the job in ptnas/jobs/train.py, `ptnas.train(...)`); `register_genotype` makes any genotype a timm model.
"""
from ptnas.train_final.timm_models import model_name, register_genotype, register_run

__all__ = ["model_name", "register_genotype", "register_run"]
