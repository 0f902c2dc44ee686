"""A generated high-dimensional table whose label follows a known rule over three of its features.

``make_rule_table`` draws ``n_features`` independent columns, each a normal variable in its own
units (a mean and a scale per column, so rules read like real measurements), and labels a row

    positive  if  (A > t_A and B <= t_B)  or  C > t_C        else negative

where A, B, C are three columns chosen by the seed among all of them. About half the rows are
positive. Everything else is noise, so a faithful explanation must find A, B and C among
hundreds of columns and recover the thresholds t_A, t_B, t_C (in the columns' own units).
The ground truth travels in ``Dataset.extras["rule_truth"]`` (see ``RuleTruth``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from interp_core.data.dataset import Dataset, split_arrays

# Thresholds in standard units: P(A > 0 and B <= 0.5) = 0.35, P(C > 0.8) = 0.21, so ~48% positive.
_Z_THRESHOLDS = {"A": 0.0, "B": 0.5, "C": 0.8}


@dataclass(frozen=True)
class RuleTruth:
    """The rule that made the labels: feature names, thresholds (data units), and the rule text.

    ``features`` maps each role (A, B, C) to a column name; ``thresholds`` maps column name ->
    threshold; ``directions`` maps column name -> ">" or "<=" (the side that leads to positive,
    for A and C; for B "<=" is the side that, with A high, leads to positive).
    """

    features: dict[str, str]
    indices: dict[str, int]
    thresholds: dict[str, float]
    directions: dict[str, str]
    scales: dict[str, float]
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


def make_rule_table(n_samples: int = 4000, n_features: int = 200, seed: int = 0, label_noise: float = 0.0) -> tuple[np.ndarray, np.ndarray, list[str], RuleTruth]:
    """Return X (n_samples, n_features) float32, y (n_samples,) int64 in {0, 1}, names and the truth.

    ``label_noise`` flips that share of labels at random (0 keeps the rule exact).
    """
    if n_features < 3:
        raise ValueError("the rule needs at least three features")
    rng = np.random.default_rng(seed)
    names = [f"f{i:03d}" for i in range(n_features)]
    means = rng.choice([0.0, 1.0, 10.0, 50.0, 100.0], size=n_features) * rng.uniform(0.5, 2.0, size=n_features)
    scales = rng.choice([0.1, 1.0, 5.0, 20.0], size=n_features) * rng.uniform(0.5, 2.0, size=n_features)
    Z = rng.standard_normal((n_samples, n_features))
    X = (means + scales * Z).astype(np.float32)
    roles = dict(zip("ABC", (int(i) for i in rng.choice(n_features, size=3, replace=False))))
    thresholds = {role: float(means[i] + scales[i] * _Z_THRESHOLDS[role]) for role, i in roles.items()}
    a, b, c = (X[:, roles[r]] for r in "ABC")
    y = (((a > thresholds["A"]) & (b <= thresholds["B"])) | (c > thresholds["C"])).astype(np.int64)
    if label_noise > 0:
        flip = rng.random(n_samples) < label_noise
        y = np.where(flip, 1 - y, y)
    fa, fb, fc = (names[roles[r]] for r in "ABC")
    text = f"positive if ({fa} > {thresholds['A']:.4g} and {fb} <= {thresholds['B']:.4g}) or {fc} > {thresholds['C']:.4g}"
    truth = RuleTruth(
        features={r: names[i] for r, i in roles.items()},
        indices=roles,
        thresholds={names[roles[r]]: thresholds[r] for r in "ABC"},
        directions={fa: ">", fb: "<=", fc: ">"},
        scales={names[roles[r]]: float(scales[roles[r]]) for r in "ABC"},
        text=text,
    )
    return X, y, names, truth


def load_rule_table(n_samples: int = 4000, n_features: int = 200, seed: int = 0) -> Dataset:
    """The synthetic-rules dataset: ``make_rule_table`` split 75/25, the truth in extras."""
    X, y, names, truth = make_rule_table(n_samples, n_features, seed)
    X_train, X_test, y_train, y_test = split_arrays(X, y)
    return Dataset(
        name="rule_table",
        modality="tabular",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=["negative", "positive"],
        feature_names=names,
        description=f"Generated table, {n_features} columns; the label follows a known rule over three of them: {truth.text}.",
        source="generated (interp_core.families.rules.data, seed 0)",
        extras={"rule_truth": truth.to_dict()},
    )
