"""One optimisation step, one training epoch, one evaluation pass.

A network may return `(logits, aux_logits)` in training mode (the DARTS auxiliary head, Szegedy et al.
2015 as used by Liu et al. 2019); the loss is then `L(logits) + aux_weight · L(aux_logits)`.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ptnas.runtime.process import Process, all_sum


@dataclass(frozen=True)
class StepSettings:
    aux_weight: float = 0.0
    clip_grad: float | None = None
    amp_dtype: torch.dtype | None = None  # None: full precision; else torch.autocast with this dtype
    channels_last: bool = False


class AuxiliaryMismatchError(ValueError):
    """The network's outputs and --aux-weight disagree (an auxiliary head without a weight, or the reverse)."""


def split_outputs(out, aux_weight: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`(logits, aux_logits or None)`; checks that an auxiliary head and --aux-weight come together."""
    if isinstance(out, (tuple, list)):
        logits, aux = out
        if aux_weight <= 0:
            raise AuxiliaryMismatchError("the network returns auxiliary logits but --aux-weight is 0; set --aux-weight "
                                         "(0.4 in DARTS) or build it without the head (--model-kwargs auxiliary=False)")
        return logits, aux
    if aux_weight > 0:
        raise AuxiliaryMismatchError(f"--aux-weight {aux_weight} but the network returns no auxiliary logits; build it "
                                     "with an auxiliary head (--model-kwargs auxiliary=True) or pass --aux-weight 0")
    return out, None


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device, channels_last: bool):
    x = x.to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: Callable,
               optimizer: torch.optim.Optimizer, settings: StepSettings, scaler=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward, backward (DDP averages gradients over ranks here), optional clipping, optimizer step.

    Returns the detached loss and the main logits. Gradients stay in `.grad` until the next step.
    """
    optimizer.zero_grad(set_to_none=True)
    with autocast(x.device, settings.amp_dtype):
        logits, aux = split_outputs(model(x), settings.aux_weight)
        loss = criterion(logits, y)
        if aux is not None:
            loss = loss + settings.aux_weight * criterion(aux, y)
    if scaler is not None:  # timm NativeScaler: scaled backward, unscale, clip, step, update
        scaler(loss, optimizer, clip_grad=settings.clip_grad, parameters=model.parameters())
    else:
        loss.backward()
        if settings.clip_grad:
            from timm.utils import dispatch_clip_grad
            dispatch_clip_grad(model.parameters(), settings.clip_grad)
        optimizer.step()
    return loss.detach(), logits.detach()


def train_one_epoch(model: nn.Module, loader, criterion: Callable, optimizer: torch.optim.Optimizer,
                    settings: StepSettings, process: Process, epoch: int, num_updates: int, *, scheduler=None,
                    scaler=None, ema=None, progress: bool = True, desc: str = "",
                    stop: Callable[[dict[str, float]], bool] | None = None) -> tuple[dict[str, float], int]:
    """One pass over this rank's shard (a DataLoader, or any iterable of batches). Returns rank-averaged
    metrics and the updated optimizer-step count.

    metrics: loss (mean over images of the training loss), top1/top5 (%, main logits), images/s (all ranks),
    steps, and `stopped` (True when `stop` ended the epoch early).
    stop: called after every step with this rank's running metrics of the epoch so far ({"top1", "loss",
    "steps"}); returning True ends the epoch there (FEAR's stage 1 trains until a running accuracy is
    reached). Without it the metrics stay on the device until the end of the epoch (no per-step sync).
    """
    from timm.utils import unwrap_model  # timm loads when training starts, not with the program

    model.train()
    if hasattr(getattr(loader, "sampler", None), "set_epoch"):
        loader.sampler.set_epoch(epoch)
    sums = torch.zeros(4, dtype=torch.float64, device=process.device)  # loss·n, top1·n, top5·n, n (no per-step sync)
    bar = tqdm(loader, desc=desc, leave=False, dynamic_ncols=True, disable=not (progress and process.primary))
    start = time.perf_counter()
    steps, stopped = 0, False
    for i, (x, y) in enumerate(bar):
        x, y = to_device(x, y, process.device, settings.channels_last)
        loss, logits = train_step(model, x, y, criterion, optimizer, settings, scaler)
        num_updates += 1
        steps += 1
        if ema is not None:
            ema.update(unwrap_model(model), step=num_updates)
        if scheduler is not None:
            scheduler.step_update(num_updates=num_updates)
        sums += _batch_sums(loss, logits, y)
        if i % 10 == 0 and not bar.disable:
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
        if stop is not None:
            loss_sum, top1_sum, _, n = sums.tolist()
            if stop({"loss": loss_sum / n, "top1": top1_sum / n, "steps": steps}):
                stopped = True
                break
    bar.close()
    loss_sum, top1_sum, top5_sum, n = all_sum(sums.tolist(), process)
    seconds = time.perf_counter() - start  # .tolist() above waited for the device
    if n == 0:
        raise ValueError("the training epoch had no batch")
    return {"loss": loss_sum / n, "top1": top1_sum / n, "top5": top5_sum / n,
            "images_per_s": n / seconds, "seconds": seconds, "steps": steps, "stopped": stopped}, num_updates


def _batch_sums(loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """`[loss·n, top1·n, top5·n, n]` of one batch (accuracies in %), as float64 on the batch's device."""
    from timm.utils import accuracy

    logits = logits.float()
    top1, top5 = accuracy(logits, y, topk=(1, min(5, logits.shape[1])))
    n = y.shape[0]
    return torch.stack([loss.double() * n, top1.double() * n, top5.double() * n,
                        torch.tensor(float(n), dtype=torch.float64, device=y.device)])


@torch.no_grad()
def evaluate(model: nn.Module, loader, process: Process, settings: StepSettings = StepSettings()) -> dict[str, float]:
    """Cross-entropy and top-1/top-5 (%) over the whole set: per-rank sums, added over ranks."""
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=process.device)  # CE·n, top1·n, top5·n, n
    for x, y in loader:
        x, y = to_device(x, y, process.device, settings.channels_last)
        with autocast(x.device, settings.amp_dtype):
            out = model(x)
        logits = (out[0] if isinstance(out, (tuple, list)) else out).float()
        sums += _batch_sums(F.cross_entropy(logits, y), logits, y)
    loss_sum, top1_sum, top5_sum, n = all_sum(sums.tolist(), process)
    return {"loss": loss_sum / n, "top1": top1_sum / n, "top5": top5_sum / n, "images": int(n)}
