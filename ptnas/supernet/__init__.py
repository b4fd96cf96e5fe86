"""Supernets: MixedOp and the decision API (discretize A + (e, o), perturb A - (e, o))."""
from ptnas.supernet.base import EdgeId, Supernet
from ptnas.supernet.chain import ChainSupernet, PrefixCache
from ptnas.supernet.mixed_op import MixedOp

__all__ = ["ChainSupernet", "EdgeId", "MixedOp", "PrefixCache", "Supernet"]
