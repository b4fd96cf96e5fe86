"""FEAR's stage-1 threshold: the training accuracy a shallow learner reaches on the dataset.

Dey et al. ("FEAR: Ranking Architectures by their Feature Extraction Capabilities") train a shallow
learner, HOG features into an MLP with two hidden fully-connected layers, on the training split, and use
its training accuracy as the accuracy every candidate must first reach with regular training (0.6 on
CIFAR-10, 0.3 on CIFAR-100, 0.2 on ImageNet16-120 in the paper). HOG comes from scikit-image
(9 orientations, 8×8-pixel cells, 2×2-cell blocks, per image over its RGB channels); the MLP
(256 and 256 hidden units, ReLU) trains with Adam (lr 1e-3) at batch 256 from a fixed seed.

How long it trains decides its training accuracy: on a small training split an MLP fits it completely
(on the 5,000-image JPEG CIFAR-10 half: 0.70 after 5 epochs, 0.90 after 10, 1.0 after 20; 0.81 at the
epoch of its best held-out accuracy), which would ask every candidate to memorise its data. On the full
CIFAR-10 (50,000 images) a shallow learner cannot memorise, and its training accuracy (the paper's 0.6)
is close to what it reaches on unseen images. So ptnas measures that directly: 10 % of the split is held
out, the MLP trains until its accuracy there has not improved for 5 epochs (at most 100), and the
threshold is its best accuracy on the held-out images. On data too small to memorise the two agree; on
a subset, this one keeps the paper's meaning ("what a shallow learner can extract") instead of a
memorisation level.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ptnas.data.decoded import DecodedImages

HIDDEN, MAX_EPOCHS, PATIENCE, BATCH_SIZE, LR, HELD_OUT = 256, 100, 5, 256, 1e-3, 0.1


def hog_features(images: DecodedImages) -> torch.Tensor:
    """HOG descriptor of every image (uint8 RGB images; float images are rescaled to [0, 1] first)."""
    from skimage.feature import hog  # scikit-image loads with the first FEAR evaluation, not with every program

    x = images.images.cpu()
    if x.dtype != torch.uint8:
        low, high = x.amin(), x.amax()
        x = (x - low) / (high - low + 1e-12)
    pictures = x.permute(0, 2, 3, 1).numpy()
    rows = [hog(p, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), channel_axis=-1)
            for p in pictures]
    return torch.from_numpy(np.stack(rows)).float()


def shallow_learner_accuracy(images: DecodedImages, seed: int = 0) -> float:
    """Accuracy (a fraction in [0, 1]) the HOG + two-hidden-layer MLP reaches on a held-out tenth of
    `images` when trained on the rest (its best epoch)."""
    features = hog_features(images)
    labels = images.labels.cpu()
    features = (features - features.mean(0)) / (features.std(0) + 1e-6)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=g)
    cut = max(1, int(len(labels) * HELD_OUT))
    held, fit = order[:cut], order[cut:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mlp = nn.Sequential(nn.Linear(features.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                            nn.Linear(HIDDEN, images.num_classes))
    optimizer = torch.optim.Adam(mlp.parameters(), lr=LR)

    def accuracy(idx: torch.Tensor) -> float:
        mlp.eval()
        with torch.no_grad():
            value = float((mlp(features[idx]).argmax(1) == labels[idx]).float().mean())
        mlp.train()
        return value

    best_held, since = -1.0, 0
    for _ in range(MAX_EPOCHS):
        shuffled = fit[torch.randperm(len(fit), generator=g)]
        for start in range(0, len(shuffled), BATCH_SIZE):
            idx = shuffled[start:start + BATCH_SIZE]
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(mlp(features[idx]), labels[idx]).backward()
            optimizer.step()
        held_acc = accuracy(held)
        if held_acc > best_held:
            best_held, since = held_acc, 0
        else:
            since += 1
            if since >= PATIENCE:
                break
    return best_held
