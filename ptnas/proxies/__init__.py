"""Zero-cost proxies by name: `proxies.get("synflow")(model, (x, y)) -> float`, `proxies.names()`.

Population proxies (`tenas`, `vote`, `az_nas`) rank a set of models against each other:
`proxies.score_population(proxies.get("tenas"), models, batch) -> [score per model]`.
"""
import torch

from ptnas.proxies.base import (BN_MODES, AnyProxy, Batch, PopulationOnlyError, PopulationProxy, Proxy,
                                preserved, score_population)
from ptnas.proxies.az_nas import az_expressivity, az_progressivity, az_trainability, log_rank_sum
from ptnas.proxies.fisher import fisher, fisher_replicas
from ptnas.proxies.flops import flops
from ptnas.proxies.grad_norm import grad_norm
from ptnas.proxies.grasp import grasp
from ptnas.proxies.jacob_cov import jacob_cov, jacob_cov_replicas
from ptnas.proxies.nwot import nwot, nwot_replicas
from ptnas.proxies.meco import meco, meco_replicas
from ptnas.proxies.params import params
from ptnas.proxies.snip import snip
from ptnas.proxies.swap import swap, swap_reg, swap_reg_replicas, swap_replicas
from ptnas.proxies.synflow import synflow
from ptnas.proxies.tenas import linear_regions, linear_regions_replicas, ntk_cond, rank_sum
from ptnas.proxies.vote import pairwise_majority
from ptnas.proxies.zen import zen
from ptnas.proxies.zico import zico
from ptnas.registry import Registry
from ptnas.settings import Setting

_REGISTRY: Registry[AnyProxy] = Registry("proxy", group="ptnas.proxies")


def register(proxy: AnyProxy) -> AnyProxy:
    return _REGISTRY.register(proxy.name, proxy)


get = _REGISTRY.get
names = _REGISTRY.names

# bf16 verdicts: Zero-Cost-PT on NB201, fp32 against bf16, seeds 0-3 (docs/results.md, "CPU speed").
register(Proxy("nwot", nwot, higher_is_better=True, needs_labels=False, bn="batch",
               dtype=torch.float64, passes="1 forward", bf16_reliable=True, per_replica=nwot_replicas))
register(Proxy("synflow", synflow, higher_is_better=True, needs_data=False, needs_labels=False,
               bn="bypass", dtype=torch.float64, passes="1 forward + 1 backward (batch 1)",
               bf16_why="it computes in float64 on purpose (path sums of the full-size networks overflow lower "
                        "precisions), so bf16 would not apply"))
register(Proxy("grad_norm", grad_norm, needs_labels=True, passes="1 forward + 1 backward"))
register(Proxy("snip", snip, needs_labels=True, passes="1 forward + 1 backward",
               bf16_why="its Zero-Cost-PT decisions on NB201 differed from fp32's in 2 of 4 seeds (measured)"))
register(Proxy("grasp", grasp, needs_labels=True,
               passes="2 forwards + 2 backwards + 1 double backward"))
register(Proxy("fisher", fisher, needs_labels=True, passes="1 forward + 1 backward", per_replica=fisher_replicas))
register(Proxy("jacob_cov", jacob_cov, passes="1 forward + 1 backward (input gradient)",
               bf16_why="its Zero-Cost-PT decisions on NB201 differed from fp32's in 2 of 4 seeds and the "
                        "genotype in 2 (measured)", per_replica=jacob_cov_replicas))
register(Proxy("zen", zen, needs_data=False, bn="train",
               passes="2 forwards per repeat (4 repeats), no backward"))
register(Proxy("ntk_cond", ntk_cond, higher_is_better=False, dtype=torch.float64,
               passes="1 forward + 16 backwards (first 16 samples)"))
register(Proxy("linear_regions", linear_regions, passes="1 forward", per_replica=linear_regions_replicas))
register(Proxy("params", params, needs_data=False, bn="none", passes="1 forward (batch 1)"))
register(Proxy("flops", flops, needs_data=False, bn="none", passes="1 forward (batch 1)"))
register(PopulationProxy("tenas", (get("ntk_cond"), get("linear_regions")), rank_sum,
                         higher_is_better=False, passes="ntk_cond + linear_regions, ranked"))
register(PopulationProxy("vote", (get("synflow"), get("jacob_cov"), get("snip")), pairwise_majority,
                         higher_is_better=True, passes="synflow + jacob_cov + snip, pairwise"))
register(Proxy("meco", meco, needs_labels=False, passes="1 forward", per_replica=meco_replicas))
register(Proxy("swap", swap, needs_labels=False, passes="1 forward", per_replica=swap_replicas))
register(Proxy("swap_reg", swap_reg, needs_labels=False, passes="1 forward", per_replica=swap_reg_replicas))
register(Proxy("zico", zico, needs_labels=True, passes="2 forwards + 2 backwards (the batch split in two)"))
register(Proxy("az_expressivity", az_expressivity, needs_labels=False, passes="1 forward"))
register(Proxy("az_progressivity", az_progressivity, needs_labels=False, passes="1 forward"))
register(Proxy("az_trainability", az_trainability, needs_labels=False,
               passes="1 forward + 1 feature-gradient backward per stage"))
register(Proxy("az_complexity", flops, needs_data=False, bn="none", passes="1 forward (batch 1)"))
register(PopulationProxy("az_nas", tuple(get(n) for n in ("az_expressivity", "az_progressivity", "az_trainability",
                                                          "az_complexity")),
                         log_rank_sum, higher_is_better=True, passes="4 parts, log ranks summed"))

# The settings of every place a proxy scores (zero-cost selectors and evaluator, strategies' steering, correlate).
PROXY = Setting("proxy", str, "nwot", help=f"zero-cost proxy S: {', '.join(names())}")
BN_MODE = Setting("bn_mode", str, "eval", choices=BN_MODES,
                  help="BatchNorm mode while a data-dependent proxy scores: eval (an untrained network's BN is then "
                       "~identity, as in the Zero-Cost-PT reference code; measured better for its searches) or train "
                       "(batch statistics, as in Abdelfattah et al.'s correlation study)")

__all__ = ["BN_MODE", "BN_MODES", "PROXY", "AnyProxy", "Batch", "PopulationOnlyError", "PopulationProxy", "Proxy", "get", "names",
           "preserved", "register", "score_population"]
