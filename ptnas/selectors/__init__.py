"""Selection policies and edge orders by name: `selectors.get("zc-pt")`, `orders.get("random")`."""
from ptnas.registry import Registry
from ptnas.selectors import orders
from ptnas.selectors.base import Selector, discretized
from ptnas.selectors.proposals import Candidate, Proposal, SearchResult, search
from ptnas.selectors.zero_cost import ZeroCostDISC, ZeroCostPT

_REGISTRY: Registry[type[Selector]] = Registry("selector")
_REGISTRY.register("zc-pt", ZeroCostPT)
_REGISTRY.register("zc-disc", ZeroCostDISC)

get = _REGISTRY.get
names = _REGISTRY.names

__all__ = ["Candidate", "Proposal", "SearchResult", "Selector", "ZeroCostDISC", "ZeroCostPT",
           "discretized", "get", "names", "orders", "search"]
