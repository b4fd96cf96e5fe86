"""Every program's `--help` loads only torch and ptnas: torchvision, timm, matplotlib, scipy, scikit-image and
tensorboard load when a run needs them (start-up is torch's import time plus little; benchmarks/startup.py
measures it). ptnas-draw is left out: drawing is its work, and its --help names matplotlib's formats. Each program runs in a fresh interpreter, as a user starts it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("torchvision", "timm", "matplotlib", "scipy", "skimage", "tensorboard")
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
