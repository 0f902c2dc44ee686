"""The Rules page's black box for wide tables: the project's MLP with a group-lasso penalty on its
input weights, so it learns to lean on few columns and generalises when most columns are noise.

The penalty only shapes training; the trained network is an ordinary MLP the page treats as a
black box (it is probed, never read).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from interp_core.models.classifiers import MLPClassifier


class SparseInputMLP(MLPClassifier):
    """MLPClassifier + ``group_lasso`` x sum over input columns of the L2 norm of their first-layer weights."""

    def __init__(self, input_shape: list[int], n_classes: int, hidden: list[int] = (64,), dropout: float = 0.1, group_lasso: float = 1e-3):
        super().__init__(input_shape, n_classes, hidden, dropout)
        self.group_lasso = float(group_lasso)

    def input_weight_norms(self) -> torch.Tensor:
        """(n_inputs,) L2 norm of each input column's weights in the first layer."""
        first = next(m for m in self.body if isinstance(m, torch.nn.Linear)) if len(self.body) else self.head
        return first.weight.norm(dim=0)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(x), y) + self.group_lasso * self.input_weight_norms().sum()
