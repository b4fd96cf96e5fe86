"""The Ray executor on a real local Ray (2 CPUs): evaluations run in worker processes, asynchronously; a
worker that dies is replaced and its evaluation retried once, then recorded failed; an evaluator's error
ends the search with its message; search.py runs and resumes with --executor ray; without Ray installed,
asking for it says what to install."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray

from ptnas import evaluators, spaces
from ptnas.cli.search import main
from ptnas.evaluators import Record
from ptnas.executors import RayCluster
from ptnas.strategies import Budget, Evolution, RandomSearch, Trials
from tests.conftest import shared_data

NB201 = spaces.get("nb201")
ROOT = Path(__file__).resolve().parents[2]
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import the tests


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


class WhereAndDie(evaluators.Evaluator):
    """The table's accuracy and the worker's pid; the process exits while evaluating `doomed` (always, or
    only the first time when `once` names a marker file)."""

    name = "where"

    def __init__(self, table_path, doomed=None, once=None):
        self.table = evaluators.table("nb201", table_path)
        self.doomed, self.once = doomed, once

    def evaluate_one(self, genotype):
        if str(genotype) == self.doomed and not (self.once and os.path.exists(self.once)):
            if self.once:
                Path(self.once).touch()
            os._exit(1)
        return Record(str(genotype), self.table.test_accuracy(str(genotype), "cifar10"), details={"pid": os.getpid()})


class Refuses(evaluators.Evaluator):
    name = "refuses"

    def evaluate_one(self, genotype):
        raise ValueError("--train-batch-size 512 is larger than the 400 training images")


def searched(build, strategy, trials, jobs=2, seed=0):
    executor = RayCluster(build, jobs)
    t = Trials(None, Budget(trials=trials), executor=executor, jobs=jobs)
    try:
        result = strategy.run(NB201, t, None, np.random.default_rng(seed))
    finally:
        executor.close()
    return result, t


def test_evaluations_run_in_two_worker_processes_and_keep_the_budget():
    build = functools.partial(WhereAndDie, str(shared_data("nb201_test_accuracy.csv")))
    result, trials = searched(build, Evolution(population=6, tournament=2), trials=20)
    assert len(trials.records) == 20 and len({r.genotype for r in trials.records}) == 20
    pids = {r.details["pid"] for r in trials.records}
    assert len(pids) == 2 and os.getpid() not in pids
    assert result.record.score == max(r.score for r in trials.records)


def test_a_worker_that_dies_is_replaced_and_its_evaluation_retried_once_then_failed(tmp_path):
    rng = np.random.default_rng(0)
    first = [str(NB201.sample(rng)) for _ in range(3)]
    table = str(shared_data("nb201_test_accuracy.csv"))
    _, trials = searched(functools.partial(WhereAndDie, table, first[1]), RandomSearch(), trials=6)
    by = {r.genotype: r for r in trials.records}
    assert len(trials.records) == 6 and by[first[1]].status == "failed"
    assert "died twice" in by[first[1]].reason
    assert all(r.ok for g, r in by.items() if g != first[1])  # the others, on new workers too
    marker = tmp_path / "died-once"
    _, trials = searched(functools.partial(WhereAndDie, table, first[1], str(marker)), RandomSearch(), trials=6)
    assert marker.exists() and all(r.ok for r in trials.records) and first[1] in {r.genotype for r in trials.records}


def test_an_evaluators_error_ends_the_search_with_its_message():
    with pytest.raises(ValueError, match="larger than the 400 training images"):
        searched(Refuses, RandomSearch(), trials=4)


def test_more_jobs_than_the_cluster_has_cores_are_refused_in_one_line():
    with pytest.raises(ValueError, match="--jobs 3 needs 3 CPUs of the Ray cluster, which has 2"):
        RayCluster(Refuses, 3)


def test_search_py_runs_and_resumes_on_ray(tmp_path, capsys):
    flags = ["--space", "nb201", "--strategy", "evolution", "--population", "5", "--tournament", "2", "--trials",
             "14", "--evaluator", "table", "--table", str(shared_data("nb201_test_accuracy.csv")), "--executor", "ray",
             "--device", "cpu"]
    full = tmp_path / "full"
    assert main([*flags, "--out", str(full)]) == 0
    summary = json.loads((full / "genotype.json").read_text())
    assert summary["executor"] == {"executor": "ray", "workers": 2, "jobs": 2} and summary["evaluations"] == 14
    assert "jobs: 2" in (full / "config.yaml").read_text()  # resolved: a resumed search keeps its W
    lines = (full / "scores.jsonl").read_text().splitlines(keepends=True)
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "config.yaml").write_text((full / "config.yaml").read_text())
    (cut / "scores.jsonl").write_text("".join(lines[:7]))
    assert main(["--resume", "--out", str(cut)]) == 0
    rows = [json.loads(line) for line in (cut / "scores.jsonl").read_text().splitlines()]
    evaluated = [r["genotype"] for r in rows if r["kind"] == "evaluation"]
    assert rows[:7] == [json.loads(line) for line in lines[:7]]
    assert len(evaluated) == 14 == len(set(evaluated))
    assert json.loads((cut / "genotype.json").read_text())["evaluations"] == 14


def test_without_ray_installed_asking_for_it_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from ptnas.cli.search import main; "
            "sys.exit(main(sys.argv[1:]))")
    argv = ["--space", "nb201", "--strategy", "random", "--trials", "2", "--evaluator", "table", "--table",
            str(shared_data("nb201_test_accuracy.csv")), "--executor", "ray", "--out", str(tmp_path / "run")]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        'search.py: error: --executor ray needs Ray, which is not installed: pip install "ptnas[ray]"']
    assert not (tmp_path / "run").exists()
