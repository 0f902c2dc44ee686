"""Local explanations: one example's path through the surrogate and its nearest counterfactual."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.families.rules.explain.blackbox import BlackBox
from interp_core.families.rules.explain.surrogate import GT, LE, RuleSurrogate, format_value


@dataclass
class DecisionPath:
    """The nodes one example passes through and the rule it ends in.

    ``nodes``: node ids root -> leaf. ``steps``: one row per split passed (node, feature, value,
    threshold, went ("≤" or ">"), condition), in order.
    """

    nodes: list[int]
    leaf: int
    rule: str
    surrogate_class: str
    steps: pd.DataFrame


def decision_path(surrogate: RuleSurrogate, x: np.ndarray) -> DecisionPath:
    x = np.asarray(x, dtype=np.float32).ravel()
    ids = surrogate.path(x)
    rows = []
    for parent, child in zip(ids[:-1], ids[1:]):
        node = surrogate.nodes_[parent]
        name = surrogate.feature_names_[node.feature]
        went = LE if child == node.left else GT
        rows.append({"node": parent, "feature": name, "value": float(x[node.feature]), "went": went,
                     "threshold": node.threshold, "condition": f"{name} {went} {format_value(node.threshold)}"})
    leaf = ids[-1]
    return DecisionPath(ids, leaf, surrogate.rule_text(leaf), surrogate.class_names_[surrogate.nodes_[leaf].prediction],
                        pd.DataFrame(rows, columns=["node", "feature", "value", "went", "threshold", "condition"]))


@dataclass
class Counterfactual:
    """The smallest change of the surrogate's features that changes its decision, and what the black box says.

    ``changes``: one row per changed feature (feature, before, after, change, change_sd).
    ``distance``: sum of |change| in units of each feature's standard deviation (the cost minimised).
    ``blackbox_flips``: whether the black box's class changes too (in the surrogate's label space).
    ``found`` is False when no other leaf exists (a one-rule surrogate).
    ``blackbox_flip_scale``: when the black box does not flip, the smallest multiple (1 to
    ``max_scale``) of the same change that makes it flip, or None if none does.
    """

    found: bool
    x_before: np.ndarray
    x_after: np.ndarray
    leaf_before: int
    leaf_after: int
    surrogate_before: str
    surrogate_after: str
    blackbox_before: str
    blackbox_after: str
    blackbox_flips: bool
    blackbox_proba_after: np.ndarray
    distance: float
    rule_after: str
    changes: pd.DataFrame
    blackbox_flip_scale: float | None = None

    def before_after(self, feature_names: list[str], indices) -> pd.DataFrame:
        """Before/after values of the given features (e.g. the top k), changed ones marked."""
        rows = [{"feature": feature_names[i], "before": float(self.x_before[i]), "after": float(self.x_after[i]),
                 "changed": bool(self.x_before[i] != self.x_after[i])} for i in indices]
        return pd.DataFrame(rows)


def nearest_counterfactual(
    surrogate: RuleSurrogate,
    x: np.ndarray,
    scale: np.ndarray,
    blackbox: BlackBox | None = None,
    margin: float = 0.05,
    target: int | None = None,
    max_scale: float = 3.0,
) -> Counterfactual:
    """Move x into the nearest leaf of another class (or of class ``target``), changing as little as possible.

    Every leaf is a box lo < x <= hi over a few features, so the nearest point of a box is x
    clipped into it; each changed value lands ``margin`` standard deviations inside the box
    (at most halfway across it) so it is not on the boundary. The cost is the total change in
    standard deviations (``scale``: (d,) per-feature std of the training data), and the cheapest
    leaf wins. The black box is then asked about the changed example (other features unchanged);
    when it does not flip, the same change is scaled up (to ``max_scale`` times) to find where it does.
    """
    x = np.asarray(x, dtype=np.float32).ravel()
    scale = np.where(np.asarray(scale, dtype=np.float64) > 0, scale, 1.0)
    leaf_before = surrogate.path(x)[-1]
    before = surrogate.nodes_[leaf_before].prediction
    best = None
    for leaf in surrogate.leaves_:
        prediction = surrogate.nodes_[leaf].prediction
        if prediction == before or (target is not None and prediction != target):
            continue
        moved = x.astype(np.float64).copy()
        for f, (lo, hi) in surrogate.bounds(leaf).items():
            value = moved[f]
            if value <= lo:
                inside = lo + margin * scale[f]
                moved[f] = min(inside, (lo + hi) / 2) if np.isfinite(hi) else inside
            elif value > hi:
                inside = hi - margin * scale[f]
                moved[f] = max(inside, (lo + hi) / 2) if np.isfinite(lo) else inside
        cost = float((np.abs(moved - x) / scale).sum())
        if best is None or cost < best[0]:
            best = (cost, leaf, moved.astype(np.float32))
    names = surrogate.feature_names_
    bb_before = bb_after = ""
    flips = False
    proba = np.zeros(len(surrogate.source_class_names_), dtype=np.float32)
    if best is None:
        after, leaf_after, cost = x.copy(), leaf_before, 0.0
    else:
        cost, leaf_after, after = best
        # The clipped point must land in the chosen leaf (float rounding at a threshold); nudge if not.
        if surrogate.path(after)[-1] != leaf_after:
            after = after.astype(np.float64)
            for f, (lo, hi) in surrogate.bounds(leaf_after).items():
                after[f] = np.nextafter(np.float32(lo), np.float32(np.inf)) if after[f] <= lo else min(after[f], hi)
            after = after.astype(np.float32)
    flip_scale = None
    if blackbox is not None:
        probs = blackbox.predict_proba(np.stack([x, after]))
        proba = probs[1]
        encoded = surrogate.encode(probs.argmax(1))
        bb_before, bb_after = surrogate.class_names_[encoded[0]], surrogate.class_names_[encoded[1]]
        flips = bool(encoded[0] != encoded[1])
        if best is not None and not flips:
            scales = np.linspace(1.0, max_scale, int(round((max_scale - 1) * 20)) + 1)[1:]
            path = x[None] + scales[:, None].astype(np.float32) * (after - x)[None]
            moved = surrogate.encode(blackbox.predict(path)) != encoded[0]
            flip_scale = float(scales[np.argmax(moved)]) if moved.any() else None
    changed = np.flatnonzero(after != x)
    changes = pd.DataFrame({
        "feature": [names[i] for i in changed],
        "before": x[changed].astype(float),
        "after": after[changed].astype(float),
        "change": (after[changed] - x[changed]).astype(float),
        "change_sd": ((after[changed] - x[changed]) / scale[changed]).astype(float),
    })
    return Counterfactual(
        found=best is not None, x_before=x, x_after=after, leaf_before=leaf_before, leaf_after=leaf_after,
        surrogate_before=surrogate.class_names_[before], surrogate_after=surrogate.class_names_[surrogate.nodes_[leaf_after].prediction],
        blackbox_before=bb_before, blackbox_after=bb_after, blackbox_flips=flips, blackbox_proba_after=proba,
        distance=cost, rule_after=surrogate.rule_text(leaf_after), changes=changes, blackbox_flip_scale=flip_scale,
    )
