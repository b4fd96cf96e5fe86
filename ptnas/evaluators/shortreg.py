"""Reduced training ("shortreg"): E epochs at batch B with the benchmark's hyperparameters; the score is
the training accuracy of the last epoch, which the FEAR paper (Dey et al.) found to rank architectures
better than the validation accuracy of such a short run. The validation accuracy (the search's held-out
split) is recorded too.
"""
from __future__ import annotations

from typing import Any, Hashable

from ptnas.evaluators.base import Context, Evaluator, Record
from ptnas.evaluators.short_training import TRAIN_PRECISION, NotFiniteError, ShortTraining
from ptnas.settings import Setting

EPOCHS, BATCH_SIZE = 5, 256

TRAIN_BATCH_SIZE = Setting("train_batch_size", int, BATCH_SIZE, minimum=1, metavar="B",
                           help="shortreg, fear: minibatch of the (stage-1) training")


class ShortReg(Evaluator):
    name = "shortreg"
    SETTINGS = (Setting("train_epochs", int, EPOCHS, minimum=1, metavar="E",
                        help="shortreg: training epochs per candidate"),
                TRAIN_BATCH_SIZE, TRAIN_PRECISION)

    def __init__(self, context: Context, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE, precision: str = "auto"):
        if epochs < 1 or batch_size < 1:
            raise ValueError(f"shortreg needs --train-epochs and --train-batch-size of at least 1, got {epochs} and {batch_size}")
        self.context, self.epochs, self.batch_size, self.precision = context, epochs, batch_size, precision

    @classmethod
    def from_args(cls, args, context: Context) -> "ShortReg":
        return cls(context, args.train_epochs, args.train_batch_size, args.train_precision)

    def describe(self) -> dict[str, Any]:
        return {"evaluator": self.name, "epochs": self.epochs, "batch_size": self.batch_size,
                "precision": self.precision}

    def prepare(self) -> None:
        train, _ = self.context.decoded_splits
        if len(train) < self.batch_size:
            raise ValueError(f"--train-batch-size {self.batch_size} is larger than the training split ({len(train)} images)")

    def evaluate_one(self, genotype: Hashable) -> Record:
        self.prepare()
        train, valid = self.context.decoded_splits
        run = ShortTraining(self.context.network(genotype), self.epochs, len(train) // self.batch_size,
                            self.context.device, seed=self.context.seed, precision=self.precision)
        history = []
        try:
            for _ in range(self.epochs):
                history.append(run.epoch(train, self.batch_size))
        except NotFiniteError as e:
            return Record(str(genotype), None, "failed", details={"epochs": len(history)}, reason=str(e))
        details = {"epochs": self.epochs, "steps": run.updates, "train_accuracy": history[-1]["top1"],
                   "train_loss": history[-1]["loss"], "train_accuracy_per_epoch": [h["top1"] for h in history]}
        if valid is not None:
            details["valid_accuracy"] = run.accuracy(valid, 2 * self.batch_size)
        return Record(str(genotype), history[-1]["top1"], "ok", details=details)
