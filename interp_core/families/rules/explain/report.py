"""The surrogate on the top-k features measured on held-out data (the page's and the CLI's numbers),
how far to trust it, and how it compares with a known rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.errors import RecipeError
from interp_core.families.rules.explain.blackbox import ModelData, flat
from interp_core.families.rules.explain.ranking import FeatureImportance, FeatureRanker
from interp_core.families.rules.explain.surrogate import RuleSurrogate


@dataclass
class SurrogateReport:
    """Surrogate on the top-k features, measured on held-out data.

    ``top_features`` (k names, most important first), ``top_indices`` (k,), ``surrogate``
    (fitted RuleSurrogate), ``rules`` (held-out get_rules() DataFrame), ``nodes`` (node_table on
    held-out data), ``blackbox_test`` / ``surrogate_test`` (n_test,) predictions in the
    surrogate's label space, ``truth_test`` (n_test,) likewise, ``leaf_test`` (n_test,).
    """

    kind: str
    k: int
    depth: int
    ranking_method: str
    top_features: list[str]
    top_indices: np.ndarray
    surrogate: RuleSurrogate
    fidelity: float
    surrogate_accuracy: float
    blackbox_accuracy: float
    train_fidelity: float
    rules: pd.DataFrame
    nodes: pd.DataFrame
    blackbox_test: np.ndarray
    surrogate_test: np.ndarray
    truth_test: np.ndarray
    leaf_test: np.ndarray
    class_names: list[str]

    @property
    def baseline_fidelity(self) -> float:
        """Fidelity of one rule that always gives the black box's most common held-out answer."""
        counts = np.bincount(self.blackbox_test, minlength=len(self.class_names))
        return float(counts.max() / max(counts.sum(), 1))

    @property
    def n_rules(self) -> int:
        return self.surrogate.n_rules

    def rule_strings(self) -> list[str]:
        """Every rule as "conditions → class", largest coverage first."""
        return [f"{r.rule} → {r.prediction}" for r in self.rules.itertuples()]

    def summary(self) -> dict:
        """The CLI's JSON keys."""
        return {
            "blackbox_accuracy": round(self.blackbox_accuracy, 6),
            "surrogate_accuracy": round(self.surrogate_accuracy, 6),
            "fidelity": round(self.fidelity, 6),
            "n_rules": int(self.n_rules),
            "top_features": list(self.top_features),
            "rules": self.rule_strings(),
            "surrogate": self.kind,
            "k": int(self.k),
            "depth": int(self.depth),
            "ranking": self.ranking_method,
            "train_fidelity": round(self.train_fidelity, 6),
            "baseline_fidelity": round(self.baseline_fidelity, 6),
            "n_test": int(len(self.truth_test)),
        }


def check_setting(k: int, depth: int, n_features: int) -> None:
    if not 1 <= int(k) <= n_features:
        raise RecipeError(f"k must be between 1 and {n_features} (the number of features); got {k}.")
    if not 1 <= int(depth) <= 12:
        raise RecipeError(f"The depth must be between 1 and 12; got {depth}.")


def surrogate_report(
    importance: FeatureImportance,
    X_train: np.ndarray,
    blackbox_train: np.ndarray,
    X_test: np.ndarray,
    blackbox_test: np.ndarray,
    y_test: np.ndarray,
    class_names: list[str],
    k: int = 5,
    depth: int = 3,
    kind: str = "tree",
    positive_class: int | None = None,
    random_state: int = 0,
) -> SurrogateReport:
    """Fit the surrogate on the top-k features to the black box's training predictions; measure it on test."""
    X_train, X_test = flat(X_train), flat(X_test)
    check_setting(k, depth, X_train.shape[1])
    top = importance.order[: int(k)]
    surrogate = RuleSurrogate(kind, int(depth), features=top, positive_class=positive_class, random_state=random_state)
    surrogate.fit(X_train, blackbox_train, importance.feature_names, class_names)
    bb_test = surrogate.encode(blackbox_test)
    truth = surrogate.encode(y_test)
    sur_test = surrogate.predict(X_test)
    return SurrogateReport(
        kind=kind, k=int(k), depth=int(depth), ranking_method=importance.method,
        top_features=[importance.feature_names[i] for i in top], top_indices=top,
        surrogate=surrogate,
        fidelity=float((sur_test == bb_test).mean()),
        surrogate_accuracy=float((sur_test == truth).mean()),
        blackbox_accuracy=float((bb_test == truth).mean()),
        train_fidelity=float((surrogate.predict(X_train) == surrogate.encode(blackbox_train)).mean()),
        rules=surrogate.get_rules(X_test, blackbox_test, y_test),
        nodes=surrogate.node_table(X_test, blackbox_test),
        blackbox_test=bb_test, surrogate_test=sur_test, truth_test=truth,
        leaf_test=surrogate.apply(X_test), class_names=list(surrogate.class_names_),
    )


def report_for(data: ModelData, ranker: FeatureRanker, k: int, depth: int, kind: str = "tree", method: str = "combined", positive_class: int | None = None) -> SurrogateReport:
    return surrogate_report(ranker.importance(method), data.X_train, data.blackbox_train, data.X_test, data.blackbox_test,
                            data.y_test, data.class_names, k=k, depth=depth, kind=kind, positive_class=positive_class)


TRUST_LEVELS = ((0.95, "high"), (0.85, "moderate"), (0.0, "low"))


def trust_level(fidelity: float, baseline: float = 0.0) -> str:
    """high (>= 95%), moderate (>= 85%) or low; low too when barely better than always giving one answer."""
    if fidelity < baseline + 0.05:
        return "low"
    return next(name for bound, name in TRUST_LEVELS if fidelity >= bound)


@dataclass
class TrustSummary:
    """How far to trust the rules: ``level`` (high / moderate / low), ``text`` (plain sentences),
    ``disagreements`` (rules where the black box disagrees most: rule_id, rule, prediction,
    support, disagree = covered rows where the black box predicts another class)."""

    level: str
    text: str
    disagreements: pd.DataFrame


def trust_summary(report: SurrogateReport, top_n: int = 3) -> TrustSummary:
    n = len(report.truth_test)
    wrong = int((report.surrogate_test != report.blackbox_test).sum())
    level = trust_level(report.fidelity, report.baseline_fidelity)
    rules = report.rules.copy()
    rules["disagree"] = (rules["support"] * (1 - rules["precision"].fillna(1.0))).round().astype(int)
    worst = rules[rules["disagree"] > 0].sort_values("disagree", ascending=False).head(top_n)
    parts = [
        f"On {n} held-out examples the {report.n_rules} rules give the black box's answer {report.fidelity:.1%} of the time "
        f"(fidelity; trust: **{level}**). The black box is right on {report.blackbox_accuracy:.1%} of them, the rules on {report.surrogate_accuracy:.1%}.",
    ]
    majority = report.class_names[int(np.bincount(report.blackbox_test, minlength=len(report.class_names)).argmax())]
    parts.append(f"For comparison, always answering \"{majority}\" would agree {report.baseline_fidelity:.1%} of the time.")
    if wrong == 0:
        parts.append("The rules and the black box agree on every held-out example.")
    else:
        where = "; ".join(f"rule {r.rule_id} ({r.rule} → {r.prediction}): {r.disagree} of {r.support}" for r in worst.itertuples())
        parts.append(f"They disagree on {wrong} examples, most of them in: {where}.")
    if level == "low":
        parts.append("Treat these rules as a rough sketch of the black box, not as its logic; a deeper tree or more features may help (see the trade-off curves).")
    elif level == "moderate":
        parts.append("The rules describe the black box's main behaviour but not its details; check an example's counterfactual before relying on a threshold.")
    else:
        parts.append("The rules are a faithful summary of the black box on data like this; they say nothing about inputs unlike the training data.")
    return TrustSummary(level, " ".join(parts), worst[["rule_id", "rule", "prediction", "support", "disagree"]].reset_index(drop=True))


# --------------------------------------------------------------------------------------------
# Against a known rule (the generated table)
# --------------------------------------------------------------------------------------------
def compare_with_truth(report: SurrogateReport, truth: dict, importance: FeatureImportance) -> pd.DataFrame:
    """One row per feature of the true rule: its importance rank, whether the rules use it, the
    true threshold, the surrogate's nearest threshold on it and the gap in standard deviations.

    ``truth``: RuleTruth.to_dict() (features, thresholds, scales).
    """
    rank = {importance.feature_names[i]: r for r, i in enumerate(importance.order, start=1)}
    rows = []
    for name, threshold in truth["thresholds"].items():
        index = report.surrogate.feature_names_.index(name)
        splits = [n.threshold for n in report.surrogate.nodes_ if n.feature == index]
        nearest = min(splits, key=lambda t: abs(t - threshold)) if splits else np.nan
        rows.append({
            "feature": name, "rank": rank[name], "in top k": rank[name] <= report.k, "used by the rules": bool(splits),
            "true threshold": threshold, "rules' threshold": nearest,
            "gap (SD)": abs(nearest - threshold) / truth["scales"][name] if splits else np.nan,
        })
    return pd.DataFrame(rows)
