"""Multi-trial search strategies by name: `strategies.get("evolution")`, `strategies.names()`.

    strategy = strategies.get("random")(warmup=3000)
    trials = Trials(evaluator, Budget(trials=50), log)
    result = strategy.run(space, trials, ProxyScores(cache=synflow_scores), np.random.default_rng(seed))

`add_flags(parser)` adds `--strategy`, the budget and proxy flags, and every strategy's own flags;
`check_flags(args)` refuses a strategy flag that does not apply.
"""
from __future__ import annotations

import argparse

from ptnas import flags
from ptnas.flags import Flag
from ptnas.registry import Registry
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
COMMON = (
    Flag("--trials", {"type": flags.at_least(1), "default": None, "metavar": "N",
                      "help": f"budget: evaluated architectures (default {TRIALS} unless --time-budget is given)"}),
    Flag("--time-budget", {"type": float, "default": None, "metavar": "SECONDS",
                           "help": "budget: wall time of the evaluations (the search stops at the first budget reached)"}),
    Flag("--proxy-batches", {"type": flags.at_least(1), "default": None, "metavar": "V",
                             "help": "batches each --proxy score is summed over, for warm-up, move proposal and "
                                     "naswot (default 1)"}),
    Flag("--proxy-cache", {"default": None, "metavar": "FILE",
                           "help": "raw --proxy scores computed before (JSON lines {arch, score}, e.g. from "
                                   "benchmarks/proxy_scores.py), used instead of computing them"}),
)


def add_flags(parser: argparse.ArgumentParser) -> None:
    flags.add_choice(parser, "multi-trial search (--strategy; see docs/multi-trial.md)", "strategy", _STRATEGIES, None,
                     f"{', '.join(names())}: evaluate whole architectures one by one instead of selecting on a "
                     "supernet (default: none, --selector decides)", common=COMMON)


def check_flags(args: argparse.Namespace) -> None:
    """ValueError (one line) for a strategy flag that does not apply to `args.strategy`."""
    if args.strategy is None:
        given = [f.name for f in flags.declared(_STRATEGIES, COMMON) if getattr(args, f.dest, None) is not None]
        if given:
            raise ValueError(f"{given[0]} applies to multi-trial search (--strategy {'|'.join(names())})")
        return
    flags.refuse_foreign(args, "strategy", _STRATEGIES)


def budget(args: argparse.Namespace) -> Budget:
    return Budget(args.trials if args.trials is not None or args.time_budget is not None else TRIALS,
                  args.time_budget)


__all__ = ["Budget", "BudgetSpent", "Evolution", "LocalSearch", "Naswot", "ProxyScores", "RandomSearch", "Strategy",
           "StrategyResult", "Trials", "add_flags", "budget", "check_flags", "get", "register", "names", "read_proxy_cache"]
