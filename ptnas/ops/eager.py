"""Whether a forward runs eagerly on ordinary tensors, and whether modules are hooked: the conditions for the
ops' shortcuts (ptnas/ops/pooling.py, relu.py, folded.py) and the chain prefix cache (ptnas/supernet/chain.py).
Under tracing, compilation or a dispatch mode (FLOP counting, fake tensors) the library's own ops run, so
exported graphs and counted costs see ordinary layers."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode

_compiling = getattr(torch.compiler, "is_compiling", lambda: False)  # torch < 2.3 has none


def eager(x: torch.Tensor) -> bool:
    """x is a plain tensor (no subclass, no proxy) outside tracing, compilation and dispatch modes."""
    return (type(x) is torch.Tensor and not torch.jit.is_tracing() and not _compiling()
            and _get_current_dispatch_mode() is None)


_GLOBAL_HOOKS = ("_global_forward_pre_hooks", "_global_forward_hooks", "_global_backward_pre_hooks",
                 "_global_backward_hooks", "_global_forward_hooks_always_called")
_MODULE_HOOKS = ("_forward_pre_hooks", "_forward_hooks", "_forward_pre_hooks_with_kwargs",
                 "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_backward_hooks",
                 "_backward_pre_hooks")


def global_hooks() -> bool:
    """Some hook is registered for every module (`nn.modules.module.register_module_forward_hook`, ...)."""
    from torch.nn.modules import module
    return any(getattr(module, name, None) for name in _GLOBAL_HOOKS)


def hooked(m: nn.Module) -> bool:
    """m has a hook of its own: a shortcut that skips calling m would skip the hook."""
    return any(getattr(m, name, None) for name in _MODULE_HOOKS)
