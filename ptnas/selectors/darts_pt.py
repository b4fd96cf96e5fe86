"""DARTS-PT (Wang et al., "Rethinking Architecture Selection in Differentiable NAS", ICLR 2021).

On a trained supernet, π_darts-pt(A, e) = argmin over alive o of V(A − (e, o)): the operation whose
removal costs the most validation accuracy stays (`criterion="loss"`: the one whose removal raises
the validation loss most). V is the supernet's accuracy on the validation split, measured under
no_grad with BatchNorm in train mode, as the reference code does; every perturbation of one scoring
pass sees the same batches. Between decisions the supernet is fine-tuned (weights and α, unless α is
fixed) for `tune_epochs` epochs at a constant learning rate (DARTS-PT: 5 epochs at 0.0025).
Topology step (cell spaces): per node, the edge whose removal leaves the highest accuracy goes,
until 2 remain; like DARTS-PT, a node is finished before the next fine-tuning.
Each proposal round starts again from the trained supernet, so rounds differ only by the edge order.
With `replicas` (search.py --replicas; auto: on CUDA), the perturbations of a pass are evaluated side by
side, each validation batch tiled once per perturbation (`evaluate_replicas`), with the same V up to rounding.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Sequence

import numpy as np
from tqdm import tqdm

from ptnas.data.batches import BatchSource
from ptnas.selectors.base import BILEVEL, REPLICAS, OpScores, SearchContext, Selector
from ptnas.settings import Setting
from ptnas.supernet import EdgeId, Supernet
from ptnas.supernet.replicas import Chunks
from ptnas.supernet.training import BilevelTrainer, evaluate, evaluate_replicas

CRITERIA = ("acc", "loss")
CRITERION = Setting("criterion", str, "acc", choices=CRITERIA,
                    help="V: supernet accuracy (the op whose removal costs most accuracy stays) or loss")
TUNE_EPOCHS = Setting("tune_epochs", int, 5, minimum=0, help="fine-tuning epochs between decisions")
TUNE_LR = Setting("tune_lr", float, 0.0025, help="constant weight learning rate of the fine-tuning")


class DartsPT(Selector):
    """π_darts-pt with accuracy (or loss) of the perturbed supernet as V.

    valid: the validation split; eval_batches: batches per V (default: the whole split, as DARTS-PT).
    tuner: fine-tunes the supernet after each decision (None or tune_epochs=0: no fine-tuning).
    """

    name = "darts-pt"
    trains_supernet = True
    SETTINGS = (*BILEVEL, CRITERION, TUNE_EPOCHS, TUNE_LR, REPLICAS)

    @classmethod
    def from_context(cls, context: SearchContext) -> "DartsPT":
        """V on the valid half; fine-tuning at --tune-lr (constant) with the run's bilevel settings; α's
        Adam state goes on from the trained supernet's, the weights' SGD starts afresh."""
        args, (train, valid) = context.args, context.sources
        tune = dataclasses.replace(context.bilevel, lr=args.tune_lr, lr_min=args.tune_lr)
        tuner = BilevelTrainer(context.net, train, valid, tune, epochs=None, seed=args.seed,
                               steps_per_epoch=args.steps_per_epoch, eval_batches=0, phase=1)
        state = context.trained_state or {}
        if tuner.architect is not None and state.get("arch_optimizer") is not None:
            tuner.architect.load_state_dict(state["arch_optimizer"])
        return cls(valid, args.eval_batches, args.criterion, tuner, args.tune_epochs, seed=args.seed, progress=True,
                   replicas=getattr(args, "replicas", 0))

    def __init__(self, valid: BatchSource, eval_batches: int | None = None, criterion: str = "acc",
                 tuner: BilevelTrainer | None = None, tune_epochs: int = 5, seed: int = 0, progress: bool = False,
                 replicas: int = 0):
        if criterion not in CRITERIA:
            raise ValueError(f"unknown DARTS-PT criterion {criterion!r}; choose from: {', '.join(CRITERIA)}")
        if tune_epochs < 0:
            raise ValueError(f"tune_epochs must be at least 0, got {tune_epochs}")
        self.valid = valid
        self.eval_batches = len(valid.dataset) // valid.batch_size if eval_batches is None else eval_batches
        if self.eval_batches < 1:
            raise ValueError("DARTS-PT needs at least one validation batch")
        self.criterion = criterion
        # acc: the op (edge) whose removal leaves the LOWEST accuracy stays; loss: the HIGHEST loss.
        self.keep_high = self.edge_keep_high = criterion == "loss"
        self.tuner = tuner if tune_epochs > 0 else None
        self.tune_epochs = tune_epochs
        self.seed = seed
        self.progress = progress
        self.chunks = Chunks(replicas)  # perturbations evaluated per forward; 0 = auto (all on CUDA, 1 on CPU)
        self._trained: dict | None = None
        self._proposal = 0
        self._passes = 0

    def begin_proposal(self, net: Supernet, proposal: int) -> None:
        """Remember the trained supernet before the first round; restore it before every later one."""
        if self.tuner is not None:
            if self._trained is None:
                self._trained = copy.deepcopy(self.tuner.state_dict())
            else:
                self.tuner.load_state_dict(copy.deepcopy(self._trained))
        self._proposal, self._passes = proposal, 0

    def value(self, net: Supernet, seed: int) -> float:
        """V: accuracy (or loss) of the supernet as it stands, on the pass's validation batches."""
        return self._metric(evaluate(net, self.valid.take(seed, self.eval_batches)))

    def _metric(self, acc_loss: tuple[float, float]) -> float:
        return acc_loss[0] if self.criterion == "acc" else acc_loss[1]

    def _values(self, net: Supernet, setups: list, desc: str) -> list[float]:
        """V under each setup (a context that sets up one candidate), on this pass's batches."""
        seed = self._next_seed()
        device = next(net.parameters()).device
        with tqdm(total=len(setups), desc=desc, disable=not self.progress, leave=False) as bar:
            if self.chunks.size(len(setups), device) == 1:
                out = []
                for setup in setups:
                    with setup():
                        out.append(self.value(net, seed))
                    bar.update()
                return out

            def measure(chunk):
                rows = evaluate_replicas(net, chunk, self.valid.take(seed, self.eval_batches))
                bar.update(len(chunk))
                return [self._metric(r) for r in rows]

            return self.chunks.run(setups, device, measure)

    def score_ops(self, net: Supernet, edges: Sequence[EdgeId]) -> OpScores:
        pairs = [(e, o) for e in edges for o in net.candidates(e)]
        values = self._values(net, [lambda e=e, o=o: net.perturb(e, o) for e, o in pairs], "V(A - (e, o))")
        return dict(zip(pairs, values))

    def score_edges(self, net: Supernet, edges: Sequence[EdgeId]) -> dict[EdgeId, float]:
        values = self._values(net, [lambda e=e: net.perturb_edge(e) for e in edges], "V(A - e)")
        return dict(zip(edges, values))

    def after_decision(self, net: Supernet) -> None:
        """Fine-tune between decisions: not after the last one, nor while a node is half pruned."""
        if self.tuner is None or not _work_left(net) or _node_in_progress(net):
            return
        for _ in range(self.tune_epochs):
            self.tuner.train_epoch()

    def _next_seed(self) -> int:
        self._passes += 1
        return int(np.random.SeedSequence([self.seed, self._proposal, self._passes]).generate_state(1)[0])


def _alive(net: Supernet, edges: Sequence[EdgeId]) -> int:
    return sum(not net.is_pruned(e) for e in edges)


def _work_left(net: Supernet) -> bool:
    return bool(net.undecided()) or any(_alive(net, edges) > keep for edges, keep in net.topology_groups())


def _node_in_progress(net: Supernet) -> bool:
    return any(_alive(net, edges) < len(edges) and _alive(net, edges) > keep for edges, keep in net.topology_groups())
