"""Search spaces by name: `spaces.get("nb201" | "darts" | "mobilenet" | "macro")`, `spaces.names()`."""
from ptnas.registry import Registry
from ptnas.spaces.base import SearchSpace
from ptnas.spaces.darts import DartsSpace
from ptnas.spaces.macro import MacroSpace
from ptnas.spaces.mobilenet import MobileNetSpace
from ptnas.spaces.nb201 import NB201Space

_REGISTRY: Registry[SearchSpace] = Registry("space", group="ptnas.spaces")
_REGISTRY.register("nb201", NB201Space())
_REGISTRY.register("darts", DartsSpace())
_REGISTRY.register("mobilenet", MobileNetSpace())
_REGISTRY.register("macro", MacroSpace())

get = _REGISTRY.get
register = _REGISTRY.register  # register(name, item), or @register(name); a taken name is refused
names = _REGISTRY.names

__all__ = ["SearchSpace", "get", "register", "names"]
