"""Real multi-process DDP on CPU (Gloo): gradients, sharding, and a full run through distributed_train.sh."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import timm
import torch
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ptnas.data import synthetic_cifar10
from ptnas.train_final import datasets
from ptnas.runtime.process import init_process, shutdown
from ptnas.runtime.loop import StepSettings, train_step
from ptnas.train_final.timm_models import model_name, register_genotype

from tests.train_final.conftest import GENOTYPE, TINY

REPO = Path(__file__).resolve().parents[2]
PER_RANK = 8


def tiny_model() -> nn.Module:
    """The same initial weights in every process; BN on running statistics, so each image's gradient
    does not depend on the rest of its batch (plain DDP keeps BN statistics per rank)."""
    torch.manual_seed(0)
    model = timm.create_model(register_genotype(model_name("nb201", GENOTYPE), "nb201", GENOTYPE),
                              num_classes=10, C=4, N=1)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    return model


def _rank_main(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))  # what torchrun sets
    torch.set_num_threads(1)
    process = init_process("cpu")
    assert (process.rank, process.world_size, process.device.type) == (rank, world, "cpu")
    assert torch.distributed.get_backend() == "gloo"
    model = tiny_model()
    ddp = DistributedDataParallel(model)
    loader = datasets.train_loader(synthetic_cifar10(PER_RANK * world), PER_RANK, world, rank, seed=0)
    loader.sampler.set_epoch(0)
    x, y = next(iter(loader))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_step(ddp, x, y, nn.CrossEntropyLoss(), optimizer, StepSettings())
    torch.save({"x": x, "y": y, "grads": {n: p.grad for n, p in model.named_parameters()}}, f"{out}/rank{rank}.pt")
    shutdown(process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gradients_equal_one_process_on_the_global_batch(tmp_path):
    mp.start_processes(_rank_main, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    x, y = torch.cat([r["x"] for r in ranks]), torch.cat([r["y"] for r in ranks])
    everything = synthetic_cifar10(2 * PER_RANK).tensors[0]
    assert sorted(x.flatten(1)[:, 0].tolist()) == sorted(everything.flatten(1)[:, 0].tolist())  # disjoint shards

    model = tiny_model()
    train_step(model, x, y, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), StepSettings())
    for name, p in model.named_parameters():
        assert torch.equal(ranks[0]["grads"][name], ranks[1]["grads"][name]), name  # all-reduced: identical
        torch.testing.assert_close(ranks[0]["grads"][name], p.grad, rtol=1e-5, atol=1e-7, msg=name)


def test_distributed_train_script_runs_two_gloo_processes(tmp_path):
    argv = ["--genotype", GENOTYPE, "--dataset", "synthetic-cifar10", "--synthetic-n", 70, "--epochs", 1,
            "--batch-size", 16, "--lr-base", 0.1, "--lr-base-size", 16,
            "--output", tmp_path, "--experiment", "ddp", *TINY]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(REPO / "distributed_train.sh"), "2", *map(str, argv)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "ddp" / "results.json").read_text())
    assert results["world_size"] == 2 and results["global_batch_size"] == 32
    assert results["test"]["images"] == 70  # the two eval shards partition the test set: no padding, no repeats
    args = (tmp_path / "ddp" / "args.yaml").read_text()
    assert "lr_effective: 0.2" in args  # linear scaling: 0.1 x (2 x 16) / 16
    assert done.stdout.count("final test top-1") == 1  # rank 0 alone reports
