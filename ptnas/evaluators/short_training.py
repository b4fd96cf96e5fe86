"""Training a candidate for a few epochs: what the shortreg and FEAR evaluators share.

The hyperparameters are NAS-Bench-201's (NATS-Bench) as the FEAR paper uses them (Dey et al., "FEAR:
Ranking Architectures by their Feature Extraction Capabilities"): SGD with Nesterov momentum 0.9,
learning rate 0.1, weight decay 5e-4, cosine to 0 (timm's `sgd` optimizer and cosine scheduler,
stepped every update). Steps, epochs and metrics come from train_final's loop
(`ptnas.runtime.loop.train_one_epoch`), the one training loop of the library; the data are
`DecodedImages` held on the device. `--train-precision` (auto by default: bf16 autocast with channels_last
on CUDA, fp32 on the CPU) sets the arithmetic; bf16 on the CPU runs through oneDNN (AMX where the processor
has it). docs/results.md ("bf16 training on the CPU") has what it changes.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ptnas.data.decoded import DecodedImages
from ptnas.runtime.process import Process
from ptnas.runtime.loop import StepSettings, evaluate, train_one_epoch
from ptnas.settings import Setting

LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4


class NotFiniteError(RuntimeError):
    """The training loss became NaN or infinite."""


PRECISIONS = ("auto", "fp32", "bf16")
TRAIN_PRECISION = Setting("train_precision", str, "auto", choices=PRECISIONS,
                          help="shortreg, fear: arithmetic of the trainings: bf16 autocast with channels_last (CPU "
                               "AMX / CUDA tensor cores) or fp32; auto = bf16 on CUDA, fp32 on the CPU")


def step_settings(device: torch.device, precision: str = "auto") -> StepSettings:
    """bf16 autocast and channels_last for bf16 (auto: on CUDA); plain fp32 otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown --train-precision {precision!r}; choose from: {', '.join(PRECISIONS)}")
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return StepSettings(amp_dtype=torch.bfloat16 if bf16 else None, channels_last=bf16)


class ShortTraining:
    """One network, its optimizer over the parameters that require grad, and a cosine schedule of
    `epochs` epochs of `steps_per_epoch` updates (per update, from LR to 0)."""

    def __init__(self, model: nn.Module, epochs: int, steps_per_epoch: int, device: torch.device, seed: int = 0,
                 lr: float = LR, precision: str = "auto"):
        self.model, self.device, self.seed = model, device, seed
        self.settings = step_settings(device, precision)
        if self.settings.channels_last:
            model.to(memory_format=torch.channels_last)
        from timm.optim import create_optimizer_v2  # timm loads with the first training, not with every program
        from timm.scheduler import create_scheduler_v2

        self.optimizer = create_optimizer_v2(model, opt="sgd", lr=lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                                             filter_bias_and_bn=False)
        self.scheduler, _ = create_scheduler_v2(self.optimizer, sched="cosine", num_epochs=epochs, min_lr=0.0,
                                                step_on_epochs=False, updates_per_epoch=steps_per_epoch)
        self.process = Process.alone(device)  # one candidate's training: no collective with the other ranks
        self.criterion = nn.CrossEntropyLoss()
        self.updates = 0
        self.epochs_run = 0

    def epoch(self, data: DecodedImages, batch_size: int, stop: Callable[[dict], bool] | None = None) -> dict:
        """One pass over `data` (shuffled and augmented per (seed, epoch)); metrics of train_one_epoch.
        Raises NotFiniteError when the loss is NaN or infinite."""
        metrics, self.updates = train_one_epoch(
            self.model, data.epoch(batch_size, self.seed, self.epochs_run), self.criterion, self.optimizer,
            self.settings, self.process, self.epochs_run, self.updates, scheduler=self.scheduler, progress=False,
            stop=stop)
        self.epochs_run += 1
        if not math.isfinite(metrics["loss"]):
            raise NotFiniteError(f"training loss became {metrics['loss']} in epoch {self.epochs_run}")
        return metrics

    def accuracy(self, data: DecodedImages, batch_size: int) -> float:
        """Top-1 (%) on every image of `data`, in eval mode."""
        return evaluate(self.model, data.batches(batch_size), self.process, self.settings)["top1"]
