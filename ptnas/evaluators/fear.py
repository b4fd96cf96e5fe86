"""FEAR (Dey et al., "FEAR: Ranking Architectures by their Feature Extraction Capabilities").

Stage 1: regular training (batch 256, the benchmark's 200-epoch cosine schedule from lr 0.1) until the
running training accuracy, over the last 2,560 training images (10 batches of 256, at most an epoch;
checked after every step once that many were seen; one batch alone is too noisy), reaches the threshold: the accuracy of a shallow learner
(HOG + MLP) on the same data, measured on held-out images so that a small split does not turn it into a
memorisation level (ptnas.evaluators.fear_threshold), cached in the run dir; or `--fear-threshold`.
The time and steps to reach it are recorded.
Stage 2: the stem and every cell/block before the last quarter of them are frozen (the paper froze
cells 1–12 of 16, about 53 % of the parameters; `SearchSpace.feature_blocks` says how each space's
network splits), and the rest trains `--fear-epochs` epochs (default 5) at batch 512 from lr 0.1,
cosine to 0. The score is the training accuracy of that last epoch.
Early rejection: a candidate whose stage-1 cost exceeds r × the fastest time to threshold seen so far
is stopped and recorded `rejected` (r = `--fear-reject-ratio`, default 4 as in the paper's random
search); under torchrun "so far" spans every rank (read before each candidate, lowered after it). One that does not reach the threshold within `--fear-max-epochs` is rejected too; one whose
loss goes NaN is `failed`; the others go on.
"""
from __future__ import annotations

import json
import math
import time
from collections import deque
from typing import Any, Hashable

from ptnas.evaluators.base import Context, Evaluator, Record
from ptnas.evaluators.fear_threshold import shallow_learner_accuracy
from ptnas.evaluators.short_training import TRAIN_PRECISION, NotFiniteError, ShortTraining
from ptnas.evaluators.shortreg import TRAIN_BATCH_SIZE
from ptnas.settings import Setting

STAGE1_BATCH = TRAIN_BATCH_SIZE.default  # --train-batch-size, shared with shortreg: 256
STAGE1_SCHEDULE_EPOCHS, STAGE2_BATCH, STAGE2_EPOCHS = 200, 512, 5
REJECT_RATIO, MAX_EPOCHS, TRAINED_FRACTION = 4.0, 10, 0.25
WINDOW_IMAGES = 2560  # stage 1's running accuracy: over the last 10 batches of 256
THRESHOLD_CACHE = "fear_threshold.json"


class Fear(Evaluator):
    name = "fear"
    deterministic = False  # early rejection compares wall times
    SETTINGS = (
        Setting("fear_threshold", float, None, metavar="ACC",
                help="fear: stage-1 training accuracy to reach, in (0, 1) (default: the accuracy of a HOG + MLP "
                     "shallow learner, cached in the run dir)"),
        Setting("fear_reject_ratio", float, REJECT_RATIO, minimum=1, metavar="R",
                help="fear: reject a candidate whose stage 1 takes more than R × the fastest time to threshold so "
                     "far (inf: never)"),
        Setting("fear_epochs", int, STAGE2_EPOCHS, minimum=1, metavar="E",
                help="fear: stage-2 epochs with the first blocks frozen"),
        Setting("fear_batch_size", int, STAGE2_BATCH, minimum=1, metavar="B", help="fear: stage-2 minibatch"),
        Setting("fear_max_epochs", int, MAX_EPOCHS, minimum=1, metavar="E",
                help="fear: stage-1 epochs after which a candidate that has not reached the threshold is rejected"),
        TRAIN_BATCH_SIZE,
        TRAIN_PRECISION,
    )

    def __init__(self, context: Context, threshold: float | None = None, reject_ratio: float = REJECT_RATIO,
                 epochs: int = STAGE2_EPOCHS, batch_size: int = STAGE2_BATCH, stage1_batch_size: int = STAGE1_BATCH,
                 max_epochs: int = MAX_EPOCHS, trained_fraction: float = TRAINED_FRACTION, clock: str = "seconds",
                 precision: str = "auto"):
        """clock: what stage-1 cost early rejection compares, "seconds" (the paper's wall time) or "steps"
        (optimizer steps: noise-free on a shared machine, and deterministic)."""
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(f"--fear-threshold must be in (0, 1), got {threshold}")
        if not reject_ratio >= 1:
            raise ValueError(f"--fear-reject-ratio must be at least 1, got {reject_ratio}")
        for flag, value in (("--fear-epochs", epochs), ("--fear-batch-size", batch_size),
                            ("--train-batch-size", stage1_batch_size), ("--fear-max-epochs", max_epochs)):
            if value < 1:
                raise ValueError(f"{flag} must be at least 1, got {value}")
        if clock not in ("seconds", "steps"):
            raise ValueError(f"unknown FEAR clock {clock!r}; choose from: seconds, steps")
        self.context, self._threshold = context, threshold
        self.reject_ratio, self.epochs, self.batch_size = reject_ratio, epochs, batch_size
        self.stage1_batch_size, self.max_epochs = stage1_batch_size, max_epochs
        self.trained_fraction, self.clock, self.precision = trained_fraction, clock, precision
        self.fastest: float | None = None  # the fastest stage-1 cost to threshold so far
        self.board = None  # under torchrun: the fastest over every rank (evaluators.distributed.SharedMinimum)

    @classmethod
    def from_args(cls, args, context: Context) -> "Fear":
        return cls(context, args.fear_threshold, args.fear_reject_ratio, args.fear_epochs, args.fear_batch_size,
                   args.train_batch_size, args.fear_max_epochs, precision=args.train_precision)

    # ---- threshold ------------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """The stage-1 threshold (a fraction): given, cached in the run dir, or computed once."""
        if self._threshold is None:
            self._threshold = self._cached_threshold()
        return self._threshold

    def _cached_threshold(self) -> float:
        ctx = self.context
        key = {"dataset": ctx.dataset, "data": str(ctx.data_dir), "train_portion": ctx.train_portion, "seed": ctx.seed}
        path = ctx.run_dir / THRESHOLD_CACHE if ctx.run_dir is not None else None
        if path is not None and path.is_file():
            try:
                cached = json.loads(path.read_text())
                if cached.get("key") == key:
                    return float(cached["threshold"])
            except (ValueError, KeyError, TypeError):
                pass  # unreadable: compute it again
        train, _ = ctx.decoded_splits
        start = time.perf_counter()
        value = shallow_learner_accuracy(train, seed=ctx.seed)
        if path is not None:
            from ptnas.rundir import RunDir

            RunDir.reopen(ctx.run_dir).write_json(THRESHOLD_CACHE, {
                "key": key, "threshold": value, "seconds": time.perf_counter() - start,
                "learner": "HOG (scikit-image) + MLP 256-256, Adam 1e-3, batch 256: best accuracy on a held-out tenth"})
        return value

    def share_minimum(self, board) -> None:
        self.board = board

    def describe(self) -> dict[str, Any]:
        return {"evaluator": self.name, "threshold": self.threshold, "reject_ratio": self.reject_ratio,
                "stage2_epochs": self.epochs, "stage2_batch_size": self.batch_size,
                "stage1_batch_size": self.stage1_batch_size, "max_epochs": self.max_epochs, "clock": self.clock,
                "precision": self.precision}

    # ---- one candidate --------------------------------------------------------------------------
    def prepare(self) -> None:
        train, _ = self.context.decoded_splits
        for flag, b in (("--train-batch-size", self.stage1_batch_size), ("--fear-batch-size", self.batch_size)):
            if b > len(train):
                raise ValueError(f"{flag} {b} is larger than the training split ({len(train)} images)")

    def evaluate_one(self, genotype: Hashable) -> Record:
        ctx = self.context
        self.prepare()
        threshold = self.threshold
        train, _ = ctx.decoded_splits
        model = ctx.network(genotype)
        details: dict[str, Any] = {"threshold": threshold}
        shared = self.board.value() if self.board is not None else None
        if shared is not None:
            self.fastest = shared if self.fastest is None else min(self.fastest, shared)
        limit = math.inf if self.fastest is None else self.reject_ratio * self.fastest
        stage1 = ShortTraining(model, STAGE1_SCHEDULE_EPOCHS, len(train) // self.stage1_batch_size, ctx.device,
                               seed=ctx.seed, precision=self.precision)
        start = time.perf_counter()
        state = {"reached": False, "over": False, "cost": 0.0, "running": 0.0, "epoch_sum": 0.0}
        steps_per_epoch = len(train) // self.stage1_batch_size
        window: deque[float] = deque(maxlen=max(1, min(-(-WINDOW_IMAGES // self.stage1_batch_size), steps_per_epoch)))

        def stop(metrics: dict) -> bool:  # after every step, with the running metrics of the epoch so far
            steps = stage1.updates + metrics["steps"]  # stage1.updates counts the finished epochs
            state["cost"] = time.perf_counter() - start if self.clock == "seconds" else steps
            if metrics["steps"] == 1:
                state["epoch_sum"] = 0.0
            epoch_sum = metrics["top1"] * metrics["steps"]  # full batches: the batch's accuracy is the difference
            window.append(epoch_sum - state["epoch_sum"])
            state["epoch_sum"] = epoch_sum
            state["running"] = sum(window) / len(window)
            if len(window) == window.maxlen and state["running"] >= 100 * threshold:
                state["reached"] = True
            elif state["cost"] > limit:
                state["over"] = True
            return state["reached"] or state["over"]

        try:
            while not (state["reached"] or state["over"]) and stage1.epochs_run < self.max_epochs:
                stage1.epoch(train, self.stage1_batch_size, stop)
        except NotFiniteError as e:
            return Record(str(genotype), None, "failed", details={**details, "stage1_steps": stage1.updates},
                          reason=f"stage 1: {e}")
        spent = state["cost"]
        details.update(stage1_seconds=time.perf_counter() - start, stage1_steps=stage1.updates,
                       stage1_epochs=stage1.epochs_run, stage1_running_accuracy=state["running"])
        if state["over"]:
            return Record(str(genotype), None, "rejected", details=details,
                          reason=f"stage 1 took more than {self.reject_ratio:g} × the fastest time to threshold "
                                 f"({self.fastest:.4g} {self.clock}) without reaching {threshold:.3f}")
        if not state["reached"]:
            return Record(str(genotype), None, "rejected", details=details,
                          reason=f"the running training accuracy did not reach {threshold:.3f} in {self.max_epochs} epochs")
        self.fastest = spent if self.fastest is None else min(self.fastest, spent)
        if self.board is not None:
            self.board.offer(spent)

        frozen, total = freeze_prefix(model, ctx.space.feature_blocks(model), self.trained_fraction)
        details.update(frozen_parameters=frozen, parameters=total, frozen_share=frozen / total)
        stage2 = ShortTraining(model, self.epochs, len(train) // self.batch_size, ctx.device, seed=ctx.seed + 1,
                               precision=self.precision)
        try:
            history = [stage2.epoch(train, self.batch_size) for _ in range(self.epochs)]
        except NotFiniteError as e:
            return Record(str(genotype), None, "failed", details=details, reason=f"stage 2: {e}")
        details.update(stage2_steps=stage2.updates, train_accuracy=history[-1]["top1"],
                       train_accuracy_per_epoch=[h["top1"] for h in history])
        return Record(str(genotype), history[-1]["top1"], "ok", details=details)


def freeze_prefix(model, blocks: list, trained_fraction: float = TRAINED_FRACTION) -> tuple[int, int]:
    """Freeze the stem (every parameter registered before the first block's) and every block before the
    last `trained_fraction` of `blocks`; those blocks, the head and the classifier stay trainable.
    Returns (frozen parameters, all parameters)."""
    keep = max(1, round(len(blocks) * trained_fraction))
    in_blocks = {id(p) for block in blocks for p in block.parameters()}
    frozen_ids = {id(p) for block in blocks[:len(blocks) - keep] for p in block.parameters()}
    for _, p in model.named_parameters():
        if id(p) in in_blocks:
            break
        frozen_ids.add(id(p))  # the stem
    frozen = 0
    for p in model.parameters():
        if id(p) in frozen_ids:
            p.requires_grad_(False)
            frozen += p.numel()
    return frozen, sum(p.numel() for p in model.parameters())
