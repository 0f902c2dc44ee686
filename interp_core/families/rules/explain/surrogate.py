"""The interpretable surrogate: a decision tree (scikit-learn) or a greedy rule list (imodels), held as
one binary tree of axis-aligned splits so paths, rules and counterfactuals work the same for both;
``RuleSurrogate.get_rules()`` returns the rules table, one row per rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.errors import RecipeError
from interp_core.families.rules.explain.blackbox import flat

SURROGATE_KINDS = {"tree": "decision tree (scikit-learn)", "rulelist": "greedy rule list (imodels)"}
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
