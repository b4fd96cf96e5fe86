"""Zero-cost scores of a benchmark space's architectures, computed once and cached for the multi-trial
benchmarks (benchmarks/multi_trial.py) and `search.py --proxy-cache`.

    python benchmarks/proxy_scores.py --space nb201 --proxy synflow --out runs/cache/nb201-synflow.jsonl
    python benchmarks/proxy_scores.py --space nb201 --proxy nwot --batch-size 128 --sample 3000 \
        --out runs/cache/nb201-nwot-3000.jsonl
    python benchmarks/proxy_scores.py --space macro --proxy nwot --out runs/cache/macro-nwot.jsonl

Every architecture of the space (NB201: 15,625; macro: 6,561), or `--sample K` distinct random ones
(seed 0), becomes the benchmark's network (NB201 C=16, N=5; macro C=32), built after
`torch.manual_seed(--seed)` as the zero-cost evaluator builds it, and is scored on one fixed batch of the
search pool (data-free proxies read only its shape). One JSON line per architecture, `{arch, score,
seconds}`, appended and flushed as it is computed, so an interrupted run continues where it stopped.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ptnas import data, proxies, spaces

SIZES = {"nb201": {"C": 16, "N": 5}, "macro": {"C": 32}}


def all_archs(space_name: str) -> list[str]:
    """Every architecture of a benchmark space, as genotype text, in a fixed order."""
    space = spaces.get(space_name)
    positions = {"nb201": 6, "macro": 8}[space_name]
    ops = space.ops
    if space_name == "macro":
        return ["".join(str(ops.index(o)) for o in choice) for choice in itertools.product(ops, repeat=positions)]
    from ptnas.spaces.nb201 import NB201Genotype

    return [str(NB201Genotype(choice)) for choice in itertools.product(ops, repeat=positions)]


def sampled_archs(space_name: str, count: int, seed: int = 0) -> list[str]:
    space, rng, out = spaces.get(space_name), np.random.default_rng(seed), {}
    while len(out) < count:
        out.setdefault(str(space.sample(rng)), None)
    return list(out)


def read_cache(path: Path) -> dict[str, float]:
    """{arch: score} of a cache file (missing file: empty; null: NaN)."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["arch"]] = float("nan") if row["score"] is None else row["score"]
    return out


def compute(space_name: str, proxy_name: str, out: Path, archs: list[str], dataset: str = "cifar10",
            data_dir: str = "../shared/data/cifar10-jpg", batch_size: int = 64, seed: int = 0,
            bn_mode: str = "train", progress: bool = True) -> dict[str, float]:
    """Score `archs` not yet in the cache file `out`; returns the whole cache."""
    proxy, space = proxies.get(proxy_name), spaces.get(space_name)
    if proxy.needs_data:
        pool = data.search_dataset(dataset, data_dir)
        batch = next(data.BatchSource(pool, batch_size).stream(seed))
    else:
        batch = (torch.zeros(batch_size, 3, 32, 32), torch.zeros(batch_size, dtype=torch.long))
    out.parent.mkdir(parents=True, exist_ok=True)
    done = read_cache(out)
    todo = [a for a in archs if a not in done]
    with open(out, "a", encoding="utf-8") as f:
        for arch in tqdm(todo, desc=f"{proxy_name} over {space_name}", mininterval=10, disable=not progress):
            start = time.perf_counter()
            torch.manual_seed(seed)
            model = space.network(arch, num_classes=data.num_classes(dataset), **SIZES[space_name])
            value = proxy(model, batch, bn_mode=bn_mode)
            f.write(json.dumps({"arch": arch, "score": None if value != value else value,
                                "seconds": round(time.perf_counter() - start, 4)}) + "\n")
            f.flush()
    return read_cache(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="nb201", choices=tuple(SIZES))
    p.add_argument("--proxy", default="synflow")
    p.add_argument("--out", required=True)
    p.add_argument("--sample", type=int, default=None, help="only K distinct random architectures (seed 0)")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bn-mode", default="train")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    archs = sampled_archs(args.space, args.sample) if args.sample else all_archs(args.space)
    compute(args.space, args.proxy, Path(args.out), archs, args.dataset, args.data, args.batch_size, args.seed,
            args.bn_mode)


if __name__ == "__main__":
    main()
