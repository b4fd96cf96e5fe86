"""Search spaces by name: `spaces.get("nb201")`, `spaces.names()`."""
from ptnas.registry import Registry
from ptnas.spaces.base import SearchSpace
from ptnas.spaces.nb201 import NB201Space

_REGISTRY: Registry[SearchSpace] = Registry("space")
_REGISTRY.register("nb201", NB201Space())

get = _REGISTRY.get
names = _REGISTRY.names

__all__ = ["SearchSpace", "get", "names"]
