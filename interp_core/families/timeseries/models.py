"""Time-series classifiers beside the shared FCN (``fcn`` in classifiers.py): a small transformer,
and the FCN for padded variable-length series.

Both follow the classifier contract: input (n, channels, time), ``forward -> logits``,
``embed -> (n, d)``, channel-wise standardisation fitted on the training set. Non-linearities
are nn.Module instances used once each, so captum's DeepLift can find and override them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from interp_core.models.classifiers import FCN1d, Standardize


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        attended, _ = self.attention(h, h, h, need_weights=False)
        x = x + self.dropout(attended)
        return x + self.dropout(self.mlp(self.norm2(x)))


class SeriesTransformer(nn.Module):
    """A small transformer for series: patch embedding (a strided 1-D convolution), learned positions,
    ``n_layers`` pre-norm encoder blocks, mean over tokens, linear head.

    Input (n, channels, time); the series is cut into ceil(time / patch) tokens (zero-padded at the end).
    """

    def __init__(self, input_shape: list[int], n_classes: int, d_model: int = 32, n_heads: int = 4, n_layers: int = 2, d_ff: int = 64, patch: int = 5, dropout: float = 0.1):
        super().__init__()
        self.input_shape = tuple(input_shape)
        channels, length = self.input_shape
        self.patch = int(patch)
        self.n_tokens = math.ceil(length / self.patch)
        self.pad = self.n_tokens * self.patch - length
        self.scale = Standardize((channels, 1))
        self.patch_embed = nn.Conv1d(channels, d_model, kernel_size=self.patch, stride=self.patch)
        self.position = nn.Parameter(torch.randn(1, self.n_tokens, d_model) * 0.02)
        self.blocks = nn.Sequential(*[EncoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.scale.fit(X, axes=(0, 2))

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        x = self.scale(x)
        if self.pad:
            x = nn.functional.pad(x, (0, self.pad))
        return self.patch_embed(x).transpose(1, 2) + self.position

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(self.tokens(x))).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class MaskedFCN1d(FCN1d):
    """The FCN for zero-padded variable-length series whose last input channel is 1 on observed steps.

    Data channels are standardised, then multiplied by that channel, and the global average pool
    runs over observed steps only: padding cannot change the prediction, so every attribution
    method gives padded steps of the data channels exactly zero.
    """

    def __init__(self, input_shape: list[int], n_classes: int, channels: list[int] = (32, 64, 32), kernels: list[int] = (7, 5, 3)):
        data_shape = [input_shape[0] - 1, *input_shape[1:]]
        super().__init__(data_shape, n_classes, channels, kernels)
        self.input_shape = tuple(input_shape)

    def fit_input_scale(self, X: np.ndarray) -> None:
        observed = X[:, -1:, :] > 0.5
        data = X[:, :-1, :]
        count = observed.sum()
        mean = (data * observed).sum(axis=(0, 2)) / count
        std = np.sqrt((((data - mean[None, :, None]) ** 2) * observed).sum(axis=(0, 2)) / count)
        self.scale.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.scale.mean.shape))
        self.scale.std.copy_(torch.as_tensor(np.where(std > 1e-8, std, 1.0), dtype=torch.float32).reshape(self.scale.std.shape))

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        observed = x[:, -1:, :]
        return self.features(self.scale(x[:, :-1, :]) * observed) * observed

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        observed = x[:, -1:, :]
        return self.feature_maps(x).sum(dim=-1) / observed.sum(dim=-1).clamp_min(1.0)
