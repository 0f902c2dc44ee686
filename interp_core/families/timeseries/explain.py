"""Attributions for series classifiers, and how faithful they are.

Every method has captum's shape: the model goes into the constructor and
``attribute(inputs, target) -> np.ndarray`` returns an array of the input's shape (n, channels,
time). Inputs are cut into batches and run on the model's device (CUDA when the model lives
there). Methods (captum underneath):

- ``integrated_gradients``: path integral of gradients from the baseline (32 Gauss-Legendre steps).
- ``saliency``: absolute gradient of the target logit (captum's default, so never negative).
- ``deeplift``: DeepLift (rescale rule) against the baseline.
- ``gradient_shap``: expected gradients x (input - baseline) over a background sample of
  training series (16 samples, noise 0.1 x the background's standard deviation).
- ``occlusion``: a window of ``window`` steps on one channel slides with stride ``window // 2``;
  each step gets the mean drop of the target logit over the windows that cover it.
- ``feature_ablation``: each block of ``window`` steps of each channel is replaced by the baseline
  in turn; the drop of the target logit is its attribution.

``tsr=True`` adds temporal saliency rescaling (Ismail et al. 2020, as in TSInterpret): the time
relevance of each window of steps is how much the method's attribution map changes when that
window (all channels) is replaced by the baseline; in windows above the 55 % quantile of time
relevance the feature relevance of each channel is measured the same way; the result is time
relevance x feature relevance (0 elsewhere), a non-negative map. Windows are ``tsr_window`` steps
wide (default ceil(time / 50), so at most 50 windows; 1 is the paper's per-step version).

Scores:

- ``ground_truth_scores``: TimeX's AUPRC, AUP and AUR (per example: min-max normalise the
  attribution, average precision against the mask, areas under precision and recall over the
  thresholds of sklearn's precision-recall curve); examples whose mask is empty are skipped.
- ``deletion_insertion``: replace the most attributed steps first (deletion: by the baseline;
  insertion: the baseline gets the original values back) and follow the probability of the
  target class; the areas under both curves (x = share of steps, 0 to 1).
- ``explanation_map``: UMAP (or PCA) of per-example normalised attribution maps.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from interp_core.errors import InterpError

METHODS: dict[str, str] = {
    "integrated_gradients": "Integrated Gradients",
    "saliency": "Saliency",
    "deeplift": "DeepLift",
    "gradient_shap": "GradientSHAP",
    "occlusion": "Occlusion",
    "feature_ablation": "Feature Ablation",
}
RANDOM = "random"  # a reference "method": uniform noise, what chance looks like
ALIASES = {
    "ig": "integrated_gradients", "integratedgradients": "integrated_gradients", "sal": "saliency", "gradient": "saliency",
    "dl": "deeplift", "gs": "gradient_shap", "gradshap": "gradient_shap", "gradientshap": "gradient_shap", "shap": "gradient_shap",
    "occ": "occlusion", "fa": "feature_ablation", "ablation": "feature_ablation", "featureablation": "feature_ablation",
}
TSR_SUFFIX = "+tsr"
# captum's DeepLift puts hooks on the model's modules while it runs; models are shared between
# app sessions, so one attribution runs at a time per process.
_LOCK = threading.RLock()


def method_label(key: str) -> str:
    base, tsr = split_method(key)
    label = "Random (reference)" if base == RANDOM else METHODS[base]
    return label + (" + TSR" if tsr else "")


def split_method(key: str) -> tuple[str, bool]:
    """'occlusion+tsr' -> ('occlusion', True)."""
    return (key[: -len(TSR_SUFFIX)], True) if key.endswith(TSR_SUFFIX) else (key, False)


def resolve_methods(names: list[str] | str | None, allow_random: bool = True) -> list[str]:
    """Method keys from user text ('ig, occlusion+tsr' or a list); unknown names raise one sentence."""
    if names is None:
        return list(METHODS)
    if isinstance(names, str):
        names = [names]
    parts = [p.strip().lower().replace("-", "_").replace(" ", "_") for n in names for p in str(n).split(",") if p.strip()]
    if any(p == "all" for p in parts):
        return list(METHODS) + ([RANDOM] if allow_random else [])
    out = []
    for part in parts:
        base, tsr = split_method(part)
        base = ALIASES.get(base.replace("_", ""), ALIASES.get(base, base))
        if base not in METHODS and not (allow_random and base == RANDOM and not tsr):
            choices = ", ".join(list(METHODS) + list(ALIASES)[:0] + ([RANDOM] if allow_random else []))
            raise InterpError(f"Unknown attribution method '{part}'; expected one of: {choices} (add '+tsr' for temporal saliency rescaling).")
        key = base + (TSR_SUFFIX if tsr else "")
        if key not in out:
            out.append(key)
    if not out:
        raise InterpError("No attribution method was given; expected a comma-separated list such as 'integrated_gradients,occlusion'.")
    return out


def model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _as_series(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise InterpError(f"Series inputs have shape {X.shape}; expected (n, channels, time) or (channels, time).")
    return X


def _targets(target, n: int) -> np.ndarray:
    target = np.full(n, int(target), dtype=np.int64) if np.ndim(target) == 0 else np.array(target, dtype=np.int64).reshape(-1)
    if len(target) != n:
        raise InterpError(f"{len(target)} targets were given for {n} series; expected one class index per series.")
    return target


def channel_baseline(X_train: np.ndarray) -> np.ndarray:
    """Per-channel mean of the training series, (channels, 1): 'this channel carries no signal'."""
    return np.asarray(X_train, dtype=np.float32).mean(axis=(0, 2))[:, None]


def default_window(length: int, method: str) -> int:
    """Occlusion: about a twentieth of the series (at least 3 steps); ablation: blocks of ceil(T/100) steps."""
    if method == "occlusion":
        return max(3, int(round(length / 20)))
    return max(1, math.ceil(length / 100))


class SeriesAttribution:
    """Base of every method: ``Method(model, baseline=..., tsr=...).attribute(X, target) -> (n, c, t)``.

    ``baseline``: what "no signal" is, in input units: a scalar, (channels, 1) or (channels, time);
    default 0. ``background``: (k, channels, time) training series (GradientSHAP's baseline
    distribution; other methods ignore it). ``eval_batch``: rows per forward pass.
    """

    key = ""

    def __init__(self, model: nn.Module, *, baseline=None, background: np.ndarray | None = None, tsr: bool = False, tsr_window: int | None = None, batch_size: int = 32, eval_batch: int = 1024, window: int | None = None):
        self.model = model
        self.baseline = None if baseline is None else np.asarray(baseline, dtype=np.float32)
        self.background = None if background is None else _as_series(background)
        self.tsr = bool(tsr)
        self.tsr_window = tsr_window
        self.batch_size = max(1, int(batch_size))
        self.eval_batch = max(16, int(eval_batch))
        self.window = window

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    def _baseline_tensor(self, shape: tuple[int, int]) -> torch.Tensor:
        base = np.zeros(shape, dtype=np.float32) if self.baseline is None else np.broadcast_to(self.baseline, shape).astype(np.float32)
        return torch.as_tensor(base, device=self.device)

    def attribute(self, inputs, target, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Attributions of ``target`` (one class index, or one per series) with the inputs' shape (n, c, t)."""
        X = _as_series(inputs)
        target = _targets(target, len(X))
        if X.shape[0] == 0:
            return np.zeros_like(X)
        out = np.zeros_like(X)
        was_training = self.model.training
        self.model.eval()
        try:
            with _LOCK:
                for start in range(0, len(X), self.batch_size):
                    x = torch.as_tensor(X[start : start + self.batch_size], device=self.device)
                    t = torch.as_tensor(target[start : start + self.batch_size], device=self.device)
                    a = self._tsr(x, t) if self.tsr else self._raw(x, t)
                    out[start : start + len(x)] = a.detach().float().cpu().numpy()
                    if progress is not None:
                        progress(min(start + len(x), len(X)), len(X))
        finally:
            self.model.train(was_training)
        return out

    # -- one method on a batch already on the device; subclasses implement _raw_batch ------------
    def _rows_per_input(self) -> int:
        return 1

    def _raw(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        chunk = max(1, self.eval_batch // self._rows_per_input())
        parts = [self._raw_batch(x[i : i + chunk], target[i : i + chunk]) for i in range(0, len(x), chunk)]
        return torch.cat(parts)

    def _raw_batch(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- temporal saliency rescaling ---------------------------------------------------------------
    def _tsr(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n, c, t = x.shape
        width = self.tsr_window or max(1, math.ceil(t / 50))
        windows = [(lo, min(lo + width, t)) for lo in range(0, t, width)]
        n_windows = len(windows)
        base = self._baseline_tensor((c, t))
        reference = self._raw(x, target)
        # time relevance: mask each window on every channel, measure how the map changes
        masked = x.unsqueeze(1).repeat(1, n_windows, 1, 1)
        for j, (lo, hi) in enumerate(windows):
            masked[:, j, :, lo:hi] = base[:, lo:hi]
        changed = self._raw(masked.reshape(n * n_windows, c, t), target.repeat_interleave(n_windows)).reshape(n, n_windows, c, t)
        time_rel = _minmax((changed - reference.unsqueeze(1)).abs().sum(dim=(2, 3)))
        del changed, masked
        selected = time_rel > torch.quantile(time_rel, 0.55, dim=1, keepdim=True)
        feature_rel = torch.zeros(n, n_windows, c, device=x.device)
        if c == 1:
            feature_rel[selected] = 1.0
        else:
            pairs = selected.nonzero(as_tuple=False)  # (m, 2): example, window
            for start in range(0, len(pairs), max(1, self.batch_size)):
                chunk = pairs[start : start + max(1, self.batch_size)]
                rows = chunk.repeat_interleave(c, dim=0)
                channels = torch.arange(c, device=x.device).repeat(len(chunk))
                probe = x[rows[:, 0]].clone()
                for r, (j, ch) in enumerate(zip(rows[:, 1].tolist(), channels.tolist())):
                    lo, hi = windows[j]
                    probe[r, ch, lo:hi] = base[ch, lo:hi]
                a = self._raw(probe, target[rows[:, 0]])
                change = (a - reference[rows[:, 0]]).abs().sum(dim=(1, 2)).reshape(len(chunk), c)
                feature_rel[chunk[:, 0], chunk[:, 1]] = _minmax(change)
        relevance = time_rel.unsqueeze(-1) * feature_rel * selected.unsqueeze(-1)  # (n, windows, c)
        out = torch.zeros(n, c, t, device=x.device)
        for j, (lo, hi) in enumerate(windows):
            out[:, :, lo:hi] = relevance[:, j, :].unsqueeze(-1)
        return out


def _minmax(values: torch.Tensor) -> torch.Tensor:
    """Min-max scale each row of a (n, k) tensor to [0, 1] (a constant row becomes 0)."""
    low = values.min(dim=1, keepdim=True).values
    span = values.max(dim=1, keepdim=True).values - low
    return torch.where(span > 0, (values - low) / span.clamp_min(1e-12), torch.zeros_like(values))


class IntegratedGradients(SeriesAttribution):
    key = "integrated_gradients"
    n_steps = 32

    def _rows_per_input(self) -> int:
        return self.n_steps

    def _raw_batch(self, x, target):
        from captum.attr import IntegratedGradients as Captum

        base = self._baseline_tensor(tuple(x.shape[1:])).unsqueeze(0).expand_as(x)
        return Captum(self.model).attribute(x, baselines=base, target=target, n_steps=self.n_steps, internal_batch_size=self.eval_batch)


class Saliency(SeriesAttribution):
    key = "saliency"

    def _raw_batch(self, x, target):
        from captum.attr import Saliency as Captum

        return Captum(self.model).attribute(x.detach().requires_grad_(), target=target, abs=True)


class DeepLift(SeriesAttribution):
    key = "deeplift"

    def _raw_batch(self, x, target):
        import warnings

        from captum.attr import DeepLift as Captum

        base = self._baseline_tensor(tuple(x.shape[1:])).unsqueeze(0).expand_as(x).contiguous()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # captum warns that it sets requires_grad on the inputs
            return Captum(self.model).attribute(x, baselines=base, target=target)


class GradientShap(SeriesAttribution):
    key = "gradient_shap"
    n_samples = 16

    def _rows_per_input(self) -> int:
        return self.n_samples

    def _draws(self, shape: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(baselines (s, c, t), alphas (s,), noise (s, c, t)): one fixed, seeded set shared by every series."""
        if self.background is not None:
            background = torch.as_tensor(self.background, device=device)
        else:
            background = self._baseline_tensor(shape).unsqueeze(0)
        generator = torch.Generator().manual_seed(0)
        picks = torch.randint(len(background), (self.n_samples,), generator=generator)
        alphas = torch.rand(self.n_samples, generator=generator)
        stdev = 0.1 * float(background.std()) if len(background) > 1 else 0.1
        noise = torch.randn((self.n_samples, *shape), generator=generator) * stdev
        return background[picks.to(device)], alphas.to(device), noise.to(device)

    def _raw_batch(self, x, target):
        # captum's GradientShap (NoiseTunnel over InputBaselineXGradient) draws its samples per row,
        # so a series' map would depend on its position in the batch and TSR would measure sampling
        # noise; this is the same estimator with one fixed set of draws shared by every series.
        from captum.attr import Saliency as Gradient

        baselines, alphas, noise = self._draws(tuple(x.shape[1:]), x.device)
        b, s = len(x), self.n_samples
        noisy = x.unsqueeze(1) + noise.unsqueeze(0)  # (b, s, c, t)
        delta = noisy - baselines.unsqueeze(0)
        scaled = baselines.unsqueeze(0) + alphas.view(1, s, 1, 1) * delta
        grads = Gradient(self.model).attribute(scaled.reshape(b * s, *x.shape[1:]).detach().requires_grad_(), target=target.repeat_interleave(s), abs=False)
        return (grads.reshape(b, s, *x.shape[1:]) * delta).mean(dim=1)


class Occlusion(SeriesAttribution):
    key = "occlusion"

    def _rows_per_input(self) -> int:
        return 1

    def _raw(self, x, target):
        from captum.attr import Occlusion as Captum

        width = self.window or default_window(x.shape[-1], "occlusion")
        width = min(width, x.shape[-1])
        stride = max(1, width // 2)
        base = self._baseline_tensor(tuple(x.shape[1:])).unsqueeze(0)
        out = []
        chunk = max(1, min(len(x), 64))
        for i in range(0, len(x), chunk):
            xb = x[i : i + chunk]
            per_eval = max(1, self.eval_batch // len(xb))
            with torch.no_grad():
                a = Captum(self.model).attribute(xb, sliding_window_shapes=(1, width), strides=(1, stride), baselines=base.expand_as(xb), target=target[i : i + chunk], perturbations_per_eval=per_eval)
            out.append(a)
        return torch.cat(out)


class FeatureAblation(SeriesAttribution):
    key = "feature_ablation"

    def _raw(self, x, target):
        from captum.attr import FeatureAblation as Captum

        n, c, t = x.shape
        width = self.window or default_window(t, "feature_ablation")
        blocks = math.ceil(t / width)
        feature_mask = (torch.arange(c, device=x.device)[:, None] * blocks + torch.arange(t, device=x.device)[None, :] // width).unsqueeze(0)
        base = self._baseline_tensor((c, t)).unsqueeze(0)
        out = []
        chunk = max(1, min(n, 64))
        for i in range(0, n, chunk):
            xb = x[i : i + chunk]
            per_eval = max(1, self.eval_batch // len(xb))
            with torch.no_grad():
                a = Captum(self.model).attribute(xb, baselines=base.expand_as(xb), target=target[i : i + chunk], feature_mask=feature_mask.expand(len(xb), c, t), perturbations_per_eval=per_eval)
            out.append(a)
        return torch.cat(out)


class RandomAttribution(SeriesAttribution):
    """Uniform noise: the score a method gets by chance (seeded by the series' position in the call)."""

    key = RANDOM

    def attribute(self, inputs, target, progress=None) -> np.ndarray:
        X = _as_series(inputs)
        _targets(target, len(X))
        return np.random.default_rng(0).uniform(size=X.shape).astype(np.float32)


ATTRIBUTIONS: dict[str, type[SeriesAttribution]] = {cls.key: cls for cls in (IntegratedGradients, Saliency, DeepLift, GradientShap, Occlusion, FeatureAblation, RandomAttribution)}


def make_attribution(model: nn.Module, method: str, **options) -> SeriesAttribution:
    """The attribution object for a method key ('occlusion', 'integrated_gradients+tsr', 'random')."""
    base, tsr = split_method(method)
    if base not in ATTRIBUTIONS:
        resolve_methods([method])  # raises the one-sentence error
    return ATTRIBUTIONS[base](model, tsr=tsr or options.pop("tsr", False), **options)


def attribute(model: nn.Module, X, target, method: str = "integrated_gradients", **options) -> np.ndarray:
    """One call: attributions (n, c, t) of ``method`` for ``target`` on ``X``."""
    return make_attribution(model, method, **options).attribute(X, target)


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
    X = _as_series(X)
    n, c, t = X.shape
    target = _targets(target, n)
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
            with torch.no_grad(), _LOCK:
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


# -- published figures the page and the benchmark compare with -----------------------------------
# TimeX paper (Queen et al. 2023), AUPRC on its synthetic sets, via a reproduction's table.
TIMEX_PUBLISHED = {
    "freqshapes": {"integrated_gradients": 0.752, "timex": 0.832},
    "seqcomb_uv": {"integrated_gradients": 0.576, "timex": 0.712},
    "seqcomb_mv": {"integrated_gradients": 0.330, "timex": 0.688},
    "lowvar": {"integrated_gradients": 0.869, "timex": 0.867},
}
# UCR/UEA test accuracy (FCN, ResNet) from dl-4-tsc (Ismail Fawaz et al. 2019).
UCR_PUBLISHED = {
    "gunpoint": (1.00, 0.991),
    "arrowhead": (0.843, 0.838),
    "italy_power": (0.963, 0.962),
    "japanese_vowels": (0.993, 0.992),
}

# -- the stored report: every method scored on a fixed set of test series -----------------------
REPORT_VERSION = 1
REPORT_ARRAYS = "attributions.safetensors"
REPORT_META = "attributions.json"
REPORT_EXAMPLES = 200
# Stored with every time-series model: the six methods, random attribution as the chance
# reference, and TSR on the two one-pass gradient methods (the other TSR variants cost 30-100x
# more on a CPU; the page computes them for one series on request).
REPORT_METHODS = list(METHODS) + [RANDOM, "saliency" + TSR_SUFFIX, "deeplift" + TSR_SUFFIX]


@dataclass
class AttributionReport:
    """Every method's scores on ``example_index`` (n test-set indices). Per method: auprc/aup/aur
    (n,) (absent without masks), deletion_auc/insertion_auc (n,), deletion_curve/insertion_curve
    (s,) (mean over examples), profile (k, c, t) (mean normalised |attribution| per true class),
    map (n, 2) (UMAP of the attribution maps, or PCA). ``seconds[method]``: attribution time."""

    methods: list[str]
    example_index: np.ndarray
    target: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    fractions: np.ndarray
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    map_method: str = "umap"
    device: str = "cpu"
    version: int = REPORT_VERSION

    @property
    def has_masks(self) -> bool:
        return any("auprc" in v for v in self.arrays.values())

    def table(self) -> pd.DataFrame:
        """One row per method: mean scores, and attribution throughput (series per second)."""
        rows = []
        n = len(self.example_index)
        for m in self.methods:
            a = self.arrays[m]
            row = {"method": m, "label": method_label(m)}
            if "auprc" in a:
                for k in ("auprc", "aup", "aur"):
                    row[k] = float(np.nanmean(a[k])) if np.isfinite(a[k]).any() else float("nan")
            row["deletion_auc"] = float(np.mean(a["deletion_auc"]))
            row["insertion_auc"] = float(np.mean(a["insertion_auc"]))
            seconds = self.seconds.get(m)
            row["series_per_s"] = (n / seconds) if seconds and m != RANDOM else float("nan")
            rows.append(row)
        return pd.DataFrame(rows)

    def metrics(self) -> dict[str, dict]:
        """{method: {auprc, aup, aur (with masks), deletion_auc, insertion_auc}} rounded, JSON-ready."""
        out = {}
        for row in self.table().to_dict("records"):
            keys = ("auprc", "aup", "aur", "deletion_auc", "insertion_auc")
            out[row["method"]] = {k: (None if not np.isfinite(row[k]) else round(float(row[k]), 4)) for k in keys if k in row}
        return out

    def to_files(self) -> dict:
        arrays = {"example_index": self.example_index.astype(np.int64), "target": self.target.astype(np.int64), "labels": self.labels.astype(np.int64), "predictions": self.predictions.astype(np.int64), "fractions": self.fractions.astype(np.float32)}
        for m, values in self.arrays.items():
            for k, v in values.items():
                arrays[f"{m}/{k}"] = np.asarray(v, dtype=np.float32)
        meta = {"version": self.version, "methods": self.methods, "seconds": self.seconds, "map_method": self.map_method, "device": self.device}
        return {REPORT_ARRAYS: arrays, REPORT_META: meta}

    @classmethod
    def from_files(cls, arrays: dict[str, np.ndarray], meta: dict) -> "AttributionReport":
        per_method: dict[str, dict[str, np.ndarray]] = {m: {} for m in meta["methods"]}
        for key, value in arrays.items():
            if "/" in key:
                m, k = key.split("/", 1)
                per_method.setdefault(m, {})[k] = value
        return cls(
            methods=list(meta["methods"]), example_index=arrays["example_index"], target=arrays["target"], labels=arrays["labels"],
            predictions=arrays["predictions"], fractions=arrays["fractions"], arrays=per_method, seconds=dict(meta.get("seconds", {})),
            map_method=meta.get("map_method", "pca"), device=meta.get("device", "cpu"), version=int(meta.get("version", 0)),
        )


def pick_examples(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Up to ``n`` test indices, as balanced over classes as the data allows, sorted."""
    labels = np.asarray(labels)
    if len(labels) <= n:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    pools = [rng.permutation(np.flatnonzero(labels == k)).tolist() for k in np.unique(labels)]
    chosen: list[int] = []
    while len(chosen) < n:
        for pool in pools:
            if pool and len(chosen) < n:
                chosen.append(pool.pop())
    return np.sort(np.array(chosen, dtype=np.int64))


def attribution_options(dataset, n_background: int = 32, seed: int = 0) -> dict:
    """Baseline (per-channel training mean) and GradientSHAP background (training series) for a dataset."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(dataset.X_train), size=min(n_background, len(dataset.X_train)), replace=False)
    return {"baseline": channel_baseline(dataset.X_train), "background": dataset.X_train[np.sort(pick)]}


def build_report(
    model: nn.Module,
    dataset,
    methods: list[str] | None = None,
    n_examples: int = 200,
    target: str = "true",
    map_method: str | None = "umap",
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
    keep_signed: bool = False,
) -> AttributionReport:
    """Attribute, score and map every method on up to ``n_examples`` test series.

    ``target``: "true" (each series' true class, as TimeX scores) or "predicted".
    ``map_method``: "umap", "pca" or None (no map). ``keep_signed``: also score the signed
    attributions (``auprc_signed``), as TimeX's script does. ``progress(text, share_done)``
    hears each phase.
    """
    methods = methods or list(REPORT_METHODS)
    index = pick_examples(dataset.y_test, n_examples, seed)
    X = dataset.X_test[index]
    labels = dataset.y_test[index]
    from interp_core.training import predict_logits

    predictions = predict_logits(model, X, model_device(model)).argmax(1)
    targets = labels if target == "true" else predictions
    masks = dataset.mask_test[index] if dataset.mask_test is not None else None
    options = attribution_options(dataset, seed=seed)
    report = AttributionReport(methods, index, targets, labels, predictions, np.linspace(0, 1, 21), map_method=map_method or "", device=model_device(model).type)
    for i, m in enumerate(methods):
        if progress:
            progress(f"{method_label(m)}: attributing {len(index)} series", i / len(methods))
        start = time.perf_counter()
        attributions = make_attribution(model, m, **options).attribute(X, targets)
        report.seconds[m] = round(time.perf_counter() - start, 4)
        values: dict[str, np.ndarray] = {}
        if masks is not None:
            scores = ground_truth_scores(attributions, masks)
            values.update(auprc=scores.auprc, aup=scores.aup, aur=scores.aur)
            if keep_signed:
                values["auprc_signed"] = ground_truth_scores(attributions, masks, absolute=False).auprc
        curves = deletion_insertion(model, X, attributions, targets, options["baseline"], steps=len(report.fractions) - 1, seed=seed)
        values.update(deletion_auc=curves.deletion_auc, insertion_auc=curves.insertion_auc, deletion_curve=curves.deletion.mean(0), insertion_curve=curves.insertion.mean(0))
        values["profile"] = class_profiles(attributions, labels, dataset.n_classes)
        if map_method:
            if progress:
                progress(f"{method_label(m)}: {map_method.upper()} map of the attributions", (i + 0.8) / len(methods))
            values["map"] = explanation_map(attributions, map_method, seed)
        report.arrays[m] = values
    if progress:
        progress("done", 1.0)
    return report


def stored_report(store, artifact) -> AttributionReport | None:
    """The report stored with an artifact, or None when there is none or it is from an older version."""
    files = artifact.manifest.get("files", {})
    if REPORT_ARRAYS not in files or REPORT_META not in files:
        return None
    meta = store.read_json(artifact, REPORT_META)
    if int(meta.get("version", 0)) != REPORT_VERSION:
        return None
    return AttributionReport.from_files(store.read_arrays(artifact, REPORT_ARRAYS), meta)


def compute_and_store_report(store, artifact, model: nn.Module, dataset, map_method: str = "umap", seed: int = 0, progress=None):
    """Build the report of REPORT_METHODS and add it to the artifact (read-only stores: not stored).

    Returns (report, the possibly updated artifact)."""
    report = build_report(model, dataset, methods=list(REPORT_METHODS), n_examples=REPORT_EXAMPLES, map_method=map_method, seed=seed, progress=progress)
    if not store.readonly:
        for file, payload in report.to_files().items():
            artifact = store.add_file(artifact.name, file, payload)
    return report, artifact
