"""The one-hidden-layer network of the group-operations papers (Chughtai et al. 2023; Wu, Jaburi,
Drori, Gross 2024): embeddings of the left and the right element, a hidden ReLU layer, an
unembedding to one logit per group element.

    pre(x, y) = W [E_left[x]; E_right[y]]      (or E_left[x] + E_right[y] when embed_dim is 0)
    logits(x, y) = ReLU(pre(x, y)) U

Optional for the corrupted-label studies (Doshi et al.): BatchNorm on the pre-activations and dropout
on the hidden activations (training only). In evaluation BatchNorm is a per-neuron affine map, folded
into the left / right arrays by ``parts()`` (the shift goes to the left element's part, which every
pair has exactly once), so the analysis sees the same function.

There are no other biases, so every number the explanation reads is a function of the elements. The
input is a float tensor (n, 2) of element indices (the shared Dataset stores X as float32), so the
shared evaluate/predict code works on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class NetworkParts:
    """The network as four arrays an analysis can read (and a test can build by hand).

    left, right: (|G|, m) what each left / right element adds to each neuron's pre-activation;
    unembed: (m, |G|) each neuron's vote for each answer.
    """

    left: np.ndarray
    right: np.ndarray
    unembed: np.ndarray

    @property
    def n_neurons(self) -> int:
        return self.left.shape[1]

    @property
    def order(self) -> int:
        return self.left.shape[0]

    def hidden(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(len(x), m) ReLU activations on the pairs (x, y)."""
        return np.maximum(self.left[x] + self.right[y], 0.0)

    def logits(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.hidden(x, y) @ self.unembed

    def with_(self, **changes) -> "NetworkParts":
        return NetworkParts(**{"left": self.left, "right": self.right, "unembed": self.unembed, **changes})


class GroupMLP(nn.Module):
    def __init__(self, n_elements: int, hidden: int = 128, embed_dim: int = 0, init_scale: float = 1.0,
                 dropout: float = 0.0, batchnorm: bool = False, **_ignored):
        super().__init__()
        self.n_elements, self.hidden_size, self.embed_dim = int(n_elements), int(hidden), int(embed_dim)
        width = self.embed_dim or self.hidden_size
        self.embed_left = nn.Parameter(torch.randn(n_elements, width) * init_scale / width**0.5)
        self.embed_right = nn.Parameter(torch.randn(n_elements, width) * init_scale / width**0.5)
        self.mix = nn.Linear(2 * width, self.hidden_size, bias=False) if self.embed_dim else None
        self.unembed = nn.Linear(self.hidden_size, n_elements, bias=False)
        self.norm = nn.BatchNorm1d(self.hidden_size) if batchnorm else None
        self.drop = nn.Dropout(float(dropout)) if dropout else None

    def _pre(self, x: torch.Tensor) -> torch.Tensor:
        x = x.long()
        left, right = self.embed_left[x[:, 0]], self.embed_right[x[:, 1]]
        pre = left + right if self.mix is None else self.mix(torch.cat([left, right], dim=1))
        return pre if self.norm is None else self.norm(pre)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(n, m) hidden ReLU activations."""
        return torch.relu(self._pre(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(x)
        return self.unembed(hidden if self.drop is None else self.drop(hidden))

    def weight_norm(self) -> float:
        return float(torch.sqrt(sum((p.detach() ** 2).sum() for p in self.parameters())))

    @torch.no_grad()
    def parts(self) -> NetworkParts:
        """The network folded into (left, right, unembed) arrays in float64 (exact same function)."""
        left = self.embed_left.detach().double()
        right = self.embed_right.detach().double()
        if self.mix is not None:
            weight = self.mix.weight.detach().double()  # (m, 2d)
            left, right = left @ weight[:, : self.embed_dim].T, right @ weight[:, self.embed_dim :].T
        if self.norm is not None:  # evaluation BatchNorm: pre * scale + shift, per neuron
            norm = self.norm
            scale = norm.weight.detach().double() / torch.sqrt(norm.running_var.double() + norm.eps)
            shift = norm.bias.detach().double() - norm.running_mean.double() * scale
            left, right = left * scale + shift, right * scale
        return NetworkParts(left.cpu().numpy(), right.cpu().numpy(), self.unembed.weight.detach().double().T.cpu().numpy())
