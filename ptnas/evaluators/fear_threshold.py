"""FEAR's stage-1 threshold: the training accuracy a shallow learner reaches on the dataset.

Dey et al. ("FEAR: Ranking Architectures by their Feature Extraction Capabilities") train a shallow
learner, HOG features into an MLP with two hidden fully-connected layers, on the training split, and use
its training accuracy as the accuracy every candidate must first reach with regular training (0.6 on
CIFAR-10, 0.3 on CIFAR-100, 0.2 on ImageNet16-120 in the paper). HOG comes from scikit-image
(9 orientations, 8×8-pixel cells, 2×2-cell blocks, per image over its RGB channels); the MLP
(256 and 256 hidden units, ReLU) trains with Adam (lr 1e-3) for 20 epochs at batch 256 from a fixed
seed, and its accuracy on the whole training split in eval mode is the threshold.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.feature import hog
from torch import nn

from ptnas.data.decoded import DecodedImages

HIDDEN, EPOCHS, BATCH_SIZE, LR = 256, 20, 256, 1e-3


def hog_features(images: DecodedImages) -> torch.Tensor:
    """HOG descriptor of every image (uint8 RGB images; float images are rescaled to [0, 1] first)."""
    x = images.images.cpu()
    if x.dtype != torch.uint8:
        low, high = x.amin(), x.amax()
        x = (x - low) / (high - low + 1e-12)
    pictures = x.permute(0, 2, 3, 1).numpy()
    rows = [hog(p, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), channel_axis=-1)
            for p in pictures]
    return torch.from_numpy(np.stack(rows)).float()


def shallow_learner_accuracy(images: DecodedImages, seed: int = 0, epochs: int = EPOCHS) -> float:
    """Training accuracy (a fraction in [0, 1]) of the HOG + two-hidden-layer MLP on `images`."""
    features = hog_features(images)
    labels = images.labels.cpu()
    features = (features - features.mean(0)) / (features.std(0) + 1e-6)
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mlp = nn.Sequential(nn.Linear(features.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                            nn.Linear(HIDDEN, images.num_classes))
    optimizer = torch.optim.Adam(mlp.parameters(), lr=LR)
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=g)
        for start in range(0, len(labels), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(mlp(features[idx]), labels[idx]).backward()
            optimizer.step()
    mlp.eval()
    with torch.no_grad():
        return float((mlp(features).argmax(1) == labels).float().mean())
