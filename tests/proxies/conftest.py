"""Shared fixtures: the 2-layer network of the hand-computed tests, and a tiny NB201 setting."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

W1 = np.array([[[[0.5, -1.0], [2.0, 0.25]]],
               [[[-0.75, 0.5], [1.0, -1.5]]]])          # conv: 2 output channels, 1×2×2 kernel
W2 = np.array([[1.0, -2.0], [0.5, 1.5]])               # linear 2 → 2
X = np.array([[[[0.0, 0.5], [1.0, 0.0]]],
              [[[0.5, -1.0], [2.0, 1.0]]],
              [[[-2.0, 1.0], [0.5, -0.5]]],
              [[[1.5, 0.5], [1.0, 2.0]]]])             # 4 samples, 1×2×2; ReLU codes 11, 10, 01, 10
Y = np.array([0, 1, 1, 0])


class TwoLayer(nn.Module):
    """conv (1→2 channels, 2×2 kernel over the whole 2×2 input, no bias) → ReLU → linear (2→2, no bias)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 2, bias=False)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(W1))
            self.fc.weight.copy_(torch.tensor(W2))

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).flatten(1))


@pytest.fixture
def two_layer():
    return TwoLayer().double()


@pytest.fixture
def two_layer_batch():
    return torch.tensor(X), torch.tensor(Y)


class ByHand:
    """The 2-layer network's forward and loss gradients written out (float64 numpy), no autograd."""

    def __init__(self, w1=W1, w2=W2, x=X, y=Y):
        self.w1 = w1.reshape(2, 4)
        self.w2 = w2
        self.x = x.reshape(len(x), 4)
        self.y = y

    def forward(self, w1=None, w2=None):
        w1 = self.w1 if w1 is None else w1
        w2 = self.w2 if w2 is None else w2
        h = self.x @ w1.T                      # conv outputs (n, 2)
        a = np.maximum(h, 0)
        z = a @ w2.T                           # logits (n, 2)
        return h, a, z

    def grads(self, w1=None, w2=None):
        """(dL/dW1 as 2×4, dL/dW2, dL/dh, dL/dz) for L = mean cross-entropy."""
        w2_ = self.w2 if w2 is None else w2
        h, a, z = self.forward(w1, w2)
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - np.eye(2)[self.y]) / len(self.y)
        dw2 = dz.T @ a
        dh = (dz @ w2_) * (h > 0)
        dw1 = dh.T @ self.x
        return dw1, dw2, dh, dz


@pytest.fixture
def by_hand():
    return ByHand()


def tiny_batch(n: int = 8, seed: int = 0, classes: int = 10):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, classes, (n,), generator=g)
