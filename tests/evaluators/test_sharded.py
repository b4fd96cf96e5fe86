"""The Sharded evaluator on real Gloo processes: records in order on every rank, one error for all
ranks, a dead rank ends the call after the timeout, FEAR's minimum shared through the store."""
from __future__ import annotations

import os
import time

import torch.multiprocessing as mp

from ptnas.evaluators import Evaluator, Record
from ptnas.evaluators.distributed import RankFailed, Sharded
from ptnas.runtime.process import init_process, shutdown

from tests.train_final.test_ddp import free_port


class Length(Evaluator):
    """score = len(genotype); 'boom' raises, 'die' ends the process."""

    name = "length"

    def evaluate_one(self, genotype) -> Record:
        if genotype == "boom":
            raise RuntimeError("out of memory")
        if genotype == "die":
            os._exit(3)
        return Record(genotype, float(len(genotype)))


def _rank(rank: int, port: int, genotypes: list, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE="2")
    process = init_process("cpu", timeout=30)
    written = []
    sharded = Sharded(Length(), process, timeout=2)
    try:
        records = sharded.evaluate(genotypes, on_record=written.append)
        queue.put((rank, [r.genotype for r in records], [r.genotype for r in written]))
    except RankFailed as e:
        queue.put((rank, "failed", str(e)))
    if "die" not in genotypes:
        shutdown(process)


def run(genotypes: list) -> dict:
    queue = mp.get_context("fork").SimpleQueue()
    context = mp.start_processes(_rank, args=(free_port(), genotypes, queue), nprocs=2, join=False,
                                 start_method="fork")
    out = {}
    deadline = time.monotonic() + 50
    while len(out) < 2 and time.monotonic() < deadline:
        if not queue.empty():
            rank, *rest = queue.get()
            out[rank] = rest
        elif "die" in genotypes and 0 in out:
            break
        time.sleep(0.05)
    for p in context.processes:
        p.join(5)
    return out


def test_every_rank_returns_the_records_in_order_and_rank_zero_writes_them():
    genotypes = ["a", "bb", "ccc", "dddd", "eeeee"]
    out = run(genotypes)
    assert out[0] == [genotypes, genotypes]
    assert out[1] == [genotypes, []]  # on_record is rank 0's


def test_an_error_on_one_rank_is_every_ranks_error():
    out = run(["a", "boom", "ccc"])  # "boom" is rank 1's
    assert out[0][0] == out[1][0] == "failed"
    assert out[0][1] == out[1][1] == "rank 1: out of memory"


def test_a_rank_that_dies_ends_the_call_after_the_timeout():
    out = run(["a", "die", "ccc", "dddd"])
    assert out[0][0] == "failed" and "has died or hangs" in out[0][1]


def test_shared_minimum_keeps_the_smallest_offer():
    import datetime

    import torch.distributed as dist

    from ptnas.evaluators.distributed import SharedMinimum

    kv = dist.TCPStore("127.0.0.1", 0, 1, True, timeout=datetime.timedelta(seconds=5))
    board = SharedMinimum(kv, "fastest")
    assert board.value() is None
    for v in (3.0, 5.0, 1.5, 2.0):
        board.offer(v)
    assert board.value() == 1.5
