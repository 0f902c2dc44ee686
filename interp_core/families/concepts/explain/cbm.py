"""The analyses of a concept bottleneck model: concept and class probabilities, concept accuracy
against a majority baseline, test-time intervention and the intervention curve (Koh et al. 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def concept_probabilities(model: nn.Module, X: np.ndarray, device: torch.device | str = "cpu", batch_size: int = 512) -> np.ndarray:
    """(n, k) predicted concept probabilities of a ConceptBottleneck."""
    model.eval()
    device = torch.device(device)
    tensor = torch.as_tensor(np.asarray(X, dtype=np.float32))
    parts = [model.concept_probabilities(tensor[i : i + batch_size].to(device)).cpu() for i in range(0, len(tensor), batch_size)]
    return torch.cat(parts).numpy() if parts else np.zeros((0, model.n_concepts), dtype=np.float32)


@torch.no_grad()
def class_probabilities_from_concepts(model: nn.Module, concept_values: np.ndarray, device: torch.device | str = "cpu") -> np.ndarray:
    """(n, classes) class probabilities from concept values in [0, 1]: the what-if of a CBM."""
    model.eval()
    values = torch.as_tensor(np.atleast_2d(np.asarray(concept_values, dtype=np.float32))).to(torch.device(device))
    return torch.softmax(model.forward_with_concepts(values), dim=1).cpu().numpy()


def intervene(predicted: np.ndarray, true: np.ndarray, corrected: np.ndarray) -> np.ndarray:
    """Concept values after test-time intervention: true values where ``corrected`` (n, k) is True."""
    return np.where(np.asarray(corrected, dtype=bool), np.asarray(true, dtype=np.float32), np.asarray(predicted, dtype=np.float32))


@dataclass
class InterventionCurve:
    """Task accuracy after correcting 0..k concepts (``accuracy`` (k+1,)).

    ``strategy`` "random": mean over ``n_orders`` random orders (``accuracy_std`` their spread);
    "uncertain": per example, the concepts whose predicted probability is nearest 0.5 first.
    """

    n_corrected: np.ndarray
    accuracy: np.ndarray
    accuracy_std: np.ndarray
    strategy: str

    def to_json(self) -> dict:
        return {"n_corrected": self.n_corrected.tolist(), "accuracy": self.accuracy.tolist(), "accuracy_std": self.accuracy_std.tolist(), "strategy": self.strategy}

    @classmethod
    def from_json(cls, data: dict) -> "InterventionCurve":
        return cls(np.asarray(data["n_corrected"]), np.asarray(data["accuracy"]), np.asarray(data["accuracy_std"]), data["strategy"])


def intervention_curve(model: nn.Module, predicted: np.ndarray, true: np.ndarray, y: np.ndarray, strategy: str = "random", n_orders: int = 20, seed: int = 0, device="cpu") -> InterventionCurve:
    """Test-time intervention: replace predicted concepts by true ones, 0 to all, and measure task accuracy."""
    predicted, true, y = np.asarray(predicted, dtype=np.float32), np.asarray(true, dtype=np.float32), np.asarray(y)
    n, k = predicted.shape
    rng = np.random.default_rng(seed)
    if strategy == "random":
        orders = [np.tile(rng.permutation(k), (n, 1)) for _ in range(n_orders)]
    elif strategy == "uncertain":
        orders = [np.argsort(np.abs(predicted - 0.5), axis=1, kind="stable")]
    else:
        raise ValueError(f"unknown intervention strategy {strategy!r}; expected 'random' or 'uncertain'")
    accuracy = np.zeros((len(orders), k + 1))
    for o, order in enumerate(orders):
        corrected = np.zeros((n, k), dtype=bool)
        for m in range(k + 1):
            if m:
                corrected[np.arange(n), order[:, m - 1]] = True
            probabilities = class_probabilities_from_concepts(model, intervene(predicted, true, corrected), device)
            accuracy[o, m] = float((probabilities.argmax(1) == y).mean())
    return InterventionCurve(np.arange(k + 1), accuracy.mean(axis=0), accuracy.std(axis=0), strategy)


@dataclass
class CBMReport:
    """How well one concept bottleneck model predicts concepts and classes on the test set.

    ``concept_accuracy`` (k,) per concept (probability > 0.5 vs the 0/1 label); ``concept_baseline``
    (k,) the accuracy of always answering the training set's majority label; ``curves``: strategy ->
    InterventionCurve.
    """

    mode: str
    task_accuracy: float
    concept_accuracy: np.ndarray
    concept_baseline: np.ndarray
    curves: dict[str, InterventionCurve]

    @property
    def mean_concept_accuracy(self) -> float:
        return float(np.mean(self.concept_accuracy))

    def to_json(self) -> dict:
        return {
            "mode": self.mode,
            "task_accuracy": self.task_accuracy,
            "concept_accuracy": self.concept_accuracy.tolist(),
            "concept_baseline": self.concept_baseline.tolist(),
            "curves": {name: curve.to_json() for name, curve in self.curves.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> "CBMReport":
        return cls(
            data["mode"],
            float(data["task_accuracy"]),
            np.asarray(data["concept_accuracy"]),
            np.asarray(data["concept_baseline"]),
            {name: InterventionCurve.from_json(curve) for name, curve in data["curves"].items()},
        )


def cbm_report(model: nn.Module, mode: str, X: np.ndarray, y: np.ndarray, concepts: np.ndarray, train_concepts: np.ndarray, seed: int = 0, device="cpu") -> CBMReport:
    """Task accuracy, per-concept accuracy against a majority baseline, and both intervention curves."""
    predicted = concept_probabilities(model, X, device)
    concepts = np.asarray(concepts, dtype=np.float32)
    task = class_probabilities_from_concepts(model, predicted, device).argmax(1)
    majority = (np.asarray(train_concepts).mean(axis=0) > 0.5).astype(np.float32)
    return CBMReport(
        mode=mode,
        task_accuracy=float((task == np.asarray(y)).mean()),
        concept_accuracy=((predicted > 0.5) == (concepts > 0.5)).mean(axis=0),
        concept_baseline=(concepts == majority).mean(axis=0),
        curves={strategy: intervention_curve(model, predicted, concepts, y, strategy, seed=seed, device=device) for strategy in ("random", "uncertain")},
    )
