"""Zero-cost proxies by name: `proxies.get("synflow")(model, (x, y)) -> float`, `proxies.names()`."""
import torch

from ptnas.proxies.base import BN_MODES, Batch, Proxy, preserved
from ptnas.proxies.nwot import nwot
from ptnas.proxies.synflow import synflow
from ptnas.registry import Registry

_REGISTRY: Registry[Proxy] = Registry("proxy")


def register(proxy: Proxy) -> Proxy:
    return _REGISTRY.register(proxy.name, proxy)


register(Proxy("nwot", nwot, higher_is_better=True, needs_labels=False, bn="batch",
               dtype=torch.float64, passes="1 forward"))
register(Proxy("synflow", synflow, higher_is_better=True, needs_data=False, needs_labels=False,
               bn="bypass", dtype=torch.float64, passes="1 forward + 1 backward (batch 1)"))

get = _REGISTRY.get
names = _REGISTRY.names

__all__ = ["BN_MODES", "Batch", "Proxy", "get", "names", "preserved", "register"]
