"""Selection policies and edge orders by name: `selectors.get("zc-pt")`, `orders.get("random")`."""
from ptnas.registry import Registry
from ptnas.selectors import orders
from ptnas.selectors.base import Selector, discretized
from ptnas.selectors.darts_alpha import DartsAlpha
from ptnas.selectors.darts_pt import DartsPT
from ptnas.selectors.proposals import Candidate, Proposal, SearchResult, search
from ptnas.selectors.zero_cost import ZeroCostDISC, ZeroCostPT

_REGISTRY: Registry[type[Selector]] = Registry("selector", group="ptnas.selectors")
_REGISTRY.register("zc-pt", ZeroCostPT)
_REGISTRY.register("zc-disc", ZeroCostDISC)
_REGISTRY.register("darts-alpha", DartsAlpha)
_REGISTRY.register("darts-pt", DartsPT)

get = _REGISTRY.get
register = _REGISTRY.register  # register(name, item), or @register(name); a taken name is refused
names = _REGISTRY.names
DEFAULT = "zc-pt"  # search.py's --selector when no --strategy is given

__all__ = ["Candidate", "DartsAlpha", "DartsPT", "Proposal", "SearchResult", "Selector", "ZeroCostDISC", "ZeroCostPT",
           "discretized", "get", "register", "names", "orders", "search"]
