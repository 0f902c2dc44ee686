"""TCAV with significance tests (through captum.concept), and the concept sensitivities it is made of.

TCAV (Kim et al. 2018), as computed here:

- a CAV is the normal of a logistic regression separating one layer's activations of a concept's
  examples from those of a random set (67/33 split, seeded; its held-out accuracy is the CAV
  accuracy). The CAV points towards the concept.
- the TCAV score of (concept, class, layer) for one random set is the share of the class's test
  examples whose class-logit gradient at that layer has a positive dot product with the CAV.
- this is repeated against ``n_random`` random sets; the null distribution is the same score for
  CAVs trained between ``n_random`` independent pairs of random sets (random vs random). A two-sided
  t-test (scipy.stats.ttest_ind) of concept scores against null scores gives the p-value; a
  concept is significant when p < alpha (0.05). Scores are reported whatever they are: an unrelated
  concept may score near 0 or 1 and still fail the test, or pass it.

captum.concept.TCAV trains the CAVs and computes the sign-count scores. It insists on writing
activations and CAVs as pickles under ``save_path`` (default ``./cav``); here that is always a
private temporary folder, deleted when the call returns, and the CAVs are returned as arrays for
the project's store (safetensors). Nothing is ever written to ``./cav``.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from interp_core.errors import DataError
from interp_core.layers import hook_here

ALPHA = 0.05
MIN_CONCEPT_EXAMPLES = 10


@dataclass
class TCAVResult:
    """TCAV scores of one model for several concepts, classes and layers.

    Shapes (C concepts, K classes, L layers, R random runs, d_l the width of layer l):

    - ``run_scores`` (C, K, L, R): the TCAV score of each concept against each random set
    - ``null_scores`` (K, L, R): random-vs-random TCAV scores (the null distribution)
    - ``cav_accuracy`` (C, L, R) and ``null_cav_accuracy`` (L, R): held-out accuracy of each CAV
    - ``p_values`` (C, K, L): two-sided t-test of run_scores against null_scores
    - ``cavs``: layer -> (C, R, d_l) unit CAVs pointing towards each concept
    - ``n_examples`` (K,): test examples of each class that were scored
    """

    concept_names: list[str]
    class_names: list[str]
    layer_names: list[str]
    run_scores: np.ndarray
    null_scores: np.ndarray
    cav_accuracy: np.ndarray
    null_cav_accuracy: np.ndarray
    p_values: np.ndarray
    n_examples: np.ndarray
    concept_sizes: list[int]
    alpha: float = ALPHA
    seed: int = 0
    cavs: dict[str, np.ndarray] = field(default_factory=dict)
    raw_p_values: np.ndarray | None = None  # set on an adjusted copy (``adjusted``): the unadjusted p-values
    adjustment: str = ""  # "" (raw p-values) or the name of the adjustment behind ``p_values``

    def adjusted(self, p_adjusted: np.ndarray, name: str) -> "TCAVResult":
        """The same result with its p-values (and so its significance) replaced by adjusted ones; the
        raw p-values stay in ``raw_p_values`` and its table shows both."""
        import dataclasses

        return dataclasses.replace(self, p_values=np.asarray(p_adjusted, dtype=float), raw_p_values=self.p_values, adjustment=name)

    @property
    def scores(self) -> np.ndarray:
        """(C, K, L) mean TCAV score over the random runs."""
        return self.run_scores.mean(axis=-1)

    @property
    def significant(self) -> np.ndarray:
        """(C, K, L) bool: p < alpha (a NaN p-value, from too few runs, is never significant)."""
        return np.nan_to_num(self.p_values, nan=1.0) < self.alpha

    def table(self) -> pd.DataFrame:
        """One row per (concept, class, layer) with score, spread, p-value, significance and CAV accuracy."""
        rows = []
        for c, concept in enumerate(self.concept_names):
            for k, cls in enumerate(self.class_names):
                for l, layer in enumerate(self.layer_names):
                    rows.append({
                        "concept": concept,
                        "class": cls,
                        "layer": layer,
                        "score": float(self.run_scores[c, k, l].mean()),
                        "score_std": float(self.run_scores[c, k, l].std()),
                        "random_score": float(self.null_scores[k, l].mean()),
                        "p_value": float(self.p_values[c, k, l] if self.raw_p_values is None else self.raw_p_values[c, k, l]),
                        **({} if self.raw_p_values is None else {"p_value_adjusted": float(self.p_values[c, k, l])}),
                        "significant": bool(self.significant[c, k, l]),
                        "cav_accuracy": float(self.cav_accuracy[c, l].mean()),
                    })
        return pd.DataFrame(rows)

    def to_records(self) -> list[dict]:
        """The CLI's ``tcav`` list: concept, class (label text), layer, score, p_value, significant (+ extras)."""
        records = self.table().to_dict(orient="records")
        for row in records:
            row["p_value"] = None if np.isnan(row["p_value"]) else row["p_value"]
        return records

    def mean_cavs(self) -> dict[str, np.ndarray]:
        """layer -> (C, d) the unit mean CAV of each concept over the random runs."""
        out = {}
        for layer, cavs in self.cavs.items():
            mean = cavs.mean(axis=1)
            out[layer] = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return out

    # -- storage: numbers as JSON, CAVs as safetensors -------------------------------------------
    def to_json(self) -> dict:
        return {
            "concept_names": self.concept_names,
            "class_names": self.class_names,
            "layer_names": self.layer_names,
            "run_scores": self.run_scores.tolist(),
            "null_scores": self.null_scores.tolist(),
            "cav_accuracy": self.cav_accuracy.tolist(),
            "null_cav_accuracy": self.null_cav_accuracy.tolist(),
            "p_values": [[[None if np.isnan(p) else float(p) for p in row] for row in block] for block in self.p_values],
            "n_examples": self.n_examples.tolist(),
            "concept_sizes": list(self.concept_sizes),
            "alpha": self.alpha,
            "seed": self.seed,
        }

    def cav_arrays(self) -> dict[str, np.ndarray]:
        """CAVs for the store, as float16: unit directions lose nothing that matters and take half the space."""
        return {f"cav.{layer}": np.ascontiguousarray(cavs, dtype=np.float16) for layer, cavs in self.cavs.items()}

    @classmethod
    def from_json(cls, data: dict, cav_arrays: dict[str, np.ndarray] | None = None) -> "TCAVResult":
        p_values = np.array([[[np.nan if p is None else p for p in row] for row in block] for block in data["p_values"]], dtype=float)
        cavs = {key[4:]: np.asarray(value, dtype=np.float32) for key, value in (cav_arrays or {}).items() if key.startswith("cav.")}
        return cls(
            concept_names=list(data["concept_names"]),
            class_names=list(data["class_names"]),
            layer_names=list(data["layer_names"]),
            run_scores=np.asarray(data["run_scores"], dtype=float),
            null_scores=np.asarray(data["null_scores"], dtype=float),
            cav_accuracy=np.asarray(data["cav_accuracy"], dtype=float),
            null_cav_accuracy=np.asarray(data["null_cav_accuracy"], dtype=float),
            p_values=p_values,
            n_examples=np.asarray(data["n_examples"], dtype=int),
            concept_sizes=list(data["concept_sizes"]),
            alpha=float(data.get("alpha", ALPHA)),
            seed=int(data.get("seed", 0)),
            cavs=cavs,
        )


def two_sided_p_value(concept_scores: np.ndarray, null_scores: np.ndarray) -> float:
    """Two-sided t-test of concept vs random-vs-random TCAV scores (scipy.stats.ttest_ind).

    When both samples have no spread the t statistic is undefined: equal constants give p = 1,
    different constants p = 0 (the runs agree perfectly that they differ).
    """
    from scipy import stats

    a, b = np.asarray(concept_scores, dtype=float), np.asarray(null_scores, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if a.std() == 0 and b.std() == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b).pvalue)


class _LogisticCAV:
    """captum Classifier: a seeded, stratified 67/33 split and scikit-learn's LogisticRegression.

    captum's DefaultClassifier shuffles with Python's global ``random`` (not reproducible) and
    trains an SGD model; this one gives the same CAVs for the same seed.
    """

    def __init__(self, seed: int, on_fit: Callable[[], None] | None = None):
        self.seed = seed
        self.on_fit = on_fit
        self.fits = 0
        self._weights = None
        self._classes = None

    def train_and_eval(self, dataloader, **_kwargs):
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        inputs, labels = zip(*[(x.detach().float().cpu(), y.detach().cpu()) for x, y in dataloader])
        X = torch.cat(inputs).numpy().astype(np.float64)
        y = torch.cat(labels).numpy()
        self.fits += 1
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.33, random_state=self.seed + self.fits, stratify=y)
        # liblinear's primal Newton solver: deterministic, and ~5x faster than lbfgs on these
        # few-samples, many-features problems
        model = LogisticRegression(solver="liblinear", max_iter=1000, class_weight="balanced")
        model.fit(X_train, y_train)
        accuracy = float((model.predict(X_test) == y_test).mean())
        w = model.coef_[0]
        self._weights = torch.tensor(np.stack([-w, w]), dtype=torch.float32)  # one row per class, classes_ order
        self._classes = [int(c) for c in model.classes_]
        if self.on_fit is not None:
            self.on_fit()
        return {"accs": accuracy}

    def weights(self):
        return self._weights

    def classes(self):
        return self._classes


def _captum_classifier(seed: int, on_fit=None):
    from captum.concept._utils.classifier import Classifier

    class LogisticCAV(_LogisticCAV, Classifier):
        pass

    return LogisticCAV(seed, on_fit)


def draw_random_sets(pool_size: int, set_size: int, n_sets: int, seed, exclude: np.ndarray | None = None) -> list[np.ndarray]:
    """Indices of ``n_sets`` random example sets (each without repeats) drawn from a pool, never from ``exclude``."""
    rng = np.random.default_rng(seed)
    allowed = np.setdiff1d(np.arange(pool_size), np.asarray(exclude if exclude is not None else [], dtype=int))
    size = min(set_size, len(allowed))
    return [np.sort(rng.choice(allowed, size=size, replace=False)) for _ in range(n_sets)]


def tcav(
    model: nn.Module,
    layers: dict[str, str],
    concepts: dict[str, np.ndarray],
    random_pool: np.ndarray,
    inputs_by_class: list[np.ndarray],
    class_names: list[str],
    *,
    exclude: dict[str, np.ndarray] | None = None,
    n_random: int = 10,
    random_set_size: int = 50,
    alpha: float = ALPHA,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> TCAVResult:
    """TCAV scores for every concept x class x layer, with significance against ``n_random`` random sets.

    ``layers``: display name -> module path in ``model``; ``concepts``: name -> examples (m, ...);
    ``random_pool``: examples random sets are drawn from; ``exclude[name]``: pool indices never drawn
    into that concept's random sets (its own examples: with concept prevalences of 30-70 %, a
    plain random set would be half concept examples and the CAV mostly noise). The null sets are
    drawn from the whole pool, in independent pairs. ``inputs_by_class[k]``: the examples of class k whose gradients are
    scored. ``progress(done, total)`` hears each CAV fit.
    """
    from captum.concept import TCAV, Concept

    if n_random < 2:
        raise DataError(f"TCAV needs at least 2 random sets for its t-test; got n_random={n_random}.")
    for name, examples in concepts.items():
        if len(examples) < MIN_CONCEPT_EXAMPLES:
            raise DataError(f"Concept '{name}' has {len(examples)} example(s); expected at least {MIN_CONCEPT_EXAMPLES} to train a CAV.")
    exclude = exclude or {}
    device = torch.device(device)
    model = model.to(device).eval()
    concept_names = list(concepts)
    layer_names = list(layers)
    module_paths = [layers[name] for name in layer_names]
    C, K, L, R = len(concept_names), len(class_names), len(layer_names), n_random
    NULL = 10**6  # captum ids: concepts 0..C-1, their random sets 1000 + c * R + r, the null sets NULL + r

    def batches(X: np.ndarray) -> list[torch.Tensor]:
        tensor = torch.as_tensor(np.asarray(X, dtype=np.float32))
        return [tensor[i : i + 256].to(device) for i in range(0, len(tensor), 256)]

    experimental_sets = []
    for c, name in enumerate(concept_names):
        concept = Concept(c, f"c{c}", batches(concepts[name]))
        # seeded per concept, so adding a concept never changes another concept's random sets
        for r, index in enumerate(draw_random_sets(len(random_pool), random_set_size, R, [seed, c], exclude.get(name))):
            experimental_sets.append([concept, Concept(1000 + c * R + r, f"r{c}_{r}", batches(random_pool[index]))])
    # the null: R independent pairs of random sets (a shared first set would correlate the runs)
    null_sets = [Concept(NULL + r, f"n{r}", batches(random_pool[index])) for r, index in enumerate(draw_random_sets(len(random_pool), random_set_size, 2 * R, [seed, NULL]))]
    experimental_sets += [[null_sets[2 * r], null_sets[2 * r + 1]] for r in range(R)]

    def concept_key(c: int, r: int) -> str:
        return f"{c}-{1000 + c * R + r}"

    def null_key(r: int) -> str:
        return f"{NULL + 2 * r}-{NULL + 2 * r + 1}"

    n_fits = len(experimental_sets) * L
    done = {"fits": 0}

    def on_fit() -> None:
        done["fits"] += 1
        if progress is not None:
            progress(done["fits"], n_fits)

    run_scores = np.full((C, K, L, R), np.nan)
    null_scores = np.full((K, L, R), np.nan)
    cav_accuracy = np.zeros((C, L, R))
    null_cav_accuracy = np.zeros((L, R))
    cavs: dict[str, np.ndarray] = {}
    n_examples = np.array([len(x) for x in inputs_by_class])

    with tempfile.TemporaryDirectory(prefix="interp-tcav-") as save_path, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = TCAV(model, module_paths, model_id="model", classifier=_captum_classifier(seed, on_fit), save_path=save_path)
        cav_table = explainer.compute_cavs(experimental_sets)
        for l, path in enumerate(module_paths):
            layer_cavs = np.zeros((C, R, 0), dtype=np.float32)
            for c in range(C):
                for r in range(R):
                    stats = cav_table[concept_key(c, r)][path].stats
                    weights = stats["weights"].float().cpu().numpy()
                    if layer_cavs.shape[2] == 0:
                        layer_cavs = np.zeros((C, R, weights.shape[1]), dtype=np.float32)
                    direction = weights[list(stats["classes"]).index(c)]  # the row that points towards the concept
                    layer_cavs[c, r] = direction / max(np.linalg.norm(direction), 1e-12)
                    cav_accuracy[c, l, r] = float(stats["accs"])
            cavs[layer_names[l]] = layer_cavs
            for r in range(R):
                null_cav_accuracy[l, r] = float(cav_table[null_key(r)][path].stats["accs"])
        for k in range(K):
            if n_examples[k] == 0:
                continue
            inputs = torch.as_tensor(np.asarray(inputs_by_class[k], dtype=np.float32)).to(device)
            scores = explainer.interpret(inputs, experimental_sets, target=k)
            for l, path in enumerate(module_paths):
                for c in range(C):
                    for r in range(R):
                        run_scores[c, k, l, r] = float(scores[concept_key(c, r)][path]["sign_count"][0])
                for r in range(R):
                    null_scores[k, l, r] = float(scores[null_key(r)][path]["sign_count"][0])

    p_values = np.full((C, K, L), np.nan)
    for c in range(C):
        for k in range(K):
            for l in range(L):
                if n_examples[k]:
                    p_values[c, k, l] = two_sided_p_value(run_scores[c, k, l], null_scores[k, l])
    return TCAVResult(
        concept_names=concept_names,
        class_names=list(class_names),
        layer_names=layer_names,
        run_scores=run_scores,
        null_scores=null_scores,
        cav_accuracy=cav_accuracy,
        null_cav_accuracy=null_cav_accuracy,
        p_values=p_values,
        n_examples=n_examples,
        concept_sizes=[len(concepts[name]) for name in concept_names],
        alpha=alpha,
        seed=seed,
        cavs=cavs,
    )


def concept_example_sets(concepts: np.ndarray, concept_names: list[str], max_size: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """name -> indices of up to ``max_size`` examples labelled 1 for that concept (seeded draw)."""
    rng = np.random.default_rng(seed)
    out = {}
    for j, name in enumerate(concept_names):
        positives = np.flatnonzero(np.asarray(concepts)[:, j] > 0.5)
        if len(positives) > max_size:
            positives = np.sort(rng.choice(positives, size=max_size, replace=False))
        out[name] = positives
    return out


def class_inputs(X: np.ndarray, y: np.ndarray, n_classes: int, max_per_class: int = 150, seed: int = 0) -> list[np.ndarray]:
    """The examples of each class that TCAV scores (a seeded subset of at most ``max_per_class``)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_classes):
        members = np.flatnonzero(np.asarray(y) == k)
        if len(members) > max_per_class:
            members = np.sort(rng.choice(members, size=max_per_class, replace=False))
        out.append(np.asarray(X)[members])
    return out


def concept_sensitivity(model: nn.Module, layer_path: str, X: np.ndarray, target: int, directions: np.ndarray, device: torch.device | str = "cpu") -> np.ndarray:
    """Directional derivatives (n, C): the gradient of class ``target``'s logit at a layer, dotted with
    each concept's unit CAV ``directions`` (C, d). Positive: moving towards the concept raises the class.

    The gradient is taken with torch.autograd at a forward hook (what captum's LayerGradientXActivation
    with multiply_by_inputs=False returns), so the page's per-example drill-down does not import
    captum (0.6 s of CPU) on its first visit."""
    device = torch.device(device)
    model = model.to(device).eval()
    seen = {}
    handle = hook_here(model.get_submodule(layer_path), lambda _module, _inputs, output: seen.__setitem__("activation", output))
    try:
        with torch.enable_grad():
            inputs = torch.as_tensor(np.asarray(X, dtype=np.float32)).to(device)
            logits = model(inputs)
            (gradients,) = torch.autograd.grad(logits[:, int(target)].sum(), seen["activation"])
    finally:
        handle.remove()
    return gradients.reshape(len(inputs), -1).detach().cpu().numpy() @ np.asarray(directions, dtype=np.float32).T
