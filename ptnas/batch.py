"""A minibatch as every part of the library passes it: `(inputs, targets)`.

Its own tiny module so that data, proxies and the supernet trainer can name it without importing
each other."""
from __future__ import annotations

import torch

Batch = tuple[torch.Tensor, torch.Tensor]
