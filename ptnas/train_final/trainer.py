"""A final training run from resolved flags: build, (resume,) train every epoch, checkpoint, report.

Rank 0 writes the run dir: args.yaml (resolved config), events/ (TensorBoard), checkpoint/ (every
epoch), results.json (final-epoch test accuracy, parameters, FLOPs, wall time). Every rank trains on
its shard of each epoch (DistributedSampler); gradients are averaged by DDP.
"""
from __future__ import annotations

import argparse
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import timm
import torch
from timm.loss import LabelSmoothingCrossEntropy
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2
from timm.utils import ModelEmaV3, NativeScaler, distribute_bn, random_seed
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ptnas import __version__, spaces
from ptnas.data import DataError
from ptnas.runtime.errors import UsageError
from ptnas.drawing import save_genotype_picture
from ptnas.event_files import summary_writer
from ptnas.rundir import RunDir
from ptnas.spaces.cost import count_network
from ptnas.train_final import checkpoint, datasets, timm_models
from ptnas.runtime.process import Process, gather, init_process, shutdown
from ptnas.runtime.loop import StepSettings, evaluate, train_one_epoch


@dataclass
class Progress:
    """What changes as training goes; saved in every checkpoint."""

    epoch: int = 0  # epochs completed
    num_updates: int = 0
    elapsed: float = 0.0  # seconds of training and evaluation, summed over resumptions
    best_val: dict[str, float] | None = None  # {"epoch", "top1"} of the best validation top-1 so far
    history: list[dict[str, Any]] = field(default_factory=list)


def build_model(args: argparse.Namespace, num_classes: int) -> tuple[nn.Module, str]:
    """The genotype's network through timm.create_model (registered under a name derived from the genotype)."""
    name = timm_models.register_genotype(timm_models.model_name(args.space, args.genotype), args.space, args.genotype)
    try:
        model = timm.create_model(name, num_classes=num_classes, **args.model_kwargs)
    except TypeError as e:
        raise UsageError(f"--model-kwargs {args.model_kwargs} do not fit the {args.space} network: {e}") from None
    if args.drop_path > 0 and not hasattr(model, "drop_path_prob"):
        raise UsageError(f"--drop-path {args.drop_path}: the {args.space} network has no drop-path "
                         "(no drop_path_prob attribute); pass --drop-path 0")
    return model, name


def network_cost(args: argparse.Namespace, model: nn.Module, num_classes: int, input_size: int) -> dict[str, Any]:
    """Parameters (with and without an auxiliary head) and FLOPs (2 per multiply-add) of one inference, on CPU."""
    params_total = sum(p.numel() for p in model.parameters())
    inference = model
    if args.model_kwargs.get("auxiliary"):
        name = timm_models.model_name(args.space, args.genotype)
        inference = timm.create_model(name, num_classes=num_classes, **{**args.model_kwargs, "auxiliary": False})
    counted = count_network(inference, input_size)
    return {"params": counted.params, "params_with_aux_head": params_total,
            "flops": 2 * counted.macs, "mult_adds": counted.macs, "flops_input": [1, 3, input_size, input_size]}


def train(args: argparse.Namespace, ckpt: dict[str, Any] | None = None, command: str = "") -> dict[str, Any]:
    """Run (or continue) the training described by `args`; returns the results rank 0 writes to results.json."""
    process = init_process(args.device)
    try:
        return _train(args, ckpt, command, process)
    finally:
        shutdown(process)


def _train(args: argparse.Namespace, ckpt: dict[str, Any] | None, command: str, process: Process) -> dict[str, Any]:
    device = process.device
    try:
        splits = datasets.build(args.dataset, args.data, args.val_split, args.cutout, args.img_size, args.color_jitter,
                                args.synthetic_n, args.download)
        torch.manual_seed(args.seed)  # the same initial weights on every rank
        model, model_name = build_model(args, splits.num_classes)
        with torch.random.fork_rng(devices=[]):
            measured = network_cost(args, model, splits.num_classes, splits.input_size) if process.primary else {}
        model.to(device)
        if args.channels_last:
            model.to(memory_format=torch.channels_last)
        if args.sync_bn and process.distributed:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        random_seed(args.seed, process.rank)  # augmentation and drop-path draw per-rank streams (timm: seed + rank)

        global_batch = args.batch_size * process.world_size
        lr = args.lr or args.lr_base * global_batch / (args.lr_base_size or global_batch)
        optimizer = create_optimizer_v2(model, opt=args.opt, lr=lr, weight_decay=args.weight_decay,
                                        momentum=args.momentum, filter_bias_and_bn=args.filter_bias_and_bn)
        pin = device.type == "cuda"
        train_loader = datasets.train_loader(splits.train, args.batch_size, process.world_size, process.rank,
                                             args.seed, args.workers, pin)
        eval_bs = args.eval_batch_size or args.batch_size
        test_loader = datasets.eval_loader(splits.test, eval_bs, process.world_size, process.rank, args.workers, pin)
        val_loader = (datasets.eval_loader(splits.val, eval_bs, process.world_size, process.rank, args.workers, pin)
                      if splits.val is not None else None)
        scheduler, _ = create_scheduler_v2(
            optimizer, sched=args.sched, num_epochs=args.epochs, decay_epochs=args.decay_epochs,
            decay_rate=args.decay_rate, min_lr=args.min_lr, warmup_lr=args.warmup_lr, warmup_epochs=args.warmup_epochs,
            step_on_epochs=not args.sched_on_updates, updates_per_epoch=len(train_loader))
        criterion = LabelSmoothingCrossEntropy(args.smoothing) if args.smoothing > 0 else nn.CrossEntropyLoss()
        amp_dtype = getattr(torch, args.amp_dtype) if args.amp else None
        scaler = NativeScaler(device=device.type) if amp_dtype == torch.float16 else None
        ema = ModelEmaV3(model, decay=args.model_ema_decay) if args.model_ema else None
        settings = StepSettings(args.aux_weight, args.clip_grad, amp_dtype, args.channels_last)

        progress = Progress()
        if ckpt is not None:
            checkpoint.restore(ckpt, model, optimizer, scheduler, scaler, ema)
            progress = Progress(**ckpt["progress"])
            _restore_rng(ckpt, process)
    except ValueError as e:
        raise UsageError(str(e)) from None

    train_model: nn.Module = model
    if process.distributed:
        train_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    run = log = saver = None
    made = False
    if process.primary:
        run_dir = Path(args.output) / args.experiment
        if ckpt is not None:
            run = RunDir.reopen(run_dir)
        else:
            made = not run_dir.exists()  # this run makes the dir: a data error before epoch 1 removes it again
            run = RunDir(run_dir, force=args.force)
            for stale in ("args.yaml", "results.json"):
                (run.path / stale).unlink(missing_ok=True)
        resolved = {**vars(args), "timm_model": model_name, "num_classes": splits.num_classes,
                    "world_size": process.world_size, "global_batch_size": global_batch, "lr_effective": lr,
                    "device": str(device), "command": command, "ptnas_version": __version__,
                    "torch_version": str(torch.__version__), "timm_version": timm.__version__,
                    "python": platform.python_version(), **measured}
        run.write_yaml("args.yaml", resolved)
        log = summary_writer(run.path / "events", purge_step=progress.epoch + 1 if ckpt is not None else None)
        save_genotype_picture(spaces.get(args.space), args.genotype, run.path, log)
        state = checkpoint.TrainState(model, model_name, scheduler, ema,
                                      extra=lambda: {"config": vars(args), "progress": vars(progress).copy(),
                                                     "rng": rngs})
        saver = checkpoint.saver(state, optimizer, run.path / "checkpoint", scaler, args.checkpoint_hist)
        if ckpt is not None and "saver" in ckpt and hasattr(saver, "load_state_dict"):  # timm >= 1.0.31
            saver.load_state_dict(ckpt["saver"])  # keep rotating the same checkpoint-<epoch> files
        tqdm.write(f"{model_name}: {args.space} {args.genotype}\n  {measured['params'] / 1e6:.3f} M parameters, "
                   f"{measured['mult_adds'] / 1e6:.1f} M multiply-adds at {splits.input_size}px; "
                   f"{process.world_size} process(es) on {device}; run dir {run.path}")

    if progress.epoch > 0 and scheduler is not None:  # continue the schedule where it stopped
        scheduler.step(progress.epoch)
        if args.sched_on_updates:
            scheduler.step_update(progress.num_updates)

    test = val = test_ema = None  # the latest evaluation: results.json reports the final one
    rngs: list[Any] = []
    first = progress.epoch
    try:
        for epoch in range(progress.epoch, args.epochs):
            start = time.perf_counter()
            drop_prob = args.drop_path * epoch / args.epochs
            if hasattr(model, "drop_path_prob"):
                model.drop_path_prob = drop_prob
            lr_now = optimizer.param_groups[0]["lr"]
            train_metrics, progress.num_updates = train_one_epoch(
                train_model, train_loader, criterion, optimizer, settings, process, epoch, progress.num_updates,
                scheduler=scheduler if args.sched_on_updates else None, scaler=scaler, ema=ema,
                progress=args.progress, desc=f"epoch {epoch + 1}/{args.epochs}")
            if scheduler is not None:
                scheduler.step(epoch + 1)
            if process.distributed and not args.sync_bn:
                distribute_bn(model, process.world_size, reduce=True)
            evaluated = epoch + 1 == args.epochs or (epoch + 1) % args.eval_interval == 0
            if evaluated:
                test = evaluate(model, test_loader, process, settings)
                val = evaluate(model, val_loader, process, settings) if val_loader is not None else None
                test_ema = evaluate(ema.module, test_loader, process, settings) if ema is not None else None
            progress.epoch = epoch + 1
            progress.elapsed += time.perf_counter() - start
            if evaluated and val is not None and (progress.best_val is None or val["top1"] > progress.best_val["top1"]):
                progress.best_val = {"epoch": epoch + 1, "top1": val["top1"]}
            # an epoch that was not evaluated carries no metrics (not the previous evaluation's)
            record = {"epoch": epoch + 1, "lr": lr_now, "drop_path_prob": drop_prob, "train": train_metrics,
                      **{split: metrics if evaluated else None
                         for split, metrics in (("test", test), ("val", val), ("test_ema", test_ema))}}
            progress.history.append(_summary(record))
            rngs = gather(checkpoint.rng_state(device), process)  # every rank's, for an exact resume
            if process.primary:
                _log_epoch(log, record)
                saver.save_checkpoint(epoch, metric=record["val"]["top1"] if record["val"] is not None else None)
                tqdm.write(_line(record, args.epochs))
    except DataError:  # a corrupt or missing image, found by the loader: nothing half-made is left behind
        if made and progress.epoch == first:
            log.close()
            shutil.rmtree(run.path, ignore_errors=True)
        raise

    if test is None:  # resumed after the last epoch: evaluate what the checkpoint holds
        test = evaluate(model, test_loader, process, settings)
        test_ema = evaluate(ema.module, test_loader, process, settings) if ema is not None else None
    results = {}
    if process.primary:
        results = {"space": args.space, "genotype": args.genotype, "timm_model": model_name, "dataset": args.dataset,
                   "epochs": args.epochs, "world_size": process.world_size, "global_batch_size": global_batch,
                   **measured, "test": test, "test_ema": test_ema, "best_val": progress.best_val,
                   "wall_time_s": progress.elapsed,
                   "train_images_per_s": progress.history[-1]["train_images_per_s"] if progress.history else None,
                   "checkpoint": str(run.path / "checkpoint" / checkpoint.LAST)}
        run.write_json("results.json", results)
        log.close()
        tqdm.write(f"final test top-1 {test['top1']:.2f}%  top-5 {test['top5']:.2f}%  ({args.epochs} epochs, "
                   f"{progress.elapsed / 3600:.2f} h); results in {run.path / 'results.json'}")
    return results


def _restore_rng(ckpt: dict[str, Any], process: Process) -> None:
    states = ckpt.get("rng") or []
    if len(states) == process.world_size:
        checkpoint.set_rng_state(states[process.rank], process.device)
    else:  # another world size: shards differ anyway, so reseed deterministically instead
        random_seed(ckpt["config"]["seed"] + ckpt["progress"]["epoch"], process.rank)
        if process.primary:
            tqdm.write(f"resuming with {process.world_size} process(es) instead of {len(states)}: data order and "
                       "augmentation will differ from an uninterrupted run")


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    out = {"epoch": record["epoch"], "lr": record["lr"], "train_loss": record["train"]["loss"],
           "train_top1": record["train"]["top1"], "train_images_per_s": record["train"]["images_per_s"]}
    for split in ("test", "val", "test_ema"):
        if record[split] is not None:
            out[f"{split}_top1"] = record[split]["top1"]
    return out


def _log_epoch(log, record: dict[str, Any]) -> None:
    step = record["epoch"]
    log.add_scalar("train/lr", record["lr"], step)
    log.add_scalar("train/drop_path_prob", record["drop_path_prob"], step)
    for key in ("loss", "top1", "top5", "images_per_s"):
        log.add_scalar(f"train/{key}", record["train"][key], step)
    for split in ("test", "val", "test_ema"):
        if record[split] is not None:
            for key in ("loss", "top1", "top5"):
                log.add_scalar(f"{split}/{key}", record[split][key], step)
    log.flush()


def _line(record: dict[str, Any], epochs: int) -> str:
    t = record["train"]
    parts = [f"epoch {record['epoch']}/{epochs}", f"lr {record['lr']:.3g}",
             f"train loss {t['loss']:.4f} top-1 {t['top1']:.2f}%", f"{t['images_per_s']:.0f} img/s"]
    for split in ("val", "test", "test_ema"):
        if record[split] is not None:
            parts.append(f"{split} top-1 {record[split]['top1']:.2f}%")
    return " | ".join(parts)
