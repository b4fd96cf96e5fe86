"""Supernets: MixedOp and the decision API (discretize A + (e, o), perturb A - (e, o))."""
from ptnas.supernet.base import EdgeId, Supernet
from ptnas.supernet.mixed_op import MixedOp

__all__ = ["EdgeId", "MixedOp", "Supernet"]
