"""Fidelity against the surrogate's depth or its number of features k, and the default (k, depth)
per recipe read off those curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp_core.errors import RecipeError
from interp_core.families.rules.explain.blackbox import ModelData, flat
from interp_core.families.rules.explain.ranking import FeatureImportance, FeatureRanker
from interp_core.families.rules.explain.surrogate import RuleSurrogate


@dataclass
class TradeOff:
    """Fidelity (held-out) against one setting: ``values`` (m,), ``fidelity`` (m,), ``accuracy`` (m,), ``n_rules`` (m,)."""

    parameter: str
    values: np.ndarray
    fidelity: np.ndarray
    accuracy: np.ndarray
    n_rules: np.ndarray
    chosen: int
    fixed: dict


def k_values(n_features: int) -> list[int]:
    """k on a roughly logarithmic grid up to all features."""
    grid = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
    return [k for k in grid if k < n_features] + [n_features]


def fidelity_tradeoff(
    parameter: str,
    importance: FeatureImportance,
    X_train: np.ndarray,
    blackbox_train: np.ndarray,
    X_test: np.ndarray,
    blackbox_test: np.ndarray,
    y_test: np.ndarray,
    k: int,
    depth: int,
    kind: str = "tree",
    values: list[int] | None = None,
    positive_class: int | None = None,
) -> TradeOff:
    """Refit the surrogate for each depth (k fixed) or each k (depth fixed); ``parameter``: "depth" or "k"."""
    X_train, X_test = flat(X_train), flat(X_test)
    if parameter == "depth":
        values = values or list(range(1, 9))
    elif parameter == "k":
        values = values or k_values(X_train.shape[1])
    else:
        raise RecipeError(f"Unknown trade-off parameter '{parameter}'; expected 'depth' or 'k'.")
    fid, acc, n_rules = [], [], []
    for value in values:
        surrogate = RuleSurrogate(kind, value if parameter == "depth" else depth,
                                  features=importance.order[: (value if parameter == "k" else k)], positive_class=positive_class)
        surrogate.fit(X_train, blackbox_train, importance.feature_names)
        predicted = surrogate.predict(X_test)
        fid.append(float((predicted == surrogate.encode(blackbox_test)).mean()))
        acc.append(float((predicted == surrogate.encode(y_test)).mean()))
        n_rules.append(surrogate.n_rules)
    chosen = depth if parameter == "depth" else k
    return TradeOff(parameter, np.array(values), np.array(fid), np.array(acc), np.array(n_rules), int(chosen), {"k": k, "depth": depth, "kind": kind})


def tradeoff_for(data: ModelData, ranker: FeatureRanker, parameter: str, k: int, depth: int, kind: str = "tree", method: str = "combined", positive_class: int | None = None) -> TradeOff:
    return fidelity_tradeoff(parameter, ranker.importance(method), data.X_train, data.blackbox_train, data.X_test, data.blackbox_test,
                             data.y_test, k, depth, kind=kind, positive_class=positive_class)


# Default (k, depth) per recipe, read off the trade-off curves: the smallest setting near the
# curve's top (digits has ten classes, so its tree needs more leaves).
DEFAULT_SETTINGS = {"breast-cancer-rules": (8, 3), "wine-rules": (4, 5), "digits-rules": (16, 6), "synthetic-rules": (5, 3)}


def default_setting(name: str, n_features: int) -> tuple[int, int]:
    k, depth = DEFAULT_SETTINGS.get(name, (5, 3))
    return min(k, n_features), depth
