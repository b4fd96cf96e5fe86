"""Executors of multi-trial search by name: `executors.get("ray")`, `executors.names()`.

`local`: in-process, or the ranks of a torchrun job in lockstep batches; `torchrun`: the ranks of a torchrun
job, asynchronously; `ray`: Ray actors on this machine or a cluster.
`add_flags(parser)` adds `--executor`, `--jobs` and each executor's own settings; `build(args, ...)` makes
the chosen one. See docs/distributed.md.
"""
from __future__ import annotations

import argparse

from ptnas.executors.base import Executor
from ptnas.executors.local import Local
from ptnas.executors.ray_cluster import RayCluster
from ptnas.executors.simulated import Simulated
from ptnas.executors.torchrun import Torchrun
from ptnas.registry import Registry
from ptnas.settings import Setting, add_choice, declared, refuse_foreign

_EXECUTORS: Registry[type[Executor]] = Registry("executor", group="ptnas.executors")
_EXECUTORS.register("local", Local)
_EXECUTORS.register("torchrun", Torchrun)
_EXECUTORS.register("ray", RayCluster)

get = _EXECUTORS.get
register = _EXECUTORS.register
names = _EXECUTORS.names
DEFAULT = "local"

JOBS = Setting("jobs", int, None, minimum=1, metavar="W",
               help="multi-trial: evaluations in flight at once (default: the executor's workers: 1 on one process, the ranks "
                    "under torchrun, the CPUs or GPUs of the Ray cluster)")


def add_flags(parser: argparse.ArgumentParser) -> None:
    add_choice(parser, "executor of multi-trial search (--executor; see docs/distributed.md)", "executor", _EXECUTORS,
               DEFAULT, f"{', '.join(names())}: where the evaluations run (default {DEFAULT})", common=(JOBS,))


def setting_names() -> list[str]:
    """`executor`, `jobs` and every executor's own settings: what only a multi-trial search reads."""
    return ["executor", *(s.name for s in declared(_EXECUTORS, (JOBS,)))]


def check_flags(args: argparse.Namespace) -> None:
    """ValueError (one line) for an unknown executor or a setting of another executor that was given."""
    get(args.executor)
    refuse_foreign(args, "executor", _EXECUTORS)


__all__ = ["Executor", "Local", "RayCluster", "Simulated", "Torchrun", "add_flags", "check_flags", "get", "names", "register", "setting_names"]
