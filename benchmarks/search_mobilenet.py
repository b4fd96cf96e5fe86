"""One Zero-Cost-PT proposal on the full-size MobileNet (ProxylessNAS) supernet, with and without the
prefix cache: wall time, forward passes, stages (stem, blocks) computed and reused, peak RSS.

    python benchmarks/search_mobilenet.py                          # N=1, V=10, batch 64, 32x32, random order
    python benchmarks/search_mobilenet.py --order global-op-iter   # every step re-scores all open blocks

Each run is its own process, so peak RSS is per setting; with --repeats the settings alternate and
the fastest run of each is shown. Both must give the same genotype
and the same scores (the cache changes the cost, never the result); the script checks it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys

import torch
from zc_search import add_arguments, timed_search


def measure(args: argparse.Namespace, cache: bool) -> dict:
    """One search in this process; returns the figures as a dict."""
    size = {"C": args.init_channels, "layers": args.layers}
    net, _, _, run = timed_search(args, "mobilenet", {**size, "prefix_cache": cache}, size)
    scores = json.dumps([r for r in run.log.records if r["kind"] in ("score", "validation")])
    return {"cache": cache, "wall_s": run.wall_s, "supernet_forwards": run.supernet_forwards,
            "standalone_forwards": run.standalone_forwards, "blocks_run": net.prefix_cache.stages_run,
            "blocks_reused": net.prefix_cache.stages_reused,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "genotype": str(run.result.genotype), "scores_sha1": hashlib.sha1(scores.encode()).hexdigest(),
            "threads": torch.get_num_threads(), "device": str(run.device)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p, order="random", proposals=1, valid_batches=10)  # random: the reference code's order
    p.add_argument("--init-channels", type=int, default=32)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--cache", choices=("on", "off", "both"), default="both")
    p.add_argument("--repeats", type=int, default=1, help="runs per setting, alternating off/on (default 1)")
    args, argv = p.parse_args(), sys.argv[1:]
    if args.cache != "both":
        print(json.dumps(measure(args, args.cache == "on")))
        return
    runs = {"on": [], "off": []}
    for _ in range(args.repeats):  # alternate, so a change in machine load hits both settings alike
        for mode in ("off", "on"):
            flags = [a for a in argv if not a.startswith("--cache")] + ["--cache", mode]
            done = subprocess.run([sys.executable, __file__, *flags], capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
    on, off = (min(runs[m], key=lambda r: r["wall_s"]) for m in ("on", "off"))
    print(f"MobileNet ZC-PT  proxy={args.proxy} order={args.order} N={args.proposals} V={args.valid_batches} "
          f"batch={args.batch_size} bn={args.bn_mode} input=32x32 C={args.init_channels} layers={args.layers} "
          f"device={on['device']} threads={on['threads']} repeats={args.repeats} (fastest shown)")
    print(f"genotype  {on['genotype']}")
    print("(stages = the stem and the searchable blocks of every supernet forward)")
    print(f"{'prefix cache':14} {'wall s':>8} {'supernet fwd':>13} {'standalone fwd':>15} {'stages run':>11} "
          f"{'stages reused':>14} {'peak RSS MiB':>13}  all wall s")
    for name, r in (("off", off), ("on", on)):
        walls = ", ".join(f"{x['wall_s']:.1f}" for x in runs[name])
        print(f"{name:14} {r['wall_s']:>8.1f} {r['supernet_forwards']:>13} {r['standalone_forwards']:>15} "
              f"{r['blocks_run']:>11} {r['blocks_reused']:>14} {r['peak_rss_mib']:>13.0f}  {walls}")
    rows = runs["on"] + runs["off"]
    same = len({(r["genotype"], r["scores_sha1"]) for r in rows}) == 1
    print(f"speed-up {off['wall_s'] / on['wall_s']:.2f}x; same genotype and scores with and without cache: "
          f"{'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
