"""Zero-Cost-PT and Zero-Cost-DISC with every edge order on the DARTS, MobileNet and NAS-Bench-Macro
spaces, through the proposal driver and through `search.py` (tiny supernets, tiny inputs, tiny batches)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas import proxies, selectors, spaces
from ptnas.cli.search import main
from ptnas.search_log import SearchLog
from tests.conftest import zero_cost_validation
from ptnas.selectors import orders
from tests.conftest import shared_data

DARTS, MOBILENET, MACRO = spaces.get("darts"), spaces.get("mobilenet"), spaces.get("macro")
COMBOS = [(o, s) for o in orders.names() for s in ("zc-pt", "zc-disc")]


def stream(size: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randn(2, 3, size, size, generator=g), torch.randint(0, 10, (2,), generator=g)


def policy(name: str, size: int, proxy: str = "nwot"):
    return selectors.get(name)(proxies.get(proxy), stream(size, 0))


def run_search(space, net, selector, order, size, proposals=2, **net_size):
    log = SearchLog(None)
    evaluator = zero_cost_validation("nwot", lambda: itertools.islice(stream(size, 1), 2),
                                     lambda g: space.network(g, num_classes=10, **net_size))
    result = selectors.search(net, selector, order, proposals, seed=0, log=log, evaluator=evaluator)
    return result, log.records


def open_edges(order_name: str, keep: dict[str, str], prune: set[str]):
    """`order_name` on a DARTS supernet where only a few edges are left open: the others are decided
    (`keep`) or pruned before the order starts, so a test exercises every code path in seconds."""
    def order(p):
        for e, op in keep.items():
            p.net.discretize(e, op)
        for e in prune:
            p.net.prune_edge(e)
        orders.get(order_name)(p)
    return order


@pytest.mark.parametrize("order_name, selector", COMBOS)
def test_every_order_and_selector_runs_on_darts(order_name, selector):
    torch.manual_seed(0)
    net = DARTS.supernet(C=2, layers=1, op_set="s2")
    still_open = {"normal:4<-0", "normal:4<-2", "reduce:5<-1", "reduce:5<-4"}
    prune = {"normal:4<-3", "reduce:4<-3", "normal:5<-3", "normal:5<-4", "reduce:5<-3", "reduce:5<-2"}
    keep = {e: "sep_conv_3x3" for e in net.edges() if e not in still_open | prune}
    result, records = run_search(DARTS, net, policy(selector, 8), open_edges(order_name, keep, prune), 8,
                                 C=2, layers=1)
    g = result.genotype
    assert DARTS.parse(str(g)) == g and len(g.normal) == len(g.reduce) == 8
    decisions = [r for r in records if r["kind"] == "decision"]
    assert sorted(r["edge"] for r in decisions) == sorted(list(still_open) * 2)  # each open edge once per proposal
    pruned = [r["edge"] for r in records if r["kind"] == "pruned"]
    assert len(pruned) == 2 * 2 * 3  # per proposal and cell type: one edge of nodes 3, 4 and 5 each
    # every node keeps exactly 2 inputs, and a pruned edge never reappears
    for cell in ("normal", "reduce"):
        inputs = [i for _, i in getattr(g, cell)]
        assert all(f"{cell}:{2 + k // 2}<-{i}" not in prune for k, i in enumerate(inputs))
    topology = [r for r in records if r["kind"] == "score" and r["stage"] == "topology"]
    assert len(topology) == 2 * 2 * 3 * 3  # each node with 3 alive inputs is scored once over its 3 edges


@pytest.mark.parametrize("order_name, selector", COMBOS)
def test_every_order_and_selector_runs_on_mobilenet(order_name, selector):
    torch.manual_seed(0)
    net = MOBILENET.supernet(C=8, layers=1)
    result, records = run_search(MOBILENET, net, policy(selector, 16), orders.get(order_name), 16,
                                 proposals=1, C=8, layers=1)
    assert MOBILENET.parse(str(result.genotype)) == result.genotype
    decisions = [r["edge"] for r in records if r["kind"] == "decision"]
    assert sorted(decisions) == sorted(net.edges())
    assert not any(r["kind"] == "pruned" for r in records)  # a chain space has no topology step
    assert net.prefix_cache.stages_reused > 0


def test_a_mobilenet_search_is_the_same_with_and_without_the_prefix_cache():
    runs = []
    for cache in (True, False):
        torch.manual_seed(0)
        net = MOBILENET.supernet(C=8, layers=1, prefix_cache=cache)
        runs.append(run_search(MOBILENET, net, policy("zc-pt", 16), orders.get("fixed"), 16,
                               proposals=1, C=8, layers=1))
    (cached, cached_records), (plain, plain_records) = runs
    assert cached.genotype == plain.genotype
    assert cached_records == plain_records  # every score, decision and validation value identical


@pytest.mark.parametrize("order_name, selector", COMBOS)
def test_every_order_and_selector_runs_on_macro(order_name, selector):
    torch.manual_seed(0)
    net = MACRO.supernet(C=2)
    result, records = run_search(MACRO, net, policy(selector, 8), orders.get(order_name), 8, proposals=1, C=2)
    g = result.genotype
    assert MACRO.parse(str(g)) == g and len(str(g)) == 8
    decisions = [r for r in records if r["kind"] == "decision"]
    assert sorted(r["edge"] for r in decisions) == net.edges()  # every layer decided once
    assert str(g) == "".join(str(MACRO.ops.index(r["op"])) for r in sorted(decisions, key=lambda r: r["edge"]))
    stages = [r["stage"] for r in records if r["kind"] == "score"]
    every_open_pair_each_step = 3 * sum(range(1, 9))  # step k scores the 8 - k open layers × 3 ops
    op_scores, order_scores = {  # (scores that decide an op, scores that only rank the layers)
        "global-op-iter": (every_open_pair_each_step, 0), "global-edge-iter": (3 * 8, every_open_pair_each_step),
        "global-op-once": (3 * 8, 3 * 8), "global-edge-once": (3 * 8, 3 * 8)}.get(order_name, (3 * 8, 0))
    assert (stages.count("op"), stages.count("order")) == (op_scores, order_scores)
    assert net.prefix_cache.stages_reused > 0


def test_a_macro_search_is_the_same_with_and_without_the_prefix_cache():
    runs = []
    for cache in (True, False):
        torch.manual_seed(0)
        net = MACRO.supernet(C=2, prefix_cache=cache)
        runs.append(run_search(MACRO, net, policy("zc-pt", 8), orders.get("global-op-iter"), 8, proposals=1, C=2))
    (cached, cached_records), (plain, plain_records) = runs
    assert cached.genotype == plain.genotype
    assert cached_records == plain_records


# ---- search.py ---------------------------------------------------------------------------------
def cli(tmp_path: Path, *flags: str) -> Path:
    out = tmp_path / "run"
    assert main([*flags, "--proposals", "1", "--valid-batches", "1", "--batch-size", "2",
                 "--out", str(out)]) == 0
    return out


def heatmaps(out: Path) -> dict[str, int]:
    events = EventAccumulator(str(out / "events"), size_guidance={"images": 0})
    events.Reload()
    return {tag: len(events.Images(tag)) for tag in events.Tags()["images"] if "heatmap" in tag}


def test_search_py_global_op_iter_on_darts(tmp_path):
    """The reference code's global orders crash on DARTS; here all 28 edges and the topology step run."""
    out = cli(tmp_path, "--space", "darts", "--selector", "zc-pt", "--order", "global-op-iter",
              "--op-set", "s2", "--init-channels", "2", "--layers", "1")
    summary = json.loads((out / "genotype.json").read_text())
    assert summary["space"] == "darts"
    records = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert sorted(r["edge"] for r in records if r["kind"] == "decision") == sorted(DARTS.supernet(C=2, layers=1).edges())
    op_scores = [r for r in records if r["kind"] == "score" and r["stage"] == "op"]
    assert len(op_scores) == 2 * sum(range(1, 29))  # step k scores the 28 - k open edges × 2 ops
    assert sum(r["kind"] == "pruned" for r in records) == 2 * (1 + 2 + 3)  # nodes 3, 4, 5 down to 2 inputs
    g = DARTS.parse(summary["genotype"])  # what train_final reads
    assert sum(p.numel() for p in DARTS.network(g, num_classes=10, C=4, layers=3).parameters()) > 0
    assert heatmaps(out) == {"proposal_0/heatmap/normal": 28, "proposal_0/heatmap/reduce": 28}
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["op_set"] == "s2" and config["supernet_size"] == {"C": 2, "layers": 1}


def test_search_py_on_mobilenet(tmp_path):
    out = cli(tmp_path, "--space", "mobilenet", "--selector", "zc-pt", "--order", "global-op-iter",
              "--init-channels", "8", "--layers", "1")
    summary = json.loads((out / "genotype.json").read_text())
    g = MOBILENET.parse(summary["genotype"])
    assert summary["space"] == "mobilenet" and len(g.blocks) == 6
    assert heatmaps(out) == {"proposal_0/heatmap": 6}  # edges (blocks) × ops, one image per decision


def macro_table(path: Path) -> Path:
    """A NAS-Bench-Macro-format table of all 6,561 keys whose accuracy is the key's digit sum."""
    rows = {"".join(k): {"test_acc": [sum(map(int, k))] * 3, "mean_acc": float(sum(map(int, k))), "std": 0.0,
                         "params": int("".join(k), 3), "flops": 7}
            for k in itertools.product("012", repeat=8)}
    path.write_text(json.dumps(rows))
    return path


def test_search_py_on_macro_with_the_table(tmp_path, capsys):
    table = macro_table(tmp_path / "macro.json")
    out = cli(tmp_path, "--space", "macro", "--selector", "zc-disc", "--order", "random", "--init-channels", "2",
              "--table", str(table))
    summary = json.loads((out / "genotype.json").read_text())
    key = summary["genotype"]
    assert summary["space"] == "macro" and MACRO.parse(key) and (out / "genotype.txt").read_text() == key + "\n"
    accuracy = float(sum(map(int, key)))
    assert summary["benchmark"]["test_accuracy"] == accuracy and summary["benchmark"]["params"] == int(key, 3)
    assert summary["benchmark"]["rank"] == 1 + sum(sum(map(int, k)) > accuracy for k in itertools.product("012", repeat=8))
    assert f"NAS-Bench-Macro CIFAR-10 test accuracy {accuracy:.2f}% (mean of 3)" in capsys.readouterr().out
    assert heatmaps(out) == {"proposal_0/heatmap": 8}
    records = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert sorted(r["edge"] for r in records if r["kind"] == "decision") == [f"layer{k}" for k in range(8)]
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["space"] == "macro" and config["supernet_size"] == {"C": 2}


def test_search_py_on_macro_with_real_cifar10_images_and_the_benchmark(tmp_path):
    images, table = shared_data("cifar10-jpg"), shared_data("nas_bench_macro_cifar10.json")
    out = cli(tmp_path, "--space", "macro", "--order", "global-op-iter", "--init-channels", "2",
              "--dataset", "cifar10", "--data", str(images), "--table", str(table))
    benchmark = json.loads((out / "genotype.json").read_text())["benchmark"]
    assert 1 <= benchmark["rank"] <= 6561 and benchmark["of"] == 6561 and 40 < benchmark["test_accuracy"] < 94


@pytest.mark.parametrize("flags, message", [
    (["--space", "mobilenet", "--include-none"], "--include-none applies to the darts space, not mobilenet"),
    (["--space", "nb201", "--op-set", "s1"], "--op-set applies to the darts space, not nb201"),
    (["--space", "darts", "--no-prefix-cache"], "--no-prefix-cache applies to the mobilenet and macro spaces, not darts"),
    (["--space", "darts", "--include-none", "--op-set", "s2"], "include_none applies to the full DARTS op set"),
    (["--space", "darts", "--op-set", "s7"], "unknown DARTS op set 's7'; choose from: s1, s2, s3, s4"),
    (["--space", "mobilenet", "--layers", "5"], "must be in 1..4, got 5"),
    (["--space", "darts", "--init-channels", "3"], "C (--init-channels) must be even in the darts space"),
    (["--space", "macro", "--layers", "2"], "--layers does not apply to the macro space"),
    (["--space", "macro", "--init-channels", "0"], "C (--init-channels) must be a positive integer in the macro space, got 0"),
    (["--space", "darts", "--table", __file__], "--table works with --space nb201 or macro, not darts"),
    (["--space", "macro", "--table", __file__], "is not a NAS-Bench-Macro table: not JSON"),
])
def test_bad_space_options_exit_2_with_one_line(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as info:
        main([*flags, "--out", str(tmp_path / "x")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "x").exists()


def test_size_flag_help_names_every_space():
    from ptnas.cli.search import build_parser
    helps = {a.dest: a.help for a in build_parser()._actions}
    assert "nb201:" in helps["layers"] and "darts: number of cells" in helps["layers"]
    assert "mobilenet: searchable blocks per stage" in helps["layers"]
    assert "macro: stem width C" in helps["init_channels"] and "macro" not in helps["layers"]
