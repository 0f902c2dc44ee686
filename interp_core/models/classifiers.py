"""Plain classifiers the family pages build on: an MLP for tables and images, an FCN for series.

Inputs keep their original units: the first layer standardises with buffers fitted on the
training set, so explanations (rules, attributions) speak in the user's numbers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Standardize(nn.Module):
    """(x - mean) / std with statistics as buffers (saved in the checkpoint, not trained)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("std", torch.ones(shape))

    def fit(self, X: np.ndarray, axes: tuple[int, ...]) -> "Standardize":
        mean = X.mean(axis=axes, keepdims=True)[0]
        std = X.std(axis=axes, keepdims=True)[0]
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape))
        self.std.copy_(torch.as_tensor(np.where(std > 1e-8, std, 1.0), dtype=torch.float32).reshape(self.std.shape))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MLPClassifier(nn.Module):
    """Flatten -> standardise -> [Linear, ReLU, Dropout] x len(hidden) -> Linear."""

    def __init__(self, input_shape: list[int], n_classes: int, hidden: list[int] = (64,), dropout: float = 0.1):
        super().__init__()
        self.input_shape = tuple(input_shape)
        n_in = int(np.prod(self.input_shape))
        self.scale = Standardize((n_in,))
        layers: list[nn.Module] = []
        width = n_in
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.scale.fit(X.reshape(len(X), -1), axes=(0,))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.scale(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class FCN1d(nn.Module):
    """Fully convolutional network for series (Wang et al. 2017): three conv blocks, global average pool.

    Input (n, channels, time); channel-wise standardisation from the training set.
    """

    def __init__(self, input_shape: list[int], n_classes: int, channels: list[int] = (32, 64, 32), kernels: list[int] = (7, 5, 3)):
        super().__init__()
        self.input_shape = tuple(input_shape)
        in_ch = self.input_shape[0]
        self.scale = Standardize((in_ch, 1))
        blocks: list[nn.Module] = []
        for out_ch, k in zip(channels, kernels):
            blocks += [nn.Conv1d(in_ch, out_ch, k, padding=k // 2), nn.BatchNorm1d(out_ch), nn.ReLU()]
            in_ch = out_ch
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(in_ch, n_classes)

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.scale.fit(X, axes=(0, 2))

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.scale(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(x).mean(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))
