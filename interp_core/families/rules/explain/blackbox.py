"""The black box seen through flat (n, d) inputs, and a trained model's data in that form.

Everything in the rules family works on flat inputs X of shape (n, d) in the data's own units: the
project's MLPs standardise inside the network, so thresholds read like the user's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from interp_core.device import resolve_device
from interp_core.errors import RecipeError


class BlackBox:
    """A trained classifier seen through flat (n, d) inputs; reshapes to its input shape inside."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...], device: str | torch.device = "cpu", batch_size: int = 4096):
        self.model = model.eval()
        self.input_shape = tuple(input_shape)
        self.device = resolve_device(device)
        self.batch_size = batch_size

    @classmethod
    def from_trained(cls, trained) -> "BlackBox":
        return cls(trained.model, trained.dataset.input_shape, trained.device)

    def forward_flat(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for flat inputs (n, d) -> (n, classes); differentiable (captum calls it)."""
        return self.model(x.reshape(len(x), *self.input_shape))

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        out = [torch.softmax(self.forward_flat(X[i : i + self.batch_size].to(self.device)), dim=1).cpu() for i in range(0, len(X), self.batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, 0), dtype=np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(1)


def flat(X: np.ndarray) -> np.ndarray:
    """(n, ...) -> (n, d) float32."""
    X = np.asarray(X, dtype=np.float32)
    return X.reshape(len(X), -1)


def feature_names_of(dataset) -> list[str]:
    names = dataset.feature_names
    d = int(np.prod(dataset.input_shape))
    return list(names) if names and len(names) == d else [f"x{i}" for i in range(d)]


@dataclass
class ModelData:
    """A trained classifier's data seen flat: X_train (n, d), X_test (m, d), y_test (m,), the black
    box's predicted classes on both (blackbox_train, blackbox_test), and ``scale`` (d,), the
    per-feature standard deviation of the training data (the unit of counterfactual distances)."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    blackbox_train: np.ndarray
    blackbox_test: np.ndarray
    blackbox_proba_test: np.ndarray
    scale: np.ndarray
    feature_names: list[str]
    class_names: list[str]


def model_data(trained) -> ModelData:
    if trained.dataset.modality not in ("tabular", "image"):
        raise RecipeError(f"Rules explain tables and small images; '{trained.name}' works on {trained.dataset.modality} data.")
    blackbox = BlackBox.from_trained(trained)
    X_train, X_test = flat(trained.dataset.X_train), flat(trained.dataset.X_test)
    proba_test = blackbox.predict_proba(X_test)
    return ModelData(
        X_train=X_train, X_test=X_test, y_train=trained.dataset.y_train, y_test=trained.dataset.y_test,
        blackbox_train=blackbox.predict(X_train), blackbox_test=proba_test.argmax(1), blackbox_proba_test=proba_test,
        scale=X_train.std(axis=0), feature_names=feature_names_of(trained.dataset), class_names=list(trained.dataset.class_names),
    )
