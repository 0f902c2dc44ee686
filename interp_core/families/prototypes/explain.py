"""Analyses of a prototype network: push, quality metrics, sampled uncertainty, local explanations.

Pure functions on arrays (known-answer tests use them directly) plus ``analyse``, which runs
them all on a trained model and a dataset and returns one ``PrototypeReport`` for the page,
the CLI and the trainer (which records the metrics in the manifest).

Metrics (all on the test set unless said otherwise):

- ``test_accuracy``: share of test examples classified correctly (mean prototypes).
- ``prototype_purity``: mean over prototypes of the share of its 10 nearest encoded training
  examples (squared L2 in latent space) that belong to the prototype's class.
- ``decoded_distance``: mean over prototypes of the RMS distance, per input value in the model's
  scaled units (min-max for images, z-scores for tables and series), between the decoded
  prototype and its nearest training example; ``decoded_distance_ratio`` divides it by the
  median distance of a training example to its nearest other training example (about 1: a
  decoded prototype is as close to a real case as real cases are to each other).
- ``stability``: share of (test example, noise draw) pairs whose most similar prototype stays the
  same when Gaussian noise of ``noise_level`` scaled units is added to the input (5 draws).
- probabilistic models: ``uncertainty_auroc`` = AUROC of the predictive entropy (from sampled
  prototype sets) for telling wrong predictions from right ones (0.5: no better than chance;
  1: every wrong prediction is more uncertain than every right one);
  ``explanation_uncertainty_auroc`` the same for the top-prototype change rate.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from interp_core.data import Dataset
from interp_core.training import batched

PURITY_NEIGHBOURS = 10
NOISE_LEVEL = 0.05
NOISE_REPEATS = 5
N_SAMPLES = 64
FLAG_TOP_CHANGE = 0.25  # explanation flagged when the top prototype changes in >= 25% of sampled sets
FLAG_CLASS_FLIP = 0.10  # prediction flagged when >= 10% of sampled sets predict another class


# -- pure functions on arrays -----------------------------------------------------------------------
def pairwise_sq_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared L2 distances (len(A), len(B)), computed in float64 and clipped at 0."""
    A = np.asarray(A, dtype=np.float64).reshape(len(A), -1)
    B = np.asarray(B, dtype=np.float64).reshape(len(B), -1)
    d = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


@dataclass
class Purity:
    """purity (m,): share of each prototype's k nearest training examples in its class;
    neighbours (m, k): their training indices, nearest first; distances (m, k): squared latent distances."""

    purity: np.ndarray
    neighbours: np.ndarray
    distances: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.purity.mean()) if len(self.purity) else float("nan")


def prototype_purity(latent_train: np.ndarray, y_train: np.ndarray, prototypes: np.ndarray, prototype_class: np.ndarray, k: int = PURITY_NEIGHBOURS) -> Purity:
    k = int(min(k, len(latent_train)))
    d = pairwise_sq_distances(prototypes, latent_train)
    neighbours = np.argsort(d, axis=1, kind="stable")[:, :k]
    labels = np.asarray(y_train)[neighbours]
    purity = (labels == np.asarray(prototype_class)[:, None]).mean(axis=1)
    return Purity(purity, neighbours, np.take_along_axis(d, neighbours, axis=1))


def nearest_examples(vectors: np.ndarray, examples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each vector (m, ...) the index of the nearest example (n, ...) and the RMS distance per value."""
    d = pairwise_sq_distances(vectors, examples)
    index = d.argmin(axis=1)
    n_values = int(np.prod(np.asarray(vectors).shape[1:])) or 1
    return index, np.sqrt(d[np.arange(len(index)), index] / n_values)


def typical_neighbour_distance(examples: np.ndarray, max_examples: int = 2000, seed: int = 0) -> float:
    """Median RMS distance per value from a training example to its nearest other training example."""
    examples = np.asarray(examples).reshape(len(examples), -1)
    if len(examples) < 2:
        return float("nan")
    if len(examples) > max_examples:
        examples = examples[np.random.default_rng(seed).choice(len(examples), max_examples, replace=False)]
    d = pairwise_sq_distances(examples, examples)
    np.fill_diagonal(d, np.inf)
    return float(np.median(np.sqrt(d.min(axis=1) / examples.shape[1])))


def nearest_of_class(latent_train: np.ndarray, y_train: np.ndarray, prototypes: np.ndarray, prototype_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each prototype: the training index of the nearest encoded example of the prototype's own
    class and its squared distance (a class with no training example gives index -1, distance inf)."""
    d = pairwise_sq_distances(prototypes, latent_train)
    same = np.asarray(prototype_class)[:, None] == np.asarray(y_train)[None, :]
    d = np.where(same, d, np.inf)
    index = d.argmin(axis=1)
    distance = d[np.arange(len(index)), index]
    return np.where(np.isfinite(distance), index, -1), distance


def top_prototype_stability(top_clean: np.ndarray, top_noisy: np.ndarray) -> tuple[float, np.ndarray]:
    """Share of (example, draw) pairs whose top prototype is unchanged; per example (n,) as well.

    top_clean (n,), top_noisy (draws, n)."""
    same = np.asarray(top_noisy) == np.asarray(top_clean)[None, :]
    per_example = same.mean(axis=0)
    return float(same.mean()) if same.size else float("nan"), per_example


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (ties count half); NaN with one class only."""
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(score)  # average ranks: ties count half (Mann-Whitney U)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def entropy(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=-1)


# -- model-level analyses ------------------------------------------------------------------------
def _model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@dataclass
class Forward:
    """latent (n, d), distances and similarities (n, m), logits and probabilities (n, K), predictions (n,)."""

    latent: np.ndarray
    distances: np.ndarray
    similarities: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    @property
    def top_prototype(self) -> np.ndarray:
        return self.similarities.argmax(axis=1)


@torch.no_grad()
def forward_details(model: nn.Module, X: np.ndarray | None, prototypes: torch.Tensor | None = None, latent: np.ndarray | None = None) -> Forward:
    """Run the network with its mean prototypes (or the given (m, d) set) and keep every stage;
    pass ``latent`` (n, d) instead of X to skip the encoder."""
    from interp_core.families.prototypes.models import squared_distances

    model.eval()
    device = _model_device(model)
    if latent is None:
        latent = batched(model.embed, X, device)
    z = torch.as_tensor(latent, device=device)
    protos = model.prototype_vectors if prototypes is None else prototypes.to(device)
    distances = squared_distances(z, protos)
    similarities = model.similarity(distances)
    logits = model.logits_from_similarities(similarities)
    return Forward(latent, distances.cpu().numpy(), similarities.cpu().numpy(), logits.cpu().numpy(), torch.softmax(logits, 1).cpu().numpy())


@torch.no_grad()
def noisy_top_prototypes(model: nn.Module, X: np.ndarray, noise_level: float = NOISE_LEVEL, repeats: int = NOISE_REPEATS, seed: int = 0) -> np.ndarray:
    """(repeats, n) most similar prototype after adding N(0, noise_level^2) in the model's scaled input units."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.asarray(X, dtype=np.float32))
    scale = model.input_scale.scale.detach().cpu()
    shape = x.shape if x.ndim - 1 == len(model.input_scale.scale.shape) else None
    tops = []
    for _ in range(repeats):
        noise = torch.randn(x.shape, generator=generator) * noise_level
        if shape is None:  # a flattening model: scale is per flattened feature
            noisy = x + (noise.flatten(1) * scale).reshape(x.shape)
        else:
            noisy = x + noise * scale
        tops.append(forward_details(model, noisy.numpy()).top_prototype)
    return np.stack(tops) if tops else np.zeros((0, len(X)), dtype=np.int64)


@dataclass
class PushResult:
    """ProtoPNet's projection: each prototype replaced by its nearest encoded training example of its class.

    prototypes (m, d): the pushed latent vectors; train_index (m,): the training example each became;
    moved (m,): squared latent distance each prototype moved; accuracies on the evaluation set."""

    prototypes: np.ndarray
    train_index: np.ndarray
    moved: np.ndarray
    accuracy_before: float
    accuracy_after: float


def push_prototypes(model: nn.Module, X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray) -> PushResult:
    """Compute the push without changing ``model``; ``pushed_copy`` applies it."""
    before = forward_details(model, X_eval)
    latent_train = forward_details(model, X_train).latent
    prototypes = model.prototype_vectors.detach().cpu().numpy()
    classes = model.prototype_class.cpu().numpy()
    index, moved = nearest_of_class(latent_train, y_train, prototypes, classes)
    pushed = np.where((index >= 0)[:, None], latent_train[np.maximum(index, 0)], prototypes).astype(np.float32)
    after = forward_details(model, None, torch.as_tensor(pushed), latent=before.latent)
    return PushResult(
        pushed, index, np.where(index >= 0, moved, 0.0),
        float((before.predictions == np.asarray(y_eval)).mean()), float((after.predictions == np.asarray(y_eval)).mean()),
    )


def pushed_copy(model: nn.Module, prototypes: np.ndarray) -> nn.Module:
    """A copy of the model whose prototype means are ``prototypes`` (m, d); the original is untouched."""
    clone = copy.deepcopy(model)
    with torch.no_grad():
        clone.prototype_vectors.copy_(torch.as_tensor(np.asarray(prototypes), dtype=torch.float32, device=clone.prototype_vectors.device))
    return clone.eval()


@dataclass
class SampledPredictions:
    """Predictive distribution from ``n_samples`` sampled prototype sets (shapes: n examples, K classes, m prototypes).

    probabilities / probability_std (n, K): mean and spread of the class probabilities;
    similarity_mean / similarity_std (n, m); top_change_rate (n,): share of sets whose most similar
    prototype differs from the mean prototypes'; class_flip_rate (n,): share whose predicted class
    differs; entropy (n,): predictive entropy of the mean probabilities (nats); flags (n,) bool."""

    probabilities: np.ndarray
    probability_std: np.ndarray
    similarity_mean: np.ndarray
    similarity_std: np.ndarray
    top_change_rate: np.ndarray
    class_flip_rate: np.ndarray
    entropy: np.ndarray
    n_samples: int
    flag_top_change: float = FLAG_TOP_CHANGE
    flag_class_flip: float = FLAG_CLASS_FLIP

    @property
    def explanation_uncertain(self) -> np.ndarray:
        return self.top_change_rate >= self.flag_top_change

    @property
    def prediction_uncertain(self) -> np.ndarray:
        return self.class_flip_rate >= self.flag_class_flip

    @property
    def flagged(self) -> np.ndarray:
        return self.explanation_uncertain | self.prediction_uncertain


@torch.no_grad()
def sample_predictions(model: nn.Module, X: np.ndarray, n_samples: int = N_SAMPLES, seed: int = 0) -> SampledPredictions:
    """Draw prototype sets from a probabilistic model (point prototypes give zero spread).

    All sets are scored at once: distances (n, n_samples * m) in float64, then one matrix product."""
    base = forward_details(model, X)
    generator = torch.Generator().manual_seed(seed)
    sets = model.sample_prototypes(n_samples, generator).detach().cpu().numpy()  # (S, m, d)
    S, m, _ = sets.shape
    distances = pairwise_sq_distances(base.latent, sets.reshape(S * m, -1)).reshape(len(base.latent), S, m)
    similarities = model.similarity(torch.as_tensor(distances)).numpy()  # (n, S, m)
    weights = model.last_layer.weight.detach().cpu().double().numpy()  # (K, m)
    logits = similarities @ weights.T  # (n, S, K)
    P = np.exp(logits - logits.max(axis=2, keepdims=True))
    P /= P.sum(axis=2, keepdims=True)
    mean_p = P.mean(axis=1)
    tops, classes = similarities.argmax(axis=2), logits.argmax(axis=2)  # (n, S)
    return SampledPredictions(
        mean_p, P.std(axis=1), similarities.mean(axis=1), similarities.std(axis=1),
        (tops != base.top_prototype[:, None]).mean(axis=1),
        (classes != base.predictions[:, None]).mean(axis=1),
        entropy(mean_p), int(n_samples),
    )


@dataclass
class LocalExplanation:
    """"This looks like that" for one example. order (m,): prototypes by similarity, most similar first.

    contributions (m,) = (similarity - baseline) x weight to the predicted class, where the baseline
    is each prototype's mean similarity over the training set: they add up exactly to
    ``logit - baseline_logit`` (the predicted class's logit minus its mean over the training set),
    so a positive bar means "more like (or unlike) this prototype than usual, which pushes towards
    the prediction". Without a baseline they add up to the logit itself."""

    predicted: int
    probabilities: np.ndarray
    logit: float
    baseline_logit: float
    similarities: np.ndarray
    distances: np.ndarray
    contributions: np.ndarray
    order: np.ndarray
    similarity_std: np.ndarray | None = None
    top_change_rate: float | None = None
    class_flip_rate: float | None = None
    flagged: bool = False


def local_explanation(similarities: np.ndarray, distances: np.ndarray, weights: np.ndarray, baseline: np.ndarray | None = None, sampled: SampledPredictions | None = None, index: int | None = None) -> LocalExplanation:
    """Build the local view from one example's similarities (m,) and distances (m,), the weights (m, K)
    and the baseline similarities (m,) (zeros when None)."""
    similarities = np.asarray(similarities, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    baseline = np.zeros_like(similarities) if baseline is None else np.asarray(baseline, dtype=np.float64)
    logits = similarities @ weights
    predicted = int(logits.argmax())
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    contributions = (similarities - baseline) * weights[:, predicted]
    order = np.argsort(-similarities, kind="stable")
    local = LocalExplanation(predicted, probabilities, float(logits[predicted]), float(baseline @ weights[:, predicted]), similarities, np.asarray(distances), contributions, order)
    if sampled is not None and index is not None:
        local.similarity_std = sampled.similarity_std[index]
        local.top_change_rate = float(sampled.top_change_rate[index])
        local.class_flip_rate = float(sampled.class_flip_rate[index])
        local.flagged = bool(sampled.flagged[index])
    return local


@dataclass
class PrototypeReport:
    """Everything the page shows for one model (learned or pushed prototypes). Shapes: m prototypes,
    d latent dims, K classes; *_train / *_test rows follow the dataset's splits."""

    prototype_class: np.ndarray  # (m,)
    weights: np.ndarray  # (m, K) last-layer weight from each prototype to each class
    prototypes: np.ndarray  # (m, d)
    prototype_std: np.ndarray  # (m, d), zeros for point prototypes
    decoded: np.ndarray  # (m, *input_shape), input units
    decoded_scaled: np.ndarray  # (m, values), the model's scaled units
    latent_train: np.ndarray
    similarity_baseline: np.ndarray  # (m,) mean similarity of the training examples to each prototype
    test: Forward
    purity: Purity
    decoded_nearest: np.ndarray  # (m,) training index nearest to each decoded prototype (input space)
    decoded_distance: np.ndarray  # (m,) RMS distance per value, scaled units
    reference_distance: float
    stability_per_example: np.ndarray  # (n_test,)
    sampled: SampledPredictions | None
    metrics: dict = field(default_factory=dict)

    def local(self, index: int) -> LocalExplanation:
        return local_explanation(self.test.similarities[index], self.test.distances[index], self.weights, self.similarity_baseline, self.sampled, index)


def scaled_inputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Inputs in the model's scaled units (min-max for images, z-scores otherwise), flattened (n, values)."""
    device = _model_device(model)
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
        if x.ndim - 1 != model.input_scale.scale.ndim:
            x = x.flatten(1)
        return model.input_scale(x).cpu().numpy().reshape(len(X), -1)


def analyse(model: nn.Module, dataset: Dataset, *, noise_level: float = NOISE_LEVEL, n_samples: int = N_SAMPLES, seed: int = 0, push: PushResult | None = None) -> PrototypeReport:
    """All global and local analyses of ``model`` on ``dataset`` (``push``: add its accuracies to the metrics)."""
    model.eval()
    device = _model_device(model)
    prototypes = model.prototype_vectors.detach()
    classes = model.prototype_class.cpu().numpy()
    with torch.no_grad():
        decoded_scaled = model.decode_scaled(prototypes).cpu().numpy().reshape(len(classes), -1)
        decoded = model.decode(prototypes).cpu().numpy()
    test = forward_details(model, dataset.X_test)
    train = forward_details(model, dataset.X_train)
    latent_train = train.latent
    purity = prototype_purity(latent_train, dataset.y_train, prototypes.cpu().numpy(), classes)
    train_scaled = scaled_inputs(model, dataset.X_train)
    nearest, distance = nearest_examples(decoded_scaled, train_scaled)
    reference = typical_neighbour_distance(train_scaled, seed=seed)
    stability, per_example = top_prototype_stability(test.top_prototype, noisy_top_prototypes(model, dataset.X_test, noise_level, NOISE_REPEATS, seed))
    sampled = sample_predictions(model, dataset.X_test, n_samples, seed) if getattr(model, "probabilistic", False) else None
    wrong = test.predictions != dataset.y_test
    metrics = {
        "test_accuracy": round(float((~wrong).mean()), 6),
        "prototype_purity": round(purity.mean, 6),
        "stability": round(stability, 6),
        "n_prototypes": int(len(classes)),
        "decoded_distance": round(float(distance.mean()), 6),
        "decoded_distance_ratio": round(float(distance.mean() / reference), 6) if reference > 0 else None,
        "noise_level": noise_level,
        "device": device.type,
    }
    if sampled is not None:
        metrics.update({
            "uncertainty_auroc": _round(auroc(sampled.entropy, wrong)),
            "explanation_uncertainty_auroc": _round(auroc(sampled.top_change_rate, wrong)),
            "flagged_share": round(float(sampled.flagged.mean()), 6),
            "errors_flagged": _round(float(sampled.flagged[wrong].mean())) if wrong.any() else None,
            "sampled_accuracy": round(float((sampled.probabilities.argmax(1) == dataset.y_test).mean()), 6),
            "n_samples": int(n_samples),
        })
    if push is not None:
        metrics.update({"push_accuracy_before": round(push.accuracy_before, 6), "push_accuracy_after": round(push.accuracy_after, 6)})
    return PrototypeReport(
        classes, model.last_layer.weight.detach().cpu().numpy().T, prototypes.cpu().numpy(), model.prototype_std().detach().cpu().numpy(),
        decoded, decoded_scaled, latent_train, train.similarities.mean(axis=0), test, purity, nearest, distance, reference, per_example, sampled, metrics,
    )


def _round(value: float) -> float | None:
    return None if value is None or value != value else round(float(value), 6)


def metric_readings(metrics: dict) -> dict[str, str]:
    """One plain sentence per metric, for the quality panel (keys follow ``metrics``)."""
    out: dict[str, str] = {}
    acc = metrics.get("test_accuracy")
    if acc is not None:
        out["test_accuracy"] = f"{acc:.1%} of held-out examples are classified correctly by similarity to the prototypes alone."
    purity = metrics.get("prototype_purity")
    if purity is not None:
        verdict = "prototypes sit inside their class" if purity >= 0.8 else "several prototypes sit between classes: read their pictures with care"
        out["prototype_purity"] = f"On average {purity * PURITY_NEIGHBOURS:.1f} of a prototype's {PURITY_NEIGHBOURS} nearest training examples share its class: {verdict}."
    ratio = metrics.get("decoded_distance_ratio")
    if ratio is not None:
        verdict = "about as close as real examples are to each other, so the pictures are realistic" if ratio <= 1.5 else "farther than real examples are from each other, so the pictures may not look like any real case"
        out["decoded_distance"] = f"A decoded prototype lies {ratio:.2f}x the typical gap between neighbouring training examples from its nearest real one: {verdict}."
    stability = metrics.get("stability")
    if stability is not None:
        verdict = "explanations are robust to small changes" if stability >= 0.9 else "explanations of some examples change with tiny input changes"
        out["stability"] = f"The most similar prototype stays the same for {stability:.1%} of test examples under {metrics.get('noise_level', NOISE_LEVEL):g} units of input noise: {verdict}."
    if "push_accuracy_before" in metrics:
        before, after = metrics["push_accuracy_before"], metrics["push_accuracy_after"]
        change = "unchanged" if abs(after - before) < 1e-9 else f"{'up' if after > before else 'down'} {abs(after - before) * 100:.1f} percentage points"
        out["push"] = f"Replacing every prototype by its nearest real training case moves test accuracy from {before:.1%} to {after:.1%} ({change})."
    if "uncertainty_auroc" in metrics:
        value = metrics["uncertainty_auroc"]
        if value is None:
            out["uncertainty_auroc"] = "No wrong test predictions, so there is nothing for the uncertainty to flag."
        else:
            verdict = "uncertainty is a useful warning sign" if value >= 0.75 else ("uncertainty is a weak warning sign" if value > 0.6 else "uncertainty barely separates errors from correct predictions")
            out["uncertainty_auroc"] = f"A wrong prediction is more uncertain than a right one {value:.0%} of the time (AUROC; 50% is chance): {verdict}."
    return out
