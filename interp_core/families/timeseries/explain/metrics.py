"""How faithful attributions are, and maps of them.

- ``ground_truth_scores``: TimeX's AUPRC, AUP and AUR (per example: min-max normalise the
  attribution, average precision against the mask, areas under precision and recall over the
  thresholds of sklearn's precision-recall curve); examples whose mask is empty are skipped.
- ``deletion_insertion``: replace the most attributed steps first (deletion: by the baseline;
  insertion: the baseline gets the original values back) and follow the probability of the
  target class; the areas under both curves (x = share of steps, 0 to 1).
- ``explanation_map``: UMAP (or PCA) of per-example normalised attribution maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from interp_core.errors import InterpError
from interp_core.families.timeseries.explain.attribution import MODEL_LOCK, as_series, model_device, series_targets


# -- scores against ground truth (TimeX) ---------------------------------------------------------
@dataclass
class GroundTruthScores:
    """Per-example TimeX scores, (n,) each; NaN where the example's mask is empty."""

    auprc: np.ndarray
    aup: np.ndarray
    aur: np.ndarray

    @property
    def scored(self) -> np.ndarray:
        return ~np.isnan(self.auprc)

    def mean(self) -> dict[str, float | None]:
        if not self.scored.any():
            return {"auprc": None, "aup": None, "aur": None}
        return {k: round(float(np.nanmean(getattr(self, k))), 6) for k in ("auprc", "aup", "aur")}


def normalise(attributions: np.ndarray, absolute: bool = True) -> np.ndarray:
    """Per-example min-max scaling to [0, 1] (of |a| when ``absolute``), shape kept."""
    a = np.abs(attributions) if absolute else np.asarray(attributions, dtype=np.float64)
    flat = a.reshape(len(a), -1).astype(np.float64)
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    scaled = (flat - low) / np.where(high - low > 0, high - low, 1.0)
    return scaled.reshape(a.shape)


def ground_truth_scores(attributions: np.ndarray, masks: np.ndarray, absolute: bool = True) -> GroundTruthScores:
    """AUPRC, AUP and AUR per example as TimeX computes them (see the module docstring).

    ``absolute``: score |attribution| (a step pushing strongly against the class is still relevant);
    False scores the signed values, as TimeX's script does for Integrated Gradients.
    """
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve

    attributions, masks = np.asarray(attributions), np.asarray(masks)
    if attributions.shape != masks.shape:
        raise InterpError(f"Attributions have shape {attributions.shape} but the masks {masks.shape}; expected the same shape.")
    scores = normalise(attributions, absolute).reshape(len(attributions), -1)
    truth = (masks.reshape(len(masks), -1) > 0.5).astype(int)
    out = np.full((3, len(scores)), np.nan)
    for i, (s, m) in enumerate(zip(scores, truth)):
        if m.sum() == 0:
            continue
        out[0, i] = average_precision_score(m, s)
        precision, recall, thresholds = precision_recall_curve(m, s)
        if len(thresholds) >= 2:
            out[1, i] = auc(thresholds, precision[:-1])
            out[2, i] = auc(thresholds, recall[:-1])
        else:
            out[1, i] = out[2, i] = 0.0
    return GroundTruthScores(*out)


# -- faithfulness without ground truth: deletion and insertion ----------------------------------
@dataclass
class FaithfulnessCurves:
    """Probability of the target class as the most attributed steps are deleted / inserted.

    fractions (s,) from 0 to 1; deletion and insertion (n, s), one row per example.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray

    @property
    def deletion_auc(self) -> np.ndarray:
        return np.trapezoid(self.deletion, self.fractions, axis=1)

    @property
    def insertion_auc(self) -> np.ndarray:
        return np.trapezoid(self.insertion, self.fractions, axis=1)


def perturbation_order(attributions: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per example, flat indices from most to least attributed (|a|); ties in random (seeded) order."""
    a = np.abs(attributions).reshape(len(attributions), -1).astype(np.float64)
    jitter = np.random.default_rng(seed).uniform(size=a.shape)
    return np.lexsort((jitter, -a), axis=1) if a.size else np.zeros_like(a, dtype=np.int64)


def deletion_insertion(model: nn.Module, X, attributions: np.ndarray, target, baseline=None, steps: int = 20, seed: int = 0, eval_batch: int = 2048) -> FaithfulnessCurves:
    """Deletion and insertion curves (see FaithfulnessCurves) over ``steps + 1`` shares of the steps."""
    X = as_series(X)
    n, c, t = X.shape
    target = series_targets(target, n)
    base = np.zeros((c, t), np.float32) if baseline is None else np.broadcast_to(np.asarray(baseline, np.float32), (c, t))
    fractions = np.linspace(0.0, 1.0, steps + 1)
    order = perturbation_order(np.asarray(attributions).reshape(n, c, t), seed)
    counts = np.round(fractions * c * t).astype(int)
    # rank[i, j] = position of element j in example i's order; element j is "on" for k when rank < k
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(c * t)[None, :].repeat(n, 0), axis=1)
    flat_x, flat_base = X.reshape(n, -1), base.reshape(1, -1)
    device = model_device(model)
    probs = {"deletion": np.zeros((n, len(fractions))), "insertion": np.zeros((n, len(fractions)))}
    was_training = model.training
    model.eval()
    try:
        for name in probs:
            rows, index = [], []
            for s, k in enumerate(counts):
                chosen = rank < k
                rows.append(np.where(chosen, flat_base, flat_x) if name == "deletion" else np.where(chosen, flat_x, flat_base))
                index.append(s)
            stacked = np.stack(rows, axis=1).reshape(n * len(fractions), c, t).astype(np.float32)
            targets = np.repeat(target, len(fractions))
            out = []
            with torch.no_grad(), MODEL_LOCK:
                for i in range(0, len(stacked), eval_batch):
                    logits = model(torch.as_tensor(stacked[i : i + eval_batch], device=device))
                    p = torch.softmax(logits.float(), dim=1).gather(1, torch.as_tensor(targets[i : i + eval_batch], device=device)[:, None])
                    out.append(p[:, 0].cpu().numpy())
            probs[name] = np.concatenate(out).reshape(n, len(fractions))
    finally:
        model.train(was_training)
    return FaithfulnessCurves(fractions, probs["deletion"], probs["insertion"])


# -- the explanation map and class profiles -----------------------------------------------------
def explanation_vectors(attributions: np.ndarray) -> np.ndarray:
    """Per-example min-max normalised |attribution|, flattened: (n, c * t)."""
    return normalise(attributions).reshape(len(attributions), -1).astype(np.float32)


def explanation_map(attributions: np.ndarray, method: str = "umap", seed: int = 0) -> np.ndarray:
    """2-D map (n, 2) of attribution maps: nearby points were explained alike."""
    from interp_core.projection import project

    return project(explanation_vectors(attributions), method, seed)


def class_profiles(attributions: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean normalised |attribution| per class, (k, c, t); NaN for a class with no example."""
    a = normalise(attributions)
    labels = np.asarray(labels)
    out = np.full((n_classes,) + a.shape[1:], np.nan, dtype=np.float32)
    for k in range(n_classes):
        if (labels == k).any():
            out[k] = a[labels == k].mean(axis=0)
    return out
