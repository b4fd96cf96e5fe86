"""Zero-cost scores another library computed: NASLib's values for NAS-Bench-201 architectures
(../shared/data/nb201_zero_cost_reference.json, `{arch: {dataset: {proxy: value}}}`), and how ours compare.

`NAMES` maps our proxies to NASLib's names for the same definition; a proxy not in it has no counterpart.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ptnas.rank_correlation import spearman
from ptnas.runtime.errors import UsageError

SPACE = "nb201"  # the space whose architectures the file scores
NAMES = {"synflow": "synflow", "jacob_cov": "jacov", "snip": "snip", "grad_norm": "grad_norm",
         "grasp": "grasp", "fisher": "fisher", "params": "params", "flops": "flops"}


def read(path: str) -> dict:
    """The file as a mapping; UsageError (one line, naming --reference) when it is missing or malformed."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--reference {path}: no such file")
    try:
        reference = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UsageError(f"--reference {path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"--reference {path}: not a text file ({e.reason} at byte {e.start})") from None
    if not isinstance(reference, dict):
        raise UsageError(f"--reference {path}: expected NASLib's {{arch: {{dataset: {{proxy: value}}}}}} mapping")
    return reference


def compare(chosen: Sequence, archs: list[str], score_cols: dict, reference: dict, acc10: np.ndarray) -> list[dict]:
    """On the archs NASLib also scored: Spearman of our values with theirs, and each side's ρ with CIFAR-10
    accuracy (ours oriented so that higher ranks better)."""
    rows = []
    shared = [i for i, a in enumerate(archs) if a in reference]
    for proxy in chosen:
        theirs_name = NAMES.get(proxy.name)
        if theirs_name is None or len(shared) < 3:
            continue
        ours = score_cols[proxy.name][shared]
        theirs = np.array([reference[archs[i]]["cifar10"][theirs_name] for i in shared], dtype=float)
        ok = np.isfinite(ours) & np.isfinite(theirs)
        oriented = ours[ok] if proxy.higher_is_better else -ours[ok]
        rows.append({"proxy": proxy.name, "naslib_name": theirs_name, "n": int(ok.sum()),
                     "spearman_ours_vs_naslib": spearman(ours[ok], theirs[ok]),
                     "spearman_ours_vs_cifar10": spearman(oriented, acc10[shared][ok]),
                     "spearman_naslib_vs_cifar10": spearman(theirs[ok], acc10[shared][ok])})
    return rows
