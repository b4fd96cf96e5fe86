"""A drop-in synthetic CIFAR-10 that needs no files (after Dey et al.'s synthetic CIFAR-10 proxy task).

Images are i.i.d. Gaussian 3×32×32 tensors (already "normalised"). Ten small random conv nets (a
3×3 stride-2 conv to 8 channels, ReLU, global average pooling, a linear read-out) each respond to every image;
an image's label is the net that responds most, after standardising each net's responses over the
dataset so the classes are roughly balanced. The task is learnable: labels are a fixed function of
the pixels. Everything is generated from `seed` with a private generator.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

NUM_CLASSES = 10


def synthetic_cifar10(n: int = 10000, seed: int = 0, test: bool = False) -> TensorDataset:
    """`n` labelled images; `test=True` draws a disjoint set labelled by the same ten networks."""
    g = torch.Generator().manual_seed(seed)
    # The ten teachers as one conv with 10·8 output channels and a per-teacher linear read-out.
    conv_w = torch.randn(NUM_CLASSES * 8, 3, 3, 3, generator=g) * 0.5
    conv_b = torch.randn(NUM_CLASSES * 8, generator=g) * 0.5
    head_w = torch.randn(NUM_CLASSES, 8, generator=g) * 0.5
    head_b = torch.randn(NUM_CLASSES, generator=g) * 0.5

    def respond(x: torch.Tensor) -> torch.Tensor:
        out = []
        for chunk in x.split(1000):  # bounded memory
            h = torch.relu(nn.functional.conv2d(chunk, conv_w, conv_b, stride=2, padding=1)).mean((2, 3))
            out.append(torch.einsum("nkc,kc->nk", h.view(-1, NUM_CLASSES, 8), head_w) + head_b)
        return torch.cat(out)

    # Statistics for standardising the responses come from the training draw, so both splits share them.
    train_x = torch.randn(n, 3, 32, 32, generator=g)
    with torch.no_grad():
        train_r = respond(train_x)
        mean, std = train_r.mean(0), train_r.std(0)
        if test:
            x = torch.randn(n, 3, 32, 32, generator=g)
            r = respond(x)
        else:
            x, r = train_x, train_r
        y = ((r - mean) / std).argmax(1)
    return TensorDataset(x, y)
