"""Bilevel DARTS training of a supernet (Liu et al., ICLR 2019), as DARTS-PT trains it before selection.

Each step makes one α update on a batch of the validation split (`Architect`, first or second order),
then one weight update on a batch of the training split: SGD with momentum, weight decay and gradient
clipping, its learning rate annealed per epoch by a cosine from `lr` to `lr_min`. The defaults are
DARTS's and DARTS-PT's (Wang et al., ICLR 2021): weights SGD lr 0.025 → 0.001, momentum 0.9, weight
decay 3e-4, clip 5; α Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.

Reproducibility: epoch k's batches come from streams seeded by (seed, k), so an epoch's data never
depends on what ran before it, and a run resumed from the checkpoint of epoch k (weights, α, both
optimizers, the schedule, every RNG state) repeats an uninterrupted run bit for bit on the CPU.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ptnas.batch import Batch
from ptnas.data.batches import BatchSource
from ptnas.heatmaps import cell_type, edge_op_tables, render_heatmap
from ptnas.model_state import preserved
from ptnas.settings import Setting
from ptnas.supernet import checkpoint
from ptnas.supernet.architect import Architect
from ptnas.supernet.base import Supernet
from ptnas.supernet.replicas import replicated, tile

_STREAMS = {"train": 0, "valid": 1, "eval": 2}

# The settings of a bilevel training, declared here and offered by every selector that trains a supernet.
SETTINGS = (
    Setting("epochs", int, None, minimum=1, help="training epochs (default: the space's, docs/spaces.md)"),
    Setting("supernet", str, None, metavar="CKPT",
            help="start from this trained supernet (the checkpoint/supernet.pt of an earlier run) instead of training"),
    Setting("second_order", bool, False, help="second-order (unrolled) α gradient (default first order)"),
    Setting("fix_alpha", bool, False,
            help="α stays at its random initialisation in training and fine-tuning (DARTS-PT's fix-α variant)"),
    Setting("steps_per_epoch", int, None, minimum=1,
            help="cap on the steps of an epoch (default: one pass over the training half)"),
    Setting("lr", float, 0.025, help="weights: SGD learning rate, cosine-annealed"),
    Setting("lr_min", float, 0.001, help="weights: final learning rate of the cosine"),
    Setting("momentum", float, 0.9, help="weights: SGD momentum"),
    Setting("weight_decay", float, 3e-4, help="weights: weight decay"),
    Setting("grad_clip", float, 5.0, help="weights: gradient-norm clip"),
    Setting("arch_lr", float, 3e-4, help="α: Adam learning rate (betas 0.5, 0.999)"),
    Setting("arch_weight_decay", float, 1e-3, help="α: Adam weight decay"),
    Setting("eval_batches", int, None, minimum=1,
            help="validation-split batches per accuracy measurement: each epoch's valid metrics and DARTS-PT's V "
                 "(default: the whole split)"),
)


@dataclass(frozen=True)
class BilevelConfig:
    """Hyperparameters of bilevel DARTS. fix_alpha: α stays at its initialisation (DARTS-PT's "fix α")."""

    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    second_order: bool = False
    fix_alpha: bool = False

    @classmethod
    def of(cls, settings: Any) -> "BilevelConfig":
        """The configuration of a job's settings (the attributes named as in SETTINGS)."""
        return cls(lr=settings.lr, lr_min=settings.lr_min, momentum=settings.momentum,
                   weight_decay=settings.weight_decay, grad_clip=settings.grad_clip, arch_lr=settings.arch_lr,
                   arch_weight_decay=settings.arch_weight_decay, second_order=settings.second_order,
                   fix_alpha=settings.fix_alpha)


def evaluate(net: nn.Module, batches: Iterable[Batch],
             loss_fn: Callable = nn.functional.cross_entropy) -> tuple[float, float]:
    """(accuracy, mean loss) over `batches`, under no_grad with BatchNorm in train mode (batch statistics).

    This is DARTS-PT's V (Wang et al. 2021: `infer(..., eval=False)`, "disable running stats for
    projection"). Train/eval modes and BN running statistics are left as they were (`model_state.preserved`).
    """
    correct, loss_sum, count = 0, 0.0, 0
    with preserved(net):
        net.train()
        with torch.no_grad():
            for x, y in batches:
                logits = net(x)
                loss_sum += float(loss_fn(logits, y)) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                count += len(y)
    if count == 0:
        raise ValueError("evaluate needs at least one batch")
    return correct / count, loss_sum / count


def evaluate_replicas(net: Supernet, setups: Sequence[Callable[[], ContextManager]], batches: Iterable[Batch],
                      loss_fn: Callable = nn.functional.cross_entropy) -> list[tuple[float, float]]:
    """`evaluate` of K decision states (the setups) at once: each batch tiled K times, replica k's rows run
    setups[k]'s state with its own batch statistics (ptnas/supernet/replicas.py); one (accuracy, mean loss)
    per setup, equal to `evaluate` under that setup up to the kernels' rounding. The states are read once,
    so every batch must have the size of the first (as `BatchSource` batches do)."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        raise ValueError("evaluate needs at least one batch")
    k, n = len(setups), len(first[1])
    correct = torch.zeros(k, dtype=torch.long, device=first[1].device)
    loss_sum = torch.zeros(k, dtype=torch.float64, device=first[1].device)
    count = 0
    with preserved(net), replicated(net, setups, n, first[0].device), torch.no_grad():
        net.train()
        for x, y in itertools.chain([first], batches):
            if len(y) != n:
                raise ValueError(f"evaluate_replicas needs batches of one size: {len(y)} after {n}")
            logits = net(tile(x, k))
            y = tile(y, k)
            loss_sum += loss_fn(logits, y, reduction="none").view(k, n).mean(1).double() * n
            correct += (logits.argmax(1) == y).view(k, n).sum(1)
            count += n
    return [(c / count, s / count) for c, s in zip(correct.tolist(), loss_sum.tolist())]


def alpha_entropy(net: Supernet) -> dict[str, float]:
    """Mean entropy (nats) of softmax(α_e) over the undecided edges, per cell type (edge prefix before ':')."""
    out: dict[str, list[float]] = {}
    for e in net.undecided():
        p = torch.softmax(net.alphas[e].detach(), -1)
        out.setdefault(cell_type(e), []).append(float(-(p * p.clamp_min(1e-30).log()).sum()))
    return {k: sum(v) / len(v) for k, v in out.items()}


class BilevelTrainer:
    """Trains `net`'s weights on `train` and its α on `valid` (alternating steps), epoch by epoch.

    epochs: length of the cosine schedule (None: constant learning rate, as DARTS-PT fine-tunes).
    steps_per_epoch: cap on the steps of an epoch (default: one pass over the smaller split).
    eval_batches: batches of the validation split measured after each epoch (default: all of it;
        0: none, the valid metrics are NaN).
    phase: keeps the data streams of different trainers on one seed apart (0: supernet training,
        1: DARTS-PT's fine-tuning).
    """

    def __init__(self, net: Supernet, train: BatchSource, valid: BatchSource, config: BilevelConfig = BilevelConfig(),
                 epochs: int | None = 50, seed: int = 0, steps_per_epoch: int | None = None,
                 eval_batches: int | None = None, phase: int = 0,
                 loss_fn: Callable = nn.functional.cross_entropy, progress: bool = False):
        self.net, self.train, self.valid, self.config = net, train, valid, config
        self.epochs, self.seed, self.phase = epochs, seed, phase
        self.loss_fn, self.progress = loss_fn, progress
        full = min(len(train.dataset), len(valid.dataset)) // train.batch_size
        self.steps_per_epoch = full if steps_per_epoch is None else min(steps_per_epoch, full)
        self.eval_batches = len(valid.dataset) // valid.batch_size if eval_batches is None else eval_batches
        if self.steps_per_epoch < 1:
            raise ValueError("bilevel training needs at least one batch of each split per epoch")
        if self.eval_batches < 0:
            raise ValueError(f"eval_batches must be at least 0, got {eval_batches}")
        self.weights = net.weight_parameters()
        self.weight_optimizer = torch.optim.SGD(self.weights, lr=config.lr, momentum=config.momentum,
                                                weight_decay=config.weight_decay)
        self.scheduler = (None if epochs is None else torch.optim.lr_scheduler.CosineAnnealingLR(
            self.weight_optimizer, T_max=max(epochs, 1), eta_min=config.lr_min))
        self.architect = None if config.fix_alpha else Architect(
            net, lr=config.arch_lr, betas=config.arch_betas, weight_decay=config.arch_weight_decay,
            second_order=config.second_order, loss_fn=loss_fn)
        self.epoch = 0  # epochs completed
        self.history: list[dict[str, Any]] = []

    # ---- training ---------------------------------------------------------------------------
    def step(self, train_batch: Batch, valid_batch: Batch) -> tuple[float, int]:
        """One α update (unless α is fixed), then one weight update; returns (train loss, correct)."""
        if self.architect is not None:
            self.architect.step(train_batch, valid_batch, self.weight_optimizer)
        x, y = train_batch
        self.net.zero_grad(set_to_none=True)
        logits = self.net(x)
        loss = self.loss_fn(logits, y)
        loss.backward()
        nn.utils.clip_grad_norm_(self.weights, self.config.grad_clip)
        self.weight_optimizer.step()
        self.net.zero_grad(set_to_none=True)
        return float(loss.detach()), int((logits.detach().argmax(1) == y).sum())

    def train_epoch(self) -> dict[str, Any]:
        """One epoch of alternating steps, then the validation split's accuracy and loss."""
        self.net.train()
        lr = self.weight_optimizer.param_groups[0]["lr"]
        train_stream = self.train.stream(self._seed("train"))
        valid_stream = self.valid.stream(self._seed("valid"))
        loss_sum, correct, count = 0.0, 0, 0
        title = f"epoch {self.epoch + 1}" + (f"/{self.epochs}" if self.epochs else "")
        for _ in tqdm(range(self.steps_per_epoch), desc=title, disable=not self.progress, leave=False):
            batch = next(train_stream)
            loss, ok = self.step(batch, next(valid_stream))
            loss_sum += loss * len(batch[1])
            correct += ok
            count += len(batch[1])
        if self.scheduler is not None:
            self.scheduler.step()
        valid_acc, valid_loss = math.nan, math.nan
        if self.eval_batches:
            valid_acc, valid_loss = evaluate(self.net, self.valid.take(self._seed("eval", epoch=0), self.eval_batches),
                                             self.loss_fn)
        self.epoch += 1
        metrics = {"epoch": self.epoch, "lr": lr, "train_loss": loss_sum / count, "train_accuracy": correct / count,
                   "valid_loss": valid_loss, "valid_accuracy": valid_acc, "alpha_entropy": alpha_entropy(self.net)}
        self.history.append(metrics)
        return metrics

    def fit(self, checkpoint_path: str | Path | None = None, writer=None, meta: dict[str, Any] | None = None,
            on_epoch: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Train the remaining epochs; after each, log to TensorBoard and rewrite the checkpoint."""
        if self.epochs is None:
            raise ValueError("fit needs a number of epochs")
        bar = tqdm(total=self.epochs, initial=self.epoch, desc="supernet", disable=not self.progress)
        while self.epoch < self.epochs:
            metrics = self.train_epoch()
            if writer is not None:
                log_epoch(writer, self.net, metrics)
            if checkpoint_path is not None:
                checkpoint.save(checkpoint_path, {**(meta or {}), **self.state_dict()})
            bar.set_postfix(valid_acc=f"{metrics['valid_accuracy']:.3f}")
            bar.update()
            if on_epoch is not None:
                on_epoch(metrics)
        bar.close()
        return self.history

    def _seed(self, stream: str, epoch: int | None = None) -> int:
        """A seed per (run seed, phase, epoch, stream), independent of everything that ran before."""
        epoch = self.epoch if epoch is None else epoch
        return int(np.random.SeedSequence([self.seed, self.phase, epoch, _STREAMS[stream]]).generate_state(1)[0])

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "epochs": self.epochs, "seed": self.seed, "config": asdict(self.config),
            "net": self.net.state_dict(),
            "weight_optimizer": self.weight_optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "arch_optimizer": None if self.architect is None else self.architect.state_dict(),
            "rng": checkpoint.rng_state(),
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()` (a checkpoint of the same configuration)."""
        problem = mismatch(state, self.config, self.epochs, self.seed)
        if problem:
            raise checkpoint.CheckpointError(problem)
        self.net.load_state_dict(state["net"])
        self.weight_optimizer.load_state_dict(state["weight_optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.architect is not None:
            self.architect.load_state_dict(state["arch_optimizer"])
        checkpoint.set_rng_state(state["rng"])
        self.epoch = state["epoch"]
        self.history = list(state["history"])


def mismatch(state: dict[str, Any], config: BilevelConfig, epochs: int | None, seed: int) -> str | None:
    """Why a training checkpoint cannot be continued with these settings (None if it can)."""
    differ = [k for k, v in asdict(config).items() if _plain(state["config"].get(k)) != _plain(v)]
    if differ:
        return "the checkpoint was trained with other settings: " + ", ".join(
            f"{k} {state['config'].get(k)} (now {getattr(config, k)})" for k in differ)
    if state["epochs"] != epochs or state["seed"] != seed:
        return (f"the checkpoint is of a {state['epochs']}-epoch run with seed {state['seed']}, "
                f"not {epochs} epochs with seed {seed}")
    return None


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def log_epoch(writer, net: Supernet, metrics: dict[str, Any]) -> None:
    """TensorBoard: losses, accuracies, lr, α entropy and a softmax(α) heatmap per cell type."""
    step = metrics["epoch"]
    for split in ("train", "valid"):
        writer.add_scalar(f"loss/{split}", metrics[f"{split}_loss"], step)
        writer.add_scalar(f"accuracy/{split}", metrics[f"{split}_accuracy"], step)
    writer.add_scalar("lr", metrics["lr"], step)
    for group, h in metrics["alpha_entropy"].items():
        writer.add_scalar("alpha_entropy" + (f"/{group}" if group else ""), h, step)
    for group, (edges, ops, probs) in alpha_softmax(net).items():
        image = render_heatmap(probs, edges, ops, set())
        writer.add_image("alpha" + (f"/{group}" if group else ""), image, step, dataformats="HWC")
    writer.flush()


def alpha_softmax(net: Supernet) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """Per cell type: (edges, ops, softmax(α) as an edges × ops array, NaN where an edge lacks the op)."""
    probs = {e: dict(zip(net.ops(e), torch.softmax(net.alphas[e].detach().float().cpu(), -1).tolist()))
             for e in net.edges()}
    return edge_op_tables(net, lambda e, o: probs[e][o])
