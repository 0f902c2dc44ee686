"""Models of the Concepts page: a small CNN that TCAV probes, and concept bottleneck models.

``ConceptCNN`` (arch "concept-cnn"): standardise -> block1 (conv 3x3, ReLU, max-pool 2) ->
block2 (same) -> adaptive average pool to ``pool`` x ``pool`` -> hidden (Linear, ReLU) -> head.
Its named layers ``block1``, ``block2``, ``hidden`` are where TCAV reads activations; it keeps
positions (no global pooling), so position concepts stay visible.

``ConceptBottleneck`` (arch "cbm"): x -> encoder -> concept logits (k) -> sigmoid -> head -> class
logits (Koh et al. 2020). The encoder is the CNN body for images and an MLP body otherwise. The
head reads concept probabilities in [0, 1], so a user's value or a true 0/1 label can replace any
of them (test-time intervention, ``forward_with_concepts``). ``forward`` returns class logits, so
the model is a plain classifier for the rest of the app; ``embed`` returns concept probabilities.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interp_core.models.classifiers import Standardize

CBM_MODES = ("independent", "sequential", "joint")


class ConvBody(nn.Module):
    """The shared image body; ``forward`` returns the hidden activations.

    standardise -> block1, block2 (conv 3x3, ReLU, max-pool 2) -> block3 (conv 3x3, ReLU, adaptive
    max-pool to 2x2: shapes are found wherever they are, while left/right stays visible) -> hidden.
    """

    def __init__(self, input_shape: list[int], channels: list[int] = (8, 16, 32), hidden: int = 32):
        super().__init__()
        in_ch = int(input_shape[0])
        self.scale = Standardize((in_ch, 1, 1))
        c1, c2, c3 = channels
        self.block1 = nn.Sequential(nn.Conv2d(in_ch, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.block3 = nn.Sequential(nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(2))
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(c3 * 4, hidden), nn.ReLU())
        self.width = hidden

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.scale.fit(X, axes=(0, 2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.block3(self.block2(self.block1(self.scale(x)))))


class DenseBody(nn.Module):
    """The shared body for tables (and any flattened input): standardise -> [Linear, ReLU] per hidden width.

    Each layer is its own named module (``layer1``, ``layer2``...) so TCAV can read it.
    """

    def __init__(self, input_shape: list[int], hidden: list[int] = (32, 16), dropout: float = 0.0):
        super().__init__()
        n_in = int(np.prod(input_shape))
        self.scale = Standardize((n_in,))
        width = n_in
        self.names: list[str] = []
        for i, h in enumerate(hidden, start=1):
            layer = nn.Sequential(nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)) if dropout else nn.Sequential(nn.Linear(width, h), nn.ReLU())
            self.add_module(f"layer{i}", layer)
            self.names.append(f"layer{i}")
            width = h
        self.width = width

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.scale.fit(X.reshape(len(X), -1), axes=(0,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scale(x.flatten(1))
        for name in self.names:
            h = getattr(self, name)(h)
        return h


def make_body(input_shape: list[int], body: str, channels, hidden) -> nn.Module:
    if body == "conv":
        return ConvBody(input_shape, list(channels), int(hidden if isinstance(hidden, int) else hidden[0]))
    if body == "dense":
        return DenseBody(input_shape, [hidden] if isinstance(hidden, int) else list(hidden))
    raise ValueError(f"unknown body {body!r}; expected 'conv' or 'dense'")


class _BodyHead(nn.Module):
    """A feature body (whose layers TCAV probes) followed by a linear layer to class logits."""

    def __init__(self, input_shape: list[int], body: nn.Module, width: int, n_classes: int):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.body = body
        self.head = nn.Linear(width, n_classes)

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.body.fit_input_scale(X)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class ConceptCNN(_BodyHead):
    """The classifier TCAV runs on for images: ConvBody -> Linear to class logits."""

    def __init__(self, input_shape: list[int], n_classes: int, channels: list[int] = (8, 16, 32), hidden: int = 32):
        super().__init__(input_shape, ConvBody(list(input_shape), list(channels), hidden), hidden, n_classes)


class ConceptMLP(_BodyHead):
    """The classifier TCAV runs on for tables: DenseBody -> Linear to class logits."""

    def __init__(self, input_shape: list[int], n_classes: int, hidden: list[int] = (32, 16)):
        body = DenseBody(list(input_shape), list(hidden))
        super().__init__(input_shape, body, body.width, n_classes)


class ConceptBottleneck(nn.Module):
    """x -> concept logits (n, k) -> sigmoid -> head -> class logits (n, classes).

    ``head_hidden`` empty gives a linear head (its weights say how each concept moves each class).
    ``concept_weight`` is lambda of the joint loss CE(y) + lambda * BCE(c); the other modes train
    the encoder and head separately (see interp_core.families.concepts).
    """

    def __init__(
        self,
        input_shape: list[int],
        n_classes: int,
        n_concepts: int,
        body: str = "conv",
        channels: list[int] = (8, 16, 32),
        hidden=32,
        head_hidden: list[int] = (),
        concept_weight: float = 1.0,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.n_concepts = int(n_concepts)
        self.concept_weight = float(concept_weight)
        self.encoder = make_body(list(input_shape), body, channels, hidden)
        self.concept_layer = nn.Linear(self.encoder.width, self.n_concepts)
        layers: list[nn.Module] = []
        width = self.n_concepts
        for h in head_hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.head = nn.Sequential(*layers)

    def fit_input_scale(self, X: np.ndarray) -> None:
        self.encoder.fit_input_scale(X)

    def concept_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.concept_layer(self.encoder(x))

    def concept_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.concept_logits(x))

    def forward_with_concepts(self, concepts: torch.Tensor) -> torch.Tensor:
        """Class logits from concept values in [0, 1] (predicted, true, or the user's)."""
        return self.head(concepts)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.concept_probabilities(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.concept_probabilities(x))

    # -- losses of the three training modes (the fit loop calls them with batches) ----------
    def concept_loss(self, x: torch.Tensor, concepts: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(self.concept_logits(x), concepts)

    def joint_loss(self, x: torch.Tensor, y: torch.Tensor, concepts: torch.Tensor) -> torch.Tensor:
        logits = self.concept_logits(x)
        task = F.cross_entropy(self.head(torch.sigmoid(logits)), y)
        return task + self.concept_weight * F.binary_cross_entropy_with_logits(logits, concepts)


def tcav_layers(model: nn.Module) -> dict[str, str]:
    """Display name -> module path of the layers TCAV reads, for every architecture of this family."""
    if isinstance(model, ConceptBottleneck):
        body, prefix = model.encoder, "encoder."
        layers = _body_layers(body, prefix)
        layers["concepts"] = "concept_layer"
        return layers
    if isinstance(model, (ConceptCNN, ConceptMLP)):
        return _body_layers(model.body, "body.")
    raise ValueError(f"TCAV does not know the layers of {type(model).__name__}")


def _body_layers(body: nn.Module, prefix: str) -> dict[str, str]:
    """The last dense layer is read before its ReLU: after it, the gradient of a linear head is
    the same for every example and TCAV scores could only be 0 or 1."""
    if isinstance(body, ConvBody):
        return {"block1": f"{prefix}block1", "block2": f"{prefix}block2", "block3": f"{prefix}block3", "hidden": f"{prefix}hidden.1"}
    layers = {name: f"{prefix}{name}" for name in body.names}
    layers[body.names[-1]] = f"{prefix}{body.names[-1]}.0"
    return layers
