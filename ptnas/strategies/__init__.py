"""Multi-trial search strategies by name: `strategies.get("evolution")`, `strategies.names()`.

    strategy = strategies.get("random")(warmup=3000)
    trials = Trials(evaluator, Budget(trials=50), log)
    result = strategy.run(space, trials, ProxyScores(cache=synflow_scores), np.random.default_rng(seed))

`add_flags(parser)` adds `--strategy`, the budget and proxy settings (`COMMON`), and every strategy's own
(its class's `SETTINGS`); `check_flags(args)` refuses a given strategy setting that does not apply.
"""
from __future__ import annotations

import argparse

from ptnas.registry import Registry
from ptnas.settings import Setting, add_choice, declared, refuse_foreign
from ptnas.strategies.base import (Budget, BudgetSpent, ProxyScores, Strategy, StrategyResult, Trials,
                                   read_proxy_cache)
from ptnas.strategies.evolution import Evolution
from ptnas.strategies.local_search import LocalSearch
from ptnas.strategies.naswot import Naswot
from ptnas.strategies.random_search import RandomSearch

_STRATEGIES: Registry[type[Strategy]] = Registry("strategy", group="ptnas.strategies")
_STRATEGIES.register("random", RandomSearch)
_STRATEGIES.register("naswot", Naswot)
_STRATEGIES.register("evolution", Evolution)
_STRATEGIES.register("local", LocalSearch)

get = _STRATEGIES.get
register = _STRATEGIES.register  # register(name, item), or @register(name); a taken name is refused
names = _STRATEGIES.names

TRIALS = 100
COMMON = (  # --trials has no default of its own: TRIALS unless --time-budget is given (`budget`)
    Setting("trials", int, None, minimum=1, metavar="N",
            help=f"budget: evaluated architectures (default {TRIALS} unless --time-budget is given)"),
    Setting("time_budget", float, None, metavar="SECONDS",
            help="budget: wall time of the evaluations (the search stops at the first budget reached)"),
    Setting("proxy_batches", int, 1, minimum=1, metavar="V",
            help="batches each --proxy score is summed over, for warm-up, move proposal and naswot"),
    Setting("proxy_cache", str, None, metavar="FILE",
            help="raw --proxy scores computed before (JSON lines {arch, score}, e.g. from "
                 "benchmarks/proxy_scores.py), used instead of computing them"),
)


def add_flags(parser: argparse.ArgumentParser) -> None:
    add_choice(parser, "multi-trial search (--strategy; see docs/multi-trial.md)", "strategy", _STRATEGIES, None,
               f"{', '.join(names())}: evaluate whole architectures one by one instead of selecting on a "
               "supernet (default: none, --selector decides)", common=COMMON)


def check_flags(args: argparse.Namespace) -> None:
    """ValueError (one line) for a strategy setting given (`args.given`) that does not apply to `args.strategy`."""
    if args.strategy is None:
        given = [s.flag for s in declared(_STRATEGIES, COMMON) if s.name in args.given]
        if given:
            raise ValueError(f"{given[0]} applies to multi-trial search (--strategy {'|'.join(names())})")
        return
    refuse_foreign(args, "strategy", _STRATEGIES)


def budget(args: argparse.Namespace) -> Budget:
    return Budget(args.trials if args.trials is not None or args.time_budget is not None else TRIALS,
                  args.time_budget)


__all__ = ["Budget", "BudgetSpent", "Evolution", "LocalSearch", "Naswot", "ProxyScores", "RandomSearch", "Strategy",
           "StrategyResult", "Trials", "add_flags", "budget", "check_flags", "get", "register", "names", "read_proxy_cache"]
