"""Ranking a black box's features by probing (captum Integrated Gradients, Feature Ablation) and
perturbation (permutation), with spread over repeats (after Karim et al. 2022).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.errors import RecipeError
from interp_core.families.rules.explain.blackbox import BlackBox, feature_names_of, flat

RANKING_METHODS = ("integrated_gradients", "feature_ablation", "permutation")
RANKING_LABELS = {
    "combined": "combined (IG + permutation)",
    "integrated_gradients": "integrated gradients",
    "feature_ablation": "feature ablation",
    "permutation": "permutation",
}


@dataclass
class FeatureImportance:
    """Importance of every feature by one method: ``scores`` (n_repeats, d), higher = more important.

    Repeats are disjoint chunks of the data (attribution methods) or independent shuffles
    (permutation); ``std`` is the spread over them.
    """

    method: str
    feature_names: list[str]
    scores: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.scores.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        return self.scores.std(axis=0, ddof=1) if len(self.scores) > 1 else np.zeros(self.scores.shape[1])

    @property
    def order(self) -> np.ndarray:
        """Feature indices, most important first (ties keep column order)."""
        return np.argsort(-self.mean, kind="stable")

    def top(self, k: int) -> list[str]:
        return [self.feature_names[i] for i in self.order[:k]]

    def table(self) -> pd.DataFrame:
        """One row per feature, most important first: rank, feature, importance, spread."""
        order = self.order
        return pd.DataFrame({
            "rank": np.arange(1, len(order) + 1),
            "feature": [self.feature_names[i] for i in order],
            "importance": self.mean[order],
            "spread": self.std[order],
            "index": order,
        })


def combine_importances(parts: list[FeatureImportance], method: str = "combined") -> FeatureImportance:
    """Average of the methods' scores after each repeat is scaled to sum 1 (so units do not matter)."""
    n_repeats = min(len(p.scores) for p in parts)
    scaled = []
    for part in parts:
        scores = np.clip(part.scores[:n_repeats], 0, None)
        totals = scores.sum(axis=1, keepdims=True)
        scaled.append(np.divide(scores, totals, out=np.zeros_like(scores), where=totals > 0))
    return FeatureImportance(method, parts[0].feature_names, np.mean(scaled, axis=0))


class FeatureRanker:
    """Rank a black box's features by attribution (captum) and perturbation, with spread over repeats.

    Parameters: ``methods`` (a subset of RANKING_METHODS), ``n_repeats`` (chunks / shuffles),
    ``max_samples`` (rows used; a seeded sample when the data is larger), ``n_steps``
    (Integrated Gradients' path steps), ``random_state``.

    Integrated Gradients and Feature Ablation attribute the logit of the class the black box
    predicts, from a baseline at the data's mean; importance = mean |attribution|. Permutation
    importance = share of the black box's predictions that change when one column is shuffled
    (it measures the model's reliance on the column, so it needs no labels).
    After ``fit``: ``importances_`` (method -> FeatureImportance), ``feature_names_``.
    """

    def __init__(self, methods: tuple[str, ...] = RANKING_METHODS, n_repeats: int = 5, max_samples: int = 1000, n_steps: int = 32, random_state: int = 0):
        self.methods = methods
        self.n_repeats = n_repeats
        self.max_samples = max_samples
        self.n_steps = n_steps
        self.random_state = random_state

    def fit(self, blackbox: BlackBox, X: np.ndarray, feature_names: list[str] | None = None) -> "FeatureRanker":
        unknown = set(self.methods) - set(RANKING_METHODS)
        if unknown:
            raise RecipeError(f"Unknown ranking method(s) {', '.join(sorted(unknown))}; expected some of: {', '.join(RANKING_METHODS)}.")
        X = flat(X)
        rng = np.random.default_rng(self.random_state)
        if len(X) > self.max_samples:
            X = X[np.sort(rng.choice(len(X), self.max_samples, replace=False))]
        if len(X) < 2 * self.n_repeats:
            raise RecipeError(f"Ranking features needs at least {2 * self.n_repeats} examples; got {len(X)}.")
        self.feature_names_ = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
        baseline = X.mean(axis=0, keepdims=True)
        predicted = blackbox.predict(X)
        self.importances_ = {}
        for method in self.methods:
            if method == "permutation":
                scores = _permutation_scores(blackbox, X, predicted, self.n_repeats, rng)
            else:
                attributions = _attributions(method, blackbox, X, baseline, predicted, self.n_steps)
                chunks = np.array_split(rng.permutation(len(X)), self.n_repeats)
                scores = np.stack([np.abs(attributions[c]).mean(axis=0) for c in chunks])
            self.importances_[method] = FeatureImportance(method, self.feature_names_, scores.astype(np.float64))
        return self

    def importance(self, method: str = "combined") -> FeatureImportance:
        return ranking_from(self.importances_, method)

    # The stored form: one (n_repeats, d) array per method, beside the model in the store.
    def to_arrays(self) -> dict[str, np.ndarray]:
        return {method: imp.scores.astype(np.float32) for method, imp in self.importances_.items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], feature_names: list[str]) -> "FeatureRanker":
        ranker = cls(methods=tuple(arrays))
        ranker.feature_names_ = list(feature_names)
        ranker.importances_ = {m: FeatureImportance(m, ranker.feature_names_, np.asarray(a, dtype=np.float64)) for m, a in arrays.items()}
        return ranker


def ranking_from(importances: dict[str, FeatureImportance], method: str = "combined") -> FeatureImportance:
    """One method's importance, or "combined": IG and permutation (whichever exist) averaged."""
    if method == "combined":
        parts = [importances[m] for m in ("integrated_gradients", "permutation") if m in importances] or list(importances.values())
        return combine_importances(parts)
    if method not in importances:
        raise RecipeError(f"No '{method}' ranking was computed; available: combined, {', '.join(importances)}.")
    return importances[method]


def _attributions(method: str, blackbox: BlackBox, X: np.ndarray, baseline: np.ndarray, predicted: np.ndarray, n_steps: int) -> np.ndarray:
    from captum.attr import FeatureAblation, IntegratedGradients

    device = blackbox.device
    inputs = torch.as_tensor(X, device=device)
    base = torch.as_tensor(baseline, device=device)
    target = torch.as_tensor(predicted, device=device)
    out = []
    batch = max(1, 8192 // max(1, n_steps)) if method == "integrated_gradients" else 512
    for i in range(0, len(X), batch):
        sl = slice(i, i + batch)
        if method == "integrated_gradients":
            attr = IntegratedGradients(blackbox.forward_flat).attribute(inputs[sl], baselines=base, target=target[sl], n_steps=n_steps)
        else:
            with torch.no_grad():
                attr = FeatureAblation(blackbox.forward_flat).attribute(inputs[sl], baselines=base, target=target[sl], perturbations_per_eval=8)
        out.append(attr.detach().cpu().numpy())
    return np.concatenate(out)


def _permutation_scores(blackbox: BlackBox, X: np.ndarray, predicted: np.ndarray, n_repeats: int, rng: np.random.Generator) -> np.ndarray:
    n, d = X.shape
    scores = np.zeros((n_repeats, d))
    for r in range(n_repeats):
        perm = rng.permutation(n)
        # Shuffle several columns' copies at once: one forward pass per block of columns.
        block = max(1, 65536 // max(n, 1))
        for start in range(0, d, block):
            cols = list(range(start, min(d, start + block)))
            stacked = np.repeat(X[None], len(cols), axis=0)
            for j, c in enumerate(cols):
                stacked[j, :, c] = X[perm, c]
            changed = blackbox.predict(stacked.reshape(-1, d)).reshape(len(cols), n) != predicted[None]
            scores[r, cols] = changed.mean(axis=1)
    return scores


def rank_features(trained, seed: int = 0) -> FeatureRanker:
    """All three rankings of a trained model's features, on its training data."""
    return FeatureRanker(random_state=seed).fit(BlackBox.from_trained(trained), trained.dataset.X_train, feature_names_of(trained.dataset))
