"""Attribution methods for series classifiers.

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
"""

from __future__ import annotations

import math
import threading
from typing import Callable

import numpy as np
import torch
from torch import nn

from interp_core.errors import InterpError
from interp_core.families.timeseries.explain.methods import RANDOM, resolve_methods, split_method

# captum's DeepLift puts hooks on the model's modules while it runs; models are shared between
# app sessions, so one attribution runs at a time per process.
MODEL_LOCK = threading.RLock()


def model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def as_series(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise InterpError(f"Series inputs have shape {X.shape}; expected (n, channels, time) or (channels, time).")
    return X


def series_targets(target, n: int) -> np.ndarray:
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
        self.background = None if background is None else as_series(background)
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
        X = as_series(inputs)
        target = series_targets(target, len(X))
        if X.shape[0] == 0:
            return np.zeros_like(X)
        out = np.zeros_like(X)
        was_training = self.model.training
        self.model.eval()
        try:
            with MODEL_LOCK:
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
        X = as_series(inputs)
        series_targets(target, len(X))
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
