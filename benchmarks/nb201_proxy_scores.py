"""Zero-cost scores of every NAS-Bench-201 architecture, computed once and cached for the multi-trial benchmarks.

    python benchmarks/nb201_proxy_scores.py --proxy synflow --out runs/cache/nb201-synflow.jsonl

Each architecture is the benchmark's network (C=16, N=5 unless --init-channels/--layers say otherwise), built
after `torch.manual_seed(--seed)` exactly as the zero-cost evaluator builds it, and scored on one fixed batch
(data-free proxies read only its shape). One JSON line per architecture, appended and flushed as it is computed,
so an interrupted run continues where it stopped.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ptnas import data, proxies, spaces
from ptnas.spaces.nb201 import EDGES, NB201Genotype
from ptnas.spaces.nb201 import ops as nb201_ops


def all_archs() -> list[str]:
    return [str(NB201Genotype(ops)) for ops in itertools.product(nb201_ops.OPS, repeat=len(EDGES))]


def read_cache(path: Path) -> dict[str, float]:
    """{arch: score} of a cache file (missing file: empty)."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["arch"]] = float("nan") if row["score"] is None else row["score"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--proxy", default="synflow")
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--data", default="../shared/data/cifar10-jpg")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--init-channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bn-mode", default="train")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="only the first N architectures (a quick check)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    proxy = proxies.get(args.proxy)
    space = spaces.get("nb201")
    if proxy.needs_data:
        pool = data.search_dataset(args.dataset, args.data)
        batch = next(data.BatchSource(pool, args.batch_size).stream(args.seed))
    else:
        batch = (torch.zeros(args.batch_size, 3, 32, 32), torch.zeros(args.batch_size, dtype=torch.long))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = read_cache(out)
    archs = [a for a in all_archs()[: args.limit] if a not in done]
    with open(out, "a", encoding="utf-8") as f:
        for arch in tqdm(archs, desc=f"{args.proxy} over NB201", mininterval=10):
            start = time.perf_counter()
            torch.manual_seed(args.seed)
            model = space.network(arch, num_classes=data.num_classes(args.dataset), C=args.init_channels,
                                  N=args.layers)
            value = proxy(model, batch, bn_mode=args.bn_mode)
            f.write(json.dumps({"arch": arch, "score": None if value != value else value,
                                "seconds": round(time.perf_counter() - start, 4)}) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
