"""Every program's `--help` loads only torch and ptnas: torchvision, timm, matplotlib, scipy, scikit-image, Ray and
tensorboard load when a run needs them (start-up is torch's import time plus little; benchmarks/startup.py
measures it). ptnas-draw is left out: drawing is its work, and its --help names matplotlib's formats. Each program runs in a fresh interpreter, as a user starts it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("torchvision", "timm", "matplotlib", "scipy", "skimage", "tensorboard", "ray")
PROBE = """
import contextlib, importlib, io, sys
program = importlib.import_module("ptnas.cli." + sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        program.main(["--help"])
    except SystemExit as e:
        assert e.code in (0, None), e.code
assert "usage:" in out.getvalue(), out.getvalue()[:200]
print(" ".join(sorted(m for m in sys.argv[2:] if m in sys.modules)))
"""


@pytest.mark.parametrize("program", ["search", "evaluate", "correlate", "train", "export", "latency"])
def test_help_loads_no_library_a_run_alone_needs(program):
    done = subprocess.run([sys.executable, "-c", PROBE, program, *HEAVY], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"{program} --help loaded {done.stdout.strip()}"


def test_the_probe_reports_a_module_that_is_loaded():
    """The check above can fail: asked about torch, which every program loads, the probe names it."""
    done = subprocess.run([sys.executable, "-c", PROBE, "search", "torch", *HEAVY], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["torch"]


def test_a_single_process_starts_without_timm():
    """Outside torchrun there is no process group to join: init_process resolves the device alone and timm
    (2-3 s of imports with the torchvision and torch._dynamo it loads) stays unloaded until a run trains."""
    probe = ("import sys; from ptnas.runtime.process import init_process; p = init_process('cpu'); "
             "print(p.device, p.rank, p.world_size, 'timm' in sys.modules, 'torchvision' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_NTASKS")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**env, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["cpu", "0", "1", "False", "False"]
