"""A black box explained by surrogate rules on its top-k features (after Karim et al. 2022).

Pipeline: rank the black box's features by probing (captum Integrated Gradients, Feature
Ablation) and perturbation (permutation), keep the top k, fit an interpretable surrogate to the
black box's *predictions* on the training data, and read it as rules. Fidelity (agreement with
the black box) is measured on held-out data the ranking and the surrogate never saw.

Everything works on flat inputs X of shape (n, d) in the data's own units: the project's MLPs
standardise inside the network, so thresholds read like the user's numbers.

Fit-style objects (scikit-learn conventions: ``__init__`` stores parameters, ``fit`` returns
self, fitted state ends in ``_``):

- ``FeatureRanker``: importances of every feature by several methods, with spread over repeats.
- ``RuleSurrogate``: a decision tree (scikit-learn) or a greedy rule list (imodels), held as one
  binary tree of splits so paths, rules and counterfactuals work the same for both;
  ``get_rules()`` returns a DataFrame with one row per rule.

Functions return dataclasses: ``surrogate_report`` (the page's and the CLI's numbers),
``decision_path``, ``nearest_counterfactual``, ``fidelity_tradeoff``, ``trust_summary``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from interp_core.device import resolve_device
from interp_core.errors import RecipeError

RANKING_METHODS = ("integrated_gradients", "feature_ablation", "permutation")
RANKING_LABELS = {
    "combined": "combined (IG + permutation)",
    "integrated_gradients": "integrated gradients",
    "feature_ablation": "feature ablation",
    "permutation": "permutation",
}
SURROGATE_KINDS = {"tree": "decision tree (scikit-learn)", "rulelist": "greedy rule list (imodels)"}
RANKING_FILE = "rules-ranking.safetensors"


# --------------------------------------------------------------------------------------------
# The black box on flat inputs
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Feature ranking
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# The surrogate: a binary tree of axis-aligned splits (decision tree or rule list)
# --------------------------------------------------------------------------------------------
LE, GT = "≤", ">"


def format_value(value: float) -> str:
    """Thresholds as people write them: 4 significant digits, no trailing zeros."""
    if not np.isfinite(value):
        return str(value)
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.3e}"


def condition_text(name: str, lo: float, hi: float) -> str:
    """lo < name <= hi with open ends left out."""
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{format_value(lo)} < {name} {LE} {format_value(hi)}"
    if np.isfinite(hi):
        return f"{name} {LE} {format_value(hi)}"
    return f"{name} {GT} {format_value(lo)}"


@dataclass
class _Node:
    feature: int = -1  # global feature index; -1 for a leaf
    threshold: float = np.nan  # go left when x[feature] <= threshold
    left: int = -1
    right: int = -1
    parent: int = -1
    depth: int = 0
    prediction: int = -1  # leaves: the surrogate's class (its own label space)


class RuleSurrogate:
    """An interpretable surrogate fitted to a black box's predictions on chosen features.

    Parameters
    ----------
    kind: "tree" (scikit-learn DecisionTreeClassifier, any number of classes) or "rulelist"
        (imodels GreedyRuleListClassifier: an ordered if / else-if list; binary, so with more than
        two classes it answers "positive_class or not").
    max_depth: tree depth, or the rule list's maximum number of rules.
    features: indices of the columns it may use (the top-k); None = all.
    min_samples_leaf: smallest leaf, as a count or a share of the training rows (tree only).
    positive_class: the class a rule list separates from the rest (default: the last class).
    merge_leaves: merge sibling leaves that predict the same class (no prediction changes;
        the rules get shorter).

    After ``fit``: ``nodes_`` (the binary tree), ``class_names_`` (the surrogate's label space),
    ``feature_names_``, ``estimator_`` (the fitted scikit-learn / imodels model), ``leaves_``,
    ``train_stats_``. Rules read in the units of X.
    """

    def __init__(self, kind: str = "tree", max_depth: int = 3, features=None, min_samples_leaf: float = 0.005, positive_class: int | None = None, merge_leaves: bool = True, random_state: int = 0):
        self.kind = kind
        self.max_depth = max_depth
        self.features = features
        self.min_samples_leaf = min_samples_leaf
        self.positive_class = positive_class
        self.merge_leaves = merge_leaves
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, feature_names: list[str] | None = None, class_names: list[str] | None = None) -> "RuleSurrogate":
        """Fit to labels ``y`` (the black box's predicted classes, 0..c-1) on flat X (n, d)."""
        if self.kind not in SURROGATE_KINDS:
            raise RecipeError(f"Unknown surrogate '{self.kind}'; expected one of: {', '.join(SURROGATE_KINDS)}.")
        if int(self.max_depth) < 1:
            raise RecipeError(f"The surrogate's depth must be at least 1; got {self.max_depth}.")
        X = flat(X)
        y = np.asarray(y, dtype=np.int64)
        d = X.shape[1]
        self.feature_names_ = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(d)]
        n_classes = max(int(y.max()) + 1, len(class_names or []))
        self.source_class_names_ = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
        self.features_ = np.arange(d) if self.features is None else np.asarray(self.features, dtype=np.int64)
        if len(self.features_) == 0 or self.features_.min() < 0 or self.features_.max() >= d:
            raise RecipeError(f"The surrogate's features must be column indices between 0 and {d - 1}.")
        if self.kind == "rulelist":
            self.positive_class_ = int(n_classes - 1 if self.positive_class is None else self.positive_class)
            if not 0 <= self.positive_class_ < n_classes:
                raise RecipeError(f"positive_class must be between 0 and {n_classes - 1}; got {self.positive_class}.")
            name = self.source_class_names_[self.positive_class_]
            self.class_names_ = [f"not {name}", name] if n_classes > 2 else list(self.source_class_names_)
        else:
            self.positive_class_ = None
            self.class_names_ = list(self.source_class_names_)
        target = self.encode(y)
        if self.kind == "tree":
            self.nodes_ = self._fit_tree(X[:, self.features_], target)
        else:
            self.nodes_ = self._fit_rule_list(X[:, self.features_], target)
        if self.merge_leaves:
            self.nodes_ = _merge_same_class_leaves(self.nodes_)
        self.leaves_ = [i for i, node in enumerate(self.nodes_) if node.feature < 0]
        self.train_stats_ = self._leaf_stats(X, target)
        return self

    def encode(self, y: np.ndarray) -> np.ndarray:
        """Map classes of the black box to the surrogate's label space (identity except a multi-class rule list)."""
        y = np.asarray(y, dtype=np.int64)
        if self.kind == "rulelist" and len(self.source_class_names_) > 2:
            return (y == self.positive_class_).astype(np.int64)
        return y

    def _fit_tree(self, Xk: np.ndarray, target: np.ndarray) -> list[_Node]:
        from sklearn.tree import DecisionTreeClassifier

        leaf = self.min_samples_leaf
        leaf = max(1, int(round(leaf * len(Xk)))) if isinstance(leaf, float) and leaf < 1 else int(leaf)
        self.estimator_ = DecisionTreeClassifier(max_depth=int(self.max_depth), min_samples_leaf=leaf, random_state=self.random_state).fit(Xk, target)
        tree = self.estimator_.tree_
        classes = self.estimator_.classes_
        nodes = []
        for i in range(tree.node_count):
            is_leaf = tree.children_left[i] < 0
            nodes.append(_Node(
                feature=-1 if is_leaf else int(self.features_[tree.feature[i]]),
                threshold=np.nan if is_leaf else float(tree.threshold[i]),
                left=int(tree.children_left[i]), right=int(tree.children_right[i]),
                prediction=int(classes[int(np.argmax(tree.value[i][0]))]) if is_leaf else -1,
            ))
        _set_parents(nodes)
        return nodes

    def _fit_rule_list(self, Xk: np.ndarray, target: np.ndarray) -> list[_Node]:
        import warnings

        from imodels import GreedyRuleListClassifier

        if len(np.unique(target)) < 2:
            raise RecipeError("A rule list needs both classes among the black box's predictions; this data has only one.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.estimator_ = GreedyRuleListClassifier(max_depth=int(self.max_depth)).fit(Xk, target)
        # The list "if c1: p1 elif c2: p2 ... else p" as a chain: each split's yes-side is a leaf.
        nodes: list[_Node] = []
        entries = list(self.estimator_.rules_)
        splits = [e for e in entries if "index_col" in e]
        default = entries[-1]["val"] if entries else float(np.mean(target))
        previous_no = None
        for entry in splits:
            node_id = len(nodes)
            nodes.append(_Node(feature=int(self.features_[entry["index_col"]]), threshold=float(entry["cutoff"])))
            if previous_no is not None:
                setattr(nodes[previous_no[0]], previous_no[1], node_id)
            yes = len(nodes)
            nodes.append(_Node(prediction=int(entry["val_right"] >= 0.5)))
            # GreedyRuleList's rule fires on x >= cutoff, or on x < cutoff when flipped.
            if entry["flip"]:
                nodes[node_id].left, previous_no = yes, (node_id, "right")
            else:
                nodes[node_id].right, previous_no = yes, (node_id, "left")
        last = len(nodes)
        nodes.append(_Node(prediction=int(default >= 0.5)))
        if previous_no is not None:
            setattr(nodes[previous_no[0]], previous_no[1], last)
        _set_parents(nodes)
        return nodes

    # -- applying ---------------------------------------------------------------------------
    def apply(self, X: np.ndarray) -> np.ndarray:
        """The leaf (node id) each row lands in, (n,)."""
        X = flat(X)
        node = np.zeros(len(X), dtype=np.int64)
        feature = np.array([n.feature for n in self.nodes_])
        threshold = np.array([n.threshold for n in self.nodes_])
        left = np.array([n.left for n in self.nodes_])
        right = np.array([n.right for n in self.nodes_])
        for _ in range(len(self.nodes_)):
            active = np.flatnonzero(feature[node] >= 0)
            if not len(active):
                break
            at = node[active]
            goes_left = X[active, feature[at]] <= threshold[at]
            node[active] = np.where(goes_left, left[at], right[at])
        return node

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The surrogate's class (in its own label space, see ``encode``) for each row."""
        prediction = np.array([n.prediction for n in self.nodes_])
        return prediction[self.apply(X)]

    def path(self, x: np.ndarray) -> list[int]:
        """Node ids from the root to the leaf for one example x (d,)."""
        x = np.asarray(x, dtype=np.float32).ravel()
        ids = [0]
        while self.nodes_[ids[-1]].feature >= 0:
            node = self.nodes_[ids[-1]]
            ids.append(node.left if x[node.feature] <= node.threshold else node.right)
        return ids

    def bounds(self, leaf: int) -> dict[int, tuple[float, float]]:
        """The box of a leaf: feature -> (lo, hi), meaning lo < x <= hi (infinite ends are open)."""
        chain = []
        node = leaf
        while self.nodes_[node].parent >= 0:
            chain.append(node)
            node = self.nodes_[node].parent
        box: dict[int, tuple[float, float]] = {}
        for child in reversed(chain):
            parent = self.nodes_[self.nodes_[child].parent]
            lo, hi = box.get(parent.feature, (-np.inf, np.inf))
            if child == parent.left:
                hi = min(hi, parent.threshold)
            else:
                lo = max(lo, parent.threshold)
            box[parent.feature] = (lo, hi)
        return box

    def rule_text(self, leaf: int, with_prediction: bool = False) -> str:
        box = self.bounds(leaf)
        text = " and ".join(condition_text(self.feature_names_[f], lo, hi) for f, (lo, hi) in box.items()) or "always"
        if with_prediction:
            text += f" → {self.class_names_[self.nodes_[leaf].prediction]}"
        return text

    @property
    def n_rules(self) -> int:
        return len(self.leaves_)

    def used_features(self) -> list[str]:
        """Names of the columns the surrogate splits on, in order of first use."""
        seen = []
        for node in self.nodes_:
            if node.feature >= 0 and self.feature_names_[node.feature] not in seen:
                seen.append(self.feature_names_[node.feature])
        return seen

    # -- reading it -------------------------------------------------------------------------
    def _leaf_stats(self, X: np.ndarray, reference: np.ndarray, truth: np.ndarray | None = None) -> pd.DataFrame:
        leaf_of = self.apply(X)
        rows = []
        for leaf in self.leaves_:
            covered = leaf_of == leaf
            support = int(covered.sum())
            prediction = self.nodes_[leaf].prediction
            row = {"leaf": leaf, "support": support, "coverage": support / max(len(X), 1),
                   "precision": float((reference[covered] == prediction).mean()) if support else np.nan}
            if truth is not None:
                row["accuracy"] = float((truth[covered] == prediction).mean()) if support else np.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("leaf")

    def get_rules(self, X: np.ndarray | None = None, y_blackbox: np.ndarray | None = None, y_true: np.ndarray | None = None) -> pd.DataFrame:
        """One row per rule (leaf), largest coverage first.

        Columns: rule_id (1-based, in tree order), rule (the conditions), prediction (class
        name), n_conditions, coverage (share of rows it covers), support (rows it covers),
        precision (share of covered rows where the black box predicts the rule's class: the
        rule's fidelity), and with ``y_true`` accuracy (share where the true class is the rule's).
        Without data the numbers are the training rows'; with (X, y_blackbox[, y_true]) they are
        those rows' (give held-out data). A rule list adds ``order``, its position in the list.
        """
        if X is None:
            stats = self.train_stats_
        else:
            stats = self._leaf_stats(X, self.encode(y_blackbox), None if y_true is None else self.encode(y_true))
        rows = []
        for rule_id, leaf in enumerate(self.leaves_, start=1):
            row = {
                "rule_id": rule_id,
                "rule": self.rule_text(leaf),
                "prediction": self.class_names_[self.nodes_[leaf].prediction],
                "n_conditions": len(self.bounds(leaf)),
                **stats.loc[leaf].to_dict(),
                "leaf": leaf,
            }
            if self.kind == "rulelist":
                row["order"] = rule_id
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame["support"] = frame["support"].astype(int)
        return frame.sort_values(["coverage", "rule_id"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def node_table(self, X: np.ndarray, y_blackbox: np.ndarray) -> pd.DataFrame:
        """One row per node for drawing: node, parent, depth, split text, edge text, samples and
        the black box's class counts among the rows of X that pass through it (columns n_<class>)."""
        reference = self.encode(y_blackbox)
        reach = self.reach(X)
        rows = []
        for i, node in enumerate(self.nodes_):
            inside = reach[:, i]
            counts = np.bincount(reference[inside], minlength=len(self.class_names_))
            parent = self.nodes_[node.parent] if node.parent >= 0 else None
            edge = ""
            if parent is not None:
                name = self.feature_names_[parent.feature]
                edge = f"{name} {LE} {format_value(parent.threshold)}" if i == parent.left else f"{name} {GT} {format_value(parent.threshold)}"
            rows.append({
                "node": i, "parent": node.parent, "depth": node.depth, "left": node.left, "right": node.right,
                "is_leaf": node.feature < 0,
                "split": "" if node.feature < 0 else f"{self.feature_names_[node.feature]} {LE} {format_value(node.threshold)}",
                "edge": edge,
                "prediction": self.class_names_[node.prediction] if node.feature < 0 else "",
                "samples": int(inside.sum()),
                **{f"n_{name}": int(c) for name, c in zip(self.class_names_, counts)},
                "majority": int(counts.argmax()) if counts.sum() else -1,
            })
        return pd.DataFrame(rows)

    def reach(self, X: np.ndarray) -> np.ndarray:
        """(n, n_nodes) booleans: whether each row passes through each node."""
        X = flat(X)
        reach = np.zeros((len(X), len(self.nodes_)), dtype=bool)
        reach[:, 0] = True
        for i, node in enumerate(self.nodes_):  # parents come before children in both layouts
            if node.feature >= 0:
                goes_left = X[:, node.feature] <= node.threshold
                reach[:, node.left] = reach[:, i] & goes_left
                reach[:, node.right] = reach[:, i] & ~goes_left
        return reach


def _set_parents(nodes: list[_Node]) -> None:
    stack = [(0, -1, 0)]
    while stack:
        i, parent, depth = stack.pop()
        nodes[i].parent, nodes[i].depth = parent, depth
        if nodes[i].feature >= 0:
            stack += [(nodes[i].left, i, depth + 1), (nodes[i].right, i, depth + 1)]


def _merge_same_class_leaves(nodes: list[_Node]) -> list[_Node]:
    """Collapse splits whose two children are leaves of one class, bottom-up; renumber parents first."""
    nodes = [_Node(**vars(n)) for n in nodes]
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.feature >= 0:
                a, b = nodes[node.left], nodes[node.right]
                if a.feature < 0 and b.feature < 0 and a.prediction == b.prediction:
                    node.feature, node.threshold, node.prediction, node.left, node.right = -1, np.nan, a.prediction, -1, -1
                    changed = True
    # keep only nodes reachable from the root, numbered depth-first (parents before children)
    order, stack = [], [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if nodes[i].feature >= 0:
            stack += [nodes[i].right, nodes[i].left]
    new_id = {old: new for new, old in enumerate(order)}
    out = []
    for old in order:
        n = nodes[old]
        out.append(_Node(n.feature, n.threshold, new_id.get(n.left, -1), new_id.get(n.right, -1), -1, 0, n.prediction))
    _set_parents(out)
    return out


# --------------------------------------------------------------------------------------------
# The report the page and the CLI share
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Local: one example's path and its nearest counterfactual
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Trade-offs and the plain statement
# --------------------------------------------------------------------------------------------
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
# From a trained model (the page, the CLI and the trainer share these)
# --------------------------------------------------------------------------------------------
# Default (k, depth) per recipe, read off the trade-off curves: the smallest setting near the
# curve's top (digits has ten classes, so its tree needs more leaves).
DEFAULT_SETTINGS = {"breast-cancer-rules": (8, 3), "wine-rules": (4, 5), "digits-rules": (16, 6), "synthetic-rules": (5, 3)}


def default_setting(name: str, n_features: int) -> tuple[int, int]:
    k, depth = DEFAULT_SETTINGS.get(name, (5, 3))
    return min(k, n_features), depth


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


def rank_features(trained, seed: int = 0) -> FeatureRanker:
    """All three rankings of a trained model's features, on its training data."""
    return FeatureRanker(random_state=seed).fit(BlackBox.from_trained(trained), trained.dataset.X_train, feature_names_of(trained.dataset))


def stored_ranker(trained, store) -> FeatureRanker:
    """The ranking saved with the artifact (the "rules" trainer stores it), else computed now."""
    names = feature_names_of(trained.dataset)
    if RANKING_FILE in trained.artifact.manifest.get("files", {}):
        arrays = store.read_arrays(trained.artifact, RANKING_FILE)
        if arrays and all(a.ndim == 2 and a.shape[1] == len(names) for a in arrays.values()):
            return FeatureRanker.from_arrays(arrays, names)
    return rank_features(trained, trained.manifest.get("seed", 0))


def report_for(data: ModelData, ranker: FeatureRanker, k: int, depth: int, kind: str = "tree", method: str = "combined", positive_class: int | None = None) -> SurrogateReport:
    return surrogate_report(ranker.importance(method), data.X_train, data.blackbox_train, data.X_test, data.blackbox_test,
                            data.y_test, data.class_names, k=k, depth=depth, kind=kind, positive_class=positive_class)


def tradeoff_for(data: ModelData, ranker: FeatureRanker, parameter: str, k: int, depth: int, kind: str = "tree", method: str = "combined", positive_class: int | None = None) -> TradeOff:
    return fidelity_tradeoff(parameter, ranker.importance(method), data.X_train, data.blackbox_train, data.X_test, data.blackbox_test,
                             data.y_test, k, depth, kind=kind, positive_class=positive_class)



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
