"""ptnas.malloc: freed activation memory stays in the process, so re-allocating it faults no pages."""
from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
import torch
from ptnas import malloc
applied = malloc.keep_freed_memory() if sys.argv[1] == "keep" else False

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def forward_like():  # 40 activations of 4 MiB allocated, then freed, as a forward does
    ts = [torch.ones(1 << 20) for _ in range(40)]
    del ts

forward_like()
before = faults()
for _ in range(4):
    forward_like()
print(applied, faults() - before)
"""


def run(mode: str, env: dict | None = None) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True,
                         env=env).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings: Linux only")
def test_kept_memory_is_reused_without_page_faults():
    applied, kept = run("keep")
    if applied != "True":
        pytest.skip("not a glibc system: the settings do not apply")
    _, plain = run("plain")
    pages = 4 * 40 * (4 << 20) // 4096  # what re-faulting every page of 4 rounds costs
    assert plain > pages // 2  # glibc's defaults give the memory back and fault it in again
    assert kept < pages // 10


def test_the_users_own_malloc_settings_win():
    import os

    env = {**os.environ, "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}
    assert run("keep", env)[0] == "False"
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env["MALLOC_TRIM_THRESHOLD_"] = "1"
    assert run("keep", env)[0] == "False"
