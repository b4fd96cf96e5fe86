"""The Python API: `ptnas.search` and `ptnas.evaluate` are the programs' jobs with keywords for flags.
The same settings give the same run; bad ones raise the programs' one line; resume crosses the doors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ptnas
from ptnas.cli.evaluate import main as evaluate_main
from ptnas.cli.search import main as search_main

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(space="nb201", init_channels=4, layers=1, proposals=2, valid_batches=1, batch_size=8, order="fixed",
            device="cpu")


def flags(settings: dict) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]


def scores(run_dir: Path) -> list:
    return [json.loads(line)["value"] for line in (run_dir / "scores.jsonl").read_text().splitlines()
            if json.loads(line)["kind"] == "score"]


def test_a_search_from_python_is_the_search_of_the_program(tmp_path, capsys):
    result = ptnas.search(**TINY, out=tmp_path / "api")
    assert search_main([*flags(TINY), "--out", str(tmp_path / "cli")]) == 0
    assert result.run_dir == tmp_path / "api"
    assert str(result.genotype) == (tmp_path / "cli" / "genotype.txt").read_text().strip()
    assert result.summary == json.loads((tmp_path / "api" / "genotype.json").read_text())
    assert scores(tmp_path / "api") == scores(tmp_path / "cli") and len(scores(tmp_path / "api")) > 0
    saved = (tmp_path / "api" / "config.yaml").read_text()
    assert "program: search.py" in saved and "command: ptnas.search(" in saved


@pytest.mark.parametrize("settings, message", [
    ({**TINY, "valid_batches": 0}, "--valid-batches must be at least 1, got 0"),
    ({**TINY, "lr": 0.1}, "--lr applies to --selector darts-alpha or darts-pt, not zc-pt"),
    ({**TINY, "proxy": "nope"}, "unknown proxy 'nope'"),
    (dict(strategy="random", population=8, device="cpu"), "--population applies to --strategy evolution, not random"),
])
def test_bad_settings_raise_the_programs_one_line_and_make_no_run_dir(tmp_path, capsys, settings, message):
    with pytest.raises(ptnas.UsageError) as e:
        ptnas.search(**settings, out=tmp_path / "api")
    assert isinstance(e.value, ValueError) and message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(SystemExit) as exit_:
        search_main([*flags(settings), "--out", str(tmp_path / "cli")])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()


def test_a_misspelt_or_mistyped_keyword_is_named(tmp_path):
    with pytest.raises(ptnas.UsageError, match=r"unknown key 'valid_batch' \(did you mean 'valid_batches'\?\)"):
        ptnas.search(**TINY, valid_batch=3)
    with pytest.raises(ptnas.UsageError, match=r"proposals: 1.5 is not valid for --proposals \(expected an integer\)"):
        ptnas.search(**{**TINY, "proposals": 1.5})
    with pytest.raises(ptnas.UsageError, match="expected true or false"):
        ptnas.search(**TINY, force="yes")


def test_resume_crosses_the_doors_and_refuses_a_changed_setting(tmp_path, capsys):
    out = tmp_path / "run"
    assert search_main([*flags(TINY), "--out", str(out)]) == 0
    with pytest.raises(ptnas.UsageError, match="--proxy synflow differs from its 'nwot'"):
        ptnas.search(resume=True, out=out, proxy="synflow")
    again = ptnas.search(resume=True, out=out, proxy="nwot")  # the saved value, given: allowed
    assert str(again.genotype) == (out / "genotype.txt").read_text().strip()


def test_an_evaluation_from_python_is_the_evaluation_of_the_program(tmp_path, capsys):
    settings = dict(space="nb201", sample=3, init_channels=4, layers=1, batch_size=8, valid_batches=1, device="cpu")
    result = ptnas.evaluate(**settings, out=tmp_path / "api")
    assert evaluate_main([*flags(settings), "--out", str(tmp_path / "cli")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "cli" / "evaluations.jsonl").read_text().splitlines()]
    assert [r.score for r in result.records] == [r["value"] for r in rows] and len(rows) == 3
    assert [r.genotype for r in result.records] == [r["genotype"] for r in rows]
    assert result.rows[0]["score"] == max(r.score for r in result.records)


TOY = textwrap.dedent("""
    import sys
    import ptnas
    from ptnas import proxies, selectors
    from ptnas.cli.search import main
    from ptnas.proxies import Proxy
    from ptnas.proxies.params import executed_parameters

    PREFERENCE = ("none", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")

    class Preferred(selectors.Selector):
        name = "preferred"  # keeps, on every edge, the op latest in PREFERENCE

        def score_ops(self, net, edges):
            return {(e, o): float(PREFERENCE.index(o)) for e in edges for o in net.candidates(e)}

        @classmethod
        def from_context(cls, context):
            return cls()

    def executed(model, batch):  # the parameters that run: removing a 3x3 convolution loses the most
        return float(sum(p.numel() for p in executed_parameters(model, batch[0][:1])))

    selectors.register("preferred", Preferred)
    proxies.register(Proxy("toy_params", executed, needs_data=False, bn="none"))
    tiny = dict(space="nb201", init_channels=4, layers=1, proposals=1, valid_batches=1, batch_size=8, device="cpu")
    out = sys.argv[1]
    print(ptnas.search(selector="preferred", out=out + "/a", **tiny).genotype)
    print(ptnas.search(selector="zc-pt", proxy="toy_params", order="fixed", out=out + "/b", **tiny).genotype)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in tiny.items()]
    assert main([*flags, "--selector", "preferred", "--out", out + "/c"]) == 0
    assert main([*flags, "--proxy", "toy_params", "--order", "fixed", "--out", out + "/d"]) == 0
""")


def test_a_selector_and_a_proxy_registered_outside_run_through_both_doors(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", TOY, str(tmp_path)], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    all_3x3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    printed = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert printed == [all_3x3, all_3x3]
    for run in ("c", "d"):  # search.py with the toys: the same genotype
        assert (tmp_path / run / "genotype.txt").read_text().strip() == all_3x3


def test_without_out_nothing_is_written_and_the_result_is_the_same(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    kept = ptnas.search(**TINY, out=tmp_path / "kept")
    unwritten = ptnas.search(**TINY)
    assert unwritten.run_dir is None and list(tmp_path.iterdir()) == [tmp_path / "kept"]
    assert str(unwritten.genotype) == str(kept.genotype)
    assert unwritten.candidates == kept.candidates == kept.summary["candidates"] and len(kept.candidates) >= 1


def test_an_evaluation_of_a_list_of_genotypes_equals_that_of_a_genotypes_file(tmp_path, capsys):
    from ptnas.spaces import get

    archs = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
             "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"]
    settings = dict(space="nb201", init_channels=4, layers=1, batch_size=8, valid_batches=1, device="cpu")
    listed = ptnas.evaluate(**settings, genotypes=[archs[0], get("nb201").parse(archs[1])])  # text or object
    (tmp_path / "archs.txt").write_text("\n".join(archs) + "\n")
    assert evaluate_main([*flags(settings), "--genotypes", str(tmp_path / "archs.txt"), "--out", str(tmp_path / "cli")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "cli" / "evaluations.jsonl").read_text().splitlines()]
    assert [(r.genotype, r.score) for r in listed.records] == [(r["genotype"], r["value"]) for r in rows]
    assert listed.run_dir is None
    with pytest.raises(ptnas.UsageError, match=r"genotypes\[0\] is not a nb201 genotype"):
        ptnas.evaluate(**settings, genotypes=["22212220"])


def test_a_config_file_lies_under_the_keywords(tmp_path, capsys):
    config = tmp_path / "search.yaml"
    config.write_text("proposals: 3\nproxy: synflow\n")
    result = ptnas.search(**TINY, config=config, out=tmp_path / "run")  # TINY's proposals=2 overrides the file's 3
    assert result.summary["proxy"] == "synflow"
    assert sorted({r["proposal"] for r in map(json.loads, (tmp_path / "run" / "scores.jsonl").read_text().splitlines())
                   if r["kind"] == "score"}) == [0, 1]
    config.write_text("proposals: 0\n")
    with pytest.raises(ptnas.UsageError, match=r"--proposals must be at least 1, got 0$"):
        ptnas.search(space="nb201", config=config)


def tiny_table(path: Path) -> Path:
    """An NB201 table of 12 archs whose CIFAR-10 accuracy is the parameter count (so ρ(params) = 1)."""
    import itertools

    from ptnas.evaluators.nb201_table import count_params
    from ptnas.ops.nb201 import OPS
    from ptnas.spaces.nb201 import NB201Genotype

    archs = [str(NB201Genotype(ops)) for ops in itertools.islice(itertools.product(OPS, repeat=6), 0, 3125, 260)]
    lines = ["arch,cifar10,cifar100,imagenet16_120"]
    lines += [f"{a},{count_params(a)},{-count_params(a)},{i}" for i, a in enumerate(archs)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_correlation_study_from_python_is_the_study_of_the_program(tmp_path, capsys):
    from ptnas.cli.correlate import main as correlate_main

    settings = dict(space="nb201", proxies="params,nwot", sample=12, batch_size=8, device="cpu",
                    table=str(tiny_table(tmp_path / "t.csv")))
    result = ptnas.correlate(**settings, out=tmp_path / "api")
    assert correlate_main([*flags(settings), "--out", str(tmp_path / "cli")]) == 0
    printed = capsys.readouterr().out
    assert result.text in printed and result.run_dir == tmp_path / "api"
    by = {(r["proxy"], r["dataset"]): r for r in result.rows}
    assert by[("params", "cifar10")]["spearman"] == pytest.approx(1.0)
    assert by[("params", "cifar100")]["spearman"] == pytest.approx(-1.0)
    assert len(result.records) == 12
    strip = lambda p: [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in p.read_text().splitlines()]  # noqa: E731
    assert strip(tmp_path / "api" / "scores.jsonl") == strip(tmp_path / "cli" / "scores.jsonl")
    assert (tmp_path / "api" / "correlation.csv").read_text() == (tmp_path / "cli" / "correlation.csv").read_text()
    assert "command: ptnas.correlate(" in (tmp_path / "api" / "config.yaml").read_text()
    scratch = ptnas.correlate(**settings)  # out=None: nothing written, the same figures
    assert scratch.run_dir is None and scratch.rows == result.rows


@pytest.mark.parametrize("settings, message", [
    (dict(proxies="nwot,nope"), "unknown proxy 'nope'"),
    (dict(sample=0), "--sample must be at least 1, got 0"),
    (dict(top_k=0), "--top-k must be at least 1, got 0"),
    (dict(space="darts"), "--space darts has no ground-truth table here"),
])
def test_a_bad_study_raises_the_programs_one_line_and_makes_no_run_dir(tmp_path, capsys, settings, message):
    from ptnas.cli.correlate import main as correlate_main

    settings = dict(table=str(tiny_table(tmp_path / "t.csv")), device="cpu", **settings)
    with pytest.raises(ptnas.UsageError) as e:
        ptnas.correlate(**settings, out=tmp_path / "api")
    assert message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(SystemExit) as exit_:
        correlate_main([*flags(settings), "--out", str(tmp_path / "cli")])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()


TRAIN = dict(genotype="|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
             dataset="synthetic-cifar10", synthetic_n=32, epochs=1, batch_size=16, recipe="none", workers=0,
             progress=False, device="cpu")


def test_a_final_training_from_python_is_the_training_of_the_program(tmp_path, capsys):
    from ptnas.cli.train import main as train_main

    result = ptnas.train(**TRAIN, model_kwargs={"C": 4, "N": 1}, output=tmp_path, experiment="api")
    argv = [f for f in flags(TRAIN) if not f.startswith("--progress")] + ["--no-progress"]
    assert train_main([*argv, "--model-kwargs", "C=4", "N=1", "--output", str(tmp_path),
                       "--experiment", "cli"]) == 0
    assert result.run_dir == tmp_path / "api"
    cli = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert result.results == json.loads((tmp_path / "api" / "results.json").read_text())
    same = {k: v for k, v in cli.items() if k not in ("wall_time_s", "train_images_per_s", "checkpoint")}
    assert {k: result.results[k] for k in same} == same and same["params"] > 0
    import yaml

    assert yaml.safe_load((tmp_path / "api" / "args.yaml").read_text())["command"].startswith("ptnas.train(genotype=")


@pytest.mark.parametrize("settings, message", [
    ({**TRAIN, "epochs": 0}, "--epochs must be at least 1, got 0"),
    ({**TRAIN, "dataset": "nope"}, "unknown dataset 'nope'"),
    ({**TRAIN, "epoch": 3}, "unknown key 'epoch' (did you mean 'epochs'?)"),
])
def test_a_bad_training_raises_the_programs_one_line_and_makes_no_run_dir(tmp_path, settings, message):
    with pytest.raises(ptnas.UsageError) as e:
        ptnas.train(**settings, output=tmp_path, experiment="api")
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "api").exists()


OWN_SETTING = textwrap.dedent("""
    import sys
    import ptnas
    from ptnas import selectors
    from ptnas.cli.search import main
    from ptnas.settings import Setting

    class Favourite(selectors.Selector):
        name = "favourite"  # keeps, on every edge, the op named by its own setting --favourite-op
        SETTINGS = (Setting("favourite_op", str, "skip_connect", help="the op every edge keeps"),)

        def __init__(self, op):
            self.op = op

        def score_ops(self, net, edges):
            return {(e, o): float(o == self.op) for e in edges for o in net.candidates(e)}

        @classmethod
        def from_context(cls, context):
            return cls(context.args.favourite_op)

    selectors.register("favourite", Favourite)
    tiny = dict(space="nb201", init_channels=4, layers=1, proposals=1, valid_batches=1, batch_size=8, device="cpu")
    out = sys.argv[1]
    print(ptnas.search(selector="favourite", favourite_op="avg_pool_3x3", out=out + "/a", **tiny).genotype)
    print(ptnas.search(selector="favourite", out=out + "/b", **tiny).genotype)  # its declared default
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in tiny.items()]
    assert main([*flags, "--selector", "favourite", "--favourite-op", "avg_pool_3x3", "--out", out + "/c"]) == 0
    try:
        ptnas.search(selector="zc-pt", favourite_op="avg_pool_3x3", **tiny)
    except ptnas.UsageError as e:
        print("refused:", e)
""")


def test_a_selector_with_its_own_setting_needs_no_edit_of_any_program(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", OWN_SETTING, str(tmp_path)], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    pools = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|"
    skips = pools.replace("avg_pool_3x3", "skip_connect")
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("|")] == [pools, skips]
    assert (tmp_path / "c" / "genotype.txt").read_text().strip() == pools
    assert "refused: --favourite-op applies to --selector favourite, not zc-pt" in lines


OWN_STRATEGY_AND_EVALUATOR = textwrap.dedent("""
    import sys
    import ptnas
    from ptnas import evaluators, strategies
    from ptnas.cli.search import build_parser
    from ptnas.evaluators import Record
    from ptnas.settings import Setting
    from ptnas.strategies.base import result_of

    class FirstN(strategies.Strategy):
        name = "first-n"  # evaluates the first N random architectures
        SETTINGS = (Setting("first", int, 3, minimum=1, metavar="N", help="first-n: architectures evaluated"),)

        def __init__(self, first):
            self.first = first

        @classmethod
        def from_args(cls, args):
            return cls(args.first)

        def run(self, space, trials, proxy, rng):
            trials.evaluate_many([space.sample(rng) for _ in range(self.first)])
            return result_of(trials)

    class Length(evaluators.Evaluator):
        name = "length"  # scores a genotype by the length of its text
        SETTINGS = (Setting("length_weight", float, 1.0, help="length: the score per character"),)

        def __init__(self, weight):
            self.weight = weight

        @classmethod
        def from_args(cls, args, context):
            return cls(args.length_weight)

        def evaluate_one(self, genotype):
            return Record(str(genotype), self.weight * len(str(genotype)))

    strategies.register("first-n", FirstN)
    evaluators.register("length", Length)
    tiny = dict(space="nb201", init_channels=4, layers=1, device="cpu", evaluator="length")
    out = sys.argv[1]
    print("help:", " ".join(build_parser().format_help().split()))
    for run, kw in (("a", dict(first=2, length_weight=2.0)), ("b", {})):
        result = ptnas.search(strategy="first-n", out=f"{out}/{run}", **tiny, **kw)
        print("evaluations:", result.summary["evaluations"], "best:", result.summary["score"], result.genotype)
    for kw in (dict(strategy="random", first=3), dict(strategy="random", **{**tiny, "evaluator": "table"},
                                                  length_weight=1.0)):
        try:
            ptnas.search(**{**tiny, **kw})
        except ptnas.UsageError as e:
            print("refused:", e)
""")


def test_a_strategy_and_an_evaluator_with_their_own_settings_need_no_edit_of_any_program(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", OWN_STRATEGY_AND_EVALUATOR, str(tmp_path)], capture_output=True,
                          text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "--first N first-n: architectures evaluated (default 3)" in lines[0]
    assert "--length-weight LENGTH_WEIGHT length: the score per character (default 1.0)" in lines[0]
    for line, evaluations, weight in ((lines[1], "2", 2.0), (lines[2], "3", 1.0)):  # given; the defaults
        _, count, _, score, genotype = line.split()
        assert count == evaluations and float(score) == weight * len(genotype)
    # given at their defaults, to a strategy and an evaluator that do not read them
    assert lines[3:] == ["refused: --first applies to --strategy first-n, not random",
                         "refused: --length-weight applies to --evaluator length, not table"]
