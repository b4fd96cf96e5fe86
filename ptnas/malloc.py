"""glibc malloc settings for tensor-heavy CPU work: keep freed activation memory instead of returning it.

A CPU forward allocates and frees tensors of a few MiB each, hundreds of times. glibc's defaults give
the top of the heap back to the kernel whenever more than twice the current mmap threshold is free,
so the next forward takes the same memory again page by page: on the NB201 Zero-Cost-PT search a third
of the wall time was the kernel zeroing pages (4.6–5.0 of 17.4–17.7 s were system time).
`keep_freed_memory()` lets allocations up to 32 MiB come from the heap and keeps up to 64 MiB of free
heap (mallopt M_MMAP_THRESHOLD / M_TRIM_THRESHOLD): the same search.py run then took 12.7–13.0 s with
0.5–0.8 s of system time, its peak RSS within the run-to-run spread (docs/results.md, "CPU speed").

The command-line programs call it once at start. It does nothing where the C library is not glibc, and
nothing when the user set malloc options of their own (GLIBC_TUNABLES with malloc settings, or
MALLOC_*_ variables), which then win.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 64 << 20


def keep_freed_memory() -> bool:
    """Apply the two settings to this process; True if they were applied."""
    if not sys.platform.startswith("linux") or _user_settings():
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        _ = libc.gnu_get_libc_version  # only glibc has it (musl has mallopt but ignores these)
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _user_settings() -> bool:
    return "malloc" in os.environ.get("GLIBC_TUNABLES", "") or any(
        k.startswith("MALLOC_") and k.endswith("_") for k in os.environ)
