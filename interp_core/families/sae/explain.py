"""Measuring sparse autoencoders: quality metrics, feature statistics, top examples by activation
interval, output effects, feature recovery against ground truth, and everything the page shows,
computed once at train time. Training one is ``fit``'s job (``train_sae`` and
``SAETrainConfig`` are re-exported here).

Shapes: activations ``acts`` (n, d); codes are stored as CSR (``indptr`` (n + 1,), ``indices``
and ``values`` (nnz,)); decoder rows ``W_dec`` (width, d); true features (f, d).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch

from interp_core.device import resolve_device
from interp_core.families.sae.fit import SAETrainConfig, train_sae  # re-exported: explain.train_sae, explain.SAETrainConfig
from interp_core.families.sae.models import SparseAutoencoder, SplicedModel
from interp_core.families.sae.artifacts import CODES_FILE, FEATURES_ARRAYS, FEATURES_FILE

N_INTERVALS = 10
PER_INTERVAL = 5
N_TOP = 20
N_EFFECTS = 10
HIST_BINS = 50


# -- codes and quality metrics -------------------------------------------------------------------
@dataclass
class Codes:
    """Sparse codes of n examples in CSR form: example i's active latents are
    indices[indptr[i]:indptr[i+1]] with activations values[...] (normalised-input units)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.values[lo:hi]

    def head(self, rows: int) -> "Codes":
        """The codes of the first ``rows`` examples (the training examples, which come first)."""
        rows = max(0, min(int(rows), self.n))
        end = int(self.indptr[rows])
        return Codes(self.indptr[: rows + 1], self.indices[:end], self.values[:end], self.width)

    def to_scipy(self):
        from scipy.sparse import csr_matrix

        return csr_matrix((self.values.astype(np.float32), self.indices.astype(np.int64), self.indptr.astype(np.int64)), shape=(self.n, self.width))

    def column(self, j: int) -> np.ndarray:
        """Activations of latent j on every example (n,)."""
        mask = self.indices == j
        out = np.zeros(self.n, dtype=np.float32)
        rows = np.repeat(np.arange(self.n), np.diff(self.indptr))[mask]
        out[rows] = self.values[mask]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Compact storage: uint16 latent indices when they fit, float16 activations."""
        index_type = np.uint16 if self.width <= np.iinfo(np.uint16).max else np.int32
        return {"indptr": self.indptr.astype(np.int32 if self.indptr[-1] < 2**31 else np.int64), "indices": self.indices.astype(index_type), "values": self.values.astype(np.float16), "width": np.array([self.width], dtype=np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "Codes":
        return cls(arrays["indptr"].astype(np.int64), arrays["indices"].astype(np.int64), arrays["values"].astype(np.float32), int(arrays["width"][0]))


@torch.no_grad()
def encode_codes(sae: SparseAutoencoder, acts: np.ndarray, device: str | torch.device = "cpu", batch_size: int = 4096) -> Codes:
    """Codes of every row of ``acts`` (n, d), rounded to float16 as they are stored."""
    device = resolve_device(device)
    sae.eval().to(device)
    indptr, indices, values = [np.zeros(1, dtype=np.int64)], [], []
    offset = 0
    for lo in range(0, len(acts), batch_size):
        codes = sae.encode(torch.as_tensor(acts[lo : lo + batch_size], dtype=torch.float32, device=device)).cpu()
        rows, cols = codes.nonzero(as_tuple=True)
        counts = np.bincount(rows.numpy(), minlength=len(codes))
        indptr.append(offset + np.cumsum(counts))
        offset += int(counts.sum())
        indices.append(cols.numpy())
        values.append(codes[rows, cols].numpy().astype(np.float16).astype(np.float32))
    return Codes(np.concatenate(indptr), np.concatenate(indices) if indices else np.zeros(0, np.int64), np.concatenate(values) if values else np.zeros(0, np.float32), sae.width)


@torch.no_grad()
def reconstruction_metrics(sae: SparseAutoencoder, acts: np.ndarray, device: str | torch.device = "cpu", batch_size: int = 4096) -> dict:
    """SAELens's definitions on ``acts`` (n, d): L0 = mean active latents per example;
    explained variance = 1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2); MSE per example (sum over d)."""
    device = resolve_device(device)
    sae.eval().to(device)
    x = torch.as_tensor(acts, dtype=torch.float64)
    target = sae.target(x)  # a transcoder's rows are [input | output]: its explained variance is the output's
    total_variance = float((target - target.mean(0)).pow(2).sum(1).mean())
    squared_error, active, n = 0.0, 0.0, len(x)
    for lo in range(0, n, batch_size):
        batch = x[lo : lo + batch_size].float().to(device)
        codes = sae.encode(batch)
        recon = sae.decode(codes)
        squared_error += float((recon - sae.target(batch)).double().pow(2).sum())
        active += float((codes > 0).sum())
    mse = squared_error / max(n, 1)
    return {
        "l0": active / max(n, 1),
        "explained_variance": 1.0 - mse / total_variance if total_variance > 0 else float("nan"),
        "mse": mse,
    }


def densities(codes: Codes) -> np.ndarray:
    """Share of examples on which each latent fires (width,)."""
    return np.bincount(codes.indices, minlength=codes.width) / max(codes.n, 1)


def log_density_histogram(density: np.ndarray, bins: int = HIST_BINS) -> dict:
    """Histogram of log10 density over live latents; dead ones (density 0) are counted apart."""
    live = density[density > 0]
    if len(live) == 0:
        return {"counts": [], "edges": [], "dead": int(len(density))}
    logs = np.log10(live)
    lo, hi = float(np.floor(logs.min() * 2) / 2), float(max(np.ceil(logs.max() * 2) / 2, np.floor(logs.min() * 2) / 2 + 0.5))
    counts, edges = np.histogram(logs, bins=bins, range=(lo, hi))
    return {"counts": counts.tolist(), "edges": edges.tolist(), "dead": int((density == 0).sum())}


# -- ground truth (toy) ---------------------------------------------------------------------------
@dataclass
class FeatureRecovery:
    """How well decoder rows recover known true features (f true, width learned).

    mmcs: mean over true features of the best |cos| with any decoder row (SAELens: best cosine);
    mcc: mean |cos| after a one-to-one Hungarian matching; best_cosine/best_latent (f,) per true
    feature; matched_latent (f,) from the matching (-1 when there are more true features than latents).
    """

    mmcs: float
    mcc: float
    best_cosine: np.ndarray
    best_latent: np.ndarray
    matched_latent: np.ndarray
    matched_cosine: np.ndarray


def feature_recovery(W_dec: np.ndarray, true_features: np.ndarray) -> FeatureRecovery:
    from scipy.optimize import linear_sum_assignment

    learned = W_dec / np.maximum(np.linalg.norm(W_dec, axis=1, keepdims=True), 1e-12)
    truth = true_features / np.maximum(np.linalg.norm(true_features, axis=1, keepdims=True), 1e-12)
    cos = truth @ learned.T  # (f, width)
    best_latent = cos.argmax(1)
    best_cosine = cos[np.arange(len(truth)), best_latent]
    rows, cols = linear_sum_assignment(-np.abs(cos))
    matched_latent = np.full(len(truth), -1, dtype=np.int64)
    matched_cosine = np.zeros(len(truth))
    matched_latent[rows] = cols
    matched_cosine[rows] = np.abs(cos[rows, cols])
    return FeatureRecovery(float(best_cosine.mean()), float(matched_cosine.mean()), best_cosine, best_latent, matched_latent, matched_cosine)


# -- faithfulness with the reconstruction spliced in ----------------------------------------------
@torch.no_grad()
def spliced_metrics(model: SplicedModel, X: np.ndarray, y: np.ndarray, loss: str = "ce", targets: np.ndarray | None = None, batch_size: int = 256) -> dict:
    """The source model's accuracy and loss on (X, y) with clean activations, the SAE's reconstruction
    spliced in, and zero-ablation; score = (loss_zero - loss_sae) / (loss_zero - loss_clean)
    (SAELens's CE score; 1 = the reconstruction loses nothing).

    ``loss`` is "ce" (cross-entropy of the logits against y) or "mse" (squared error of the
    outputs against ``targets``, the toy model's own reconstruction loss).
    """
    model.eval()
    device = next(model.sae.parameters()).device
    out = {}
    for mode in SplicedModel.MODES:
        correct, total_loss = 0, 0.0
        for lo in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[lo : lo + batch_size], dtype=torch.float32, device=device)
            yb = torch.as_tensor(y[lo : lo + batch_size], dtype=torch.long, device=device)
            logits = model(xb, mode=mode)
            correct += int((logits.argmax(1) == yb).sum())
            if loss == "ce":
                total_loss += float(torch.nn.functional.cross_entropy(logits, yb, reduction="sum"))
            else:
                tb = torch.as_tensor(targets[lo : lo + batch_size], dtype=torch.float32, device=device)
                total_loss += float((logits - tb).pow(2).sum())
        out[f"accuracy_{mode}"] = correct / max(len(X), 1)
        out[f"loss_{mode}"] = total_loss / max(len(X), 1)
    gap = out["loss_zero"] - out["loss_clean"]
    out["loss_recovered"] = (out["loss_zero"] - out["loss_sae"]) / gap if abs(gap) > 1e-12 else float("nan")
    out["loss_kind"] = "cross-entropy" if loss == "ce" else "reconstruction MSE"
    return out


@torch.no_grad()
def text_cosines(model: SplicedModel, X: np.ndarray, batch_size: int = 32) -> dict[str, np.ndarray]:
    """For a host with sentence embeddings (MiniLM, a user's encoder): each window or text of ``X``'s cosine similarity
    between its clean embedding and the one with the SAE's reconstruction (``cosine_sae``) or zeros (``cosine_zero``)
    spliced in, one value per row of ``X``; 1 = the embedding is unchanged."""
    device = next(model.sae.parameters()).device
    out: dict[str, list] = {"cosine_sae": [], "cosine_zero": []}
    for lo in range(0, len(X), batch_size):
        xb = torch.as_tensor(X[lo : lo + batch_size], dtype=torch.float32, device=device)
        clean = model.source.embed(xb)
        for key, mode in (("cosine_sae", "sae"), ("cosine_zero", "zero")):
            out[key].append(torch.nn.functional.cosine_similarity(model.source.embed(xb, model.transform(mode)), clean, dim=-1).double().cpu().numpy())
    return {key: np.concatenate(parts) if parts else np.zeros(0) for key, parts in out.items()}


def spliced_cosines(model: SplicedModel, X: np.ndarray, batch_size: int = 32) -> dict:
    """The mean of ``text_cosines`` over ``X``: ``cosine_sae`` (the SAE spliced in) and ``cosine_zero`` (zeros)."""
    return cosine_means(text_cosines(model, X, batch_size))


def cosine_means(cosines: dict[str, np.ndarray]) -> dict:
    """``text_cosines``' per-row values averaged (0 rows: 0)."""
    return {key: float(values.sum()) / max(len(values), 1) for key, values in cosines.items()}


# -- feature statistics, top examples, intervals, effects ----------------------------------------
def feature_table(codes: Codes, labels: list[str], confidence: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per latent: feature, density, mean and max activation (over firing examples),
    label (top class / top tokens / matched true feature), dead (never fires on these examples),
    and the label's ``label_precision`` / ``label_recall`` / ``label_support`` (``label_confidence``;
    NaN / 0 when not measured)."""
    counts = np.bincount(codes.indices, minlength=codes.width)
    sums = np.bincount(codes.indices, weights=codes.values, minlength=codes.width)
    maxima = np.zeros(codes.width)
    np.maximum.at(maxima, codes.indices, codes.values)
    return pd.DataFrame({
        "feature": np.arange(codes.width),
        "density": counts / max(codes.n, 1),
        "mean_activation": np.where(counts > 0, sums / np.maximum(counts, 1), 0.0),
        "max_activation": maxima,
        "label": labels,
        "dead": counts == 0,
        **_confidence_columns(confidence, codes.width),
    })


def _confidence_columns(confidence: pd.DataFrame | None, width: int) -> dict:
    if confidence is None:
        return {"label_precision": np.full(width, np.nan), "label_recall": np.full(width, np.nan), "label_support": np.zeros(width, dtype=np.int64)}
    return {key: confidence[key].to_numpy().astype(np.int64 if key == "label_support" else np.float64) for key in CONFIDENCE_COLUMNS}


# -- how far to trust a feature's label --------------------------------------------------------------
CONFIDENCE_COLUMNS = ("label_precision", "label_recall", "label_support")
MIN_SUPPORT = 10  # held-out firings below which the page says there are too few to judge the label


def one_hot(values: np.ndarray, n_values: int):
    """(n, n_values) sparse presence matrix: example i has value values[i] (its class or its token)."""
    from scipy.sparse import csr_matrix

    values = np.asarray(values, dtype=np.int64)
    return csr_matrix((np.ones(len(values), dtype=np.float32), (np.arange(len(values)), values)), shape=(len(values), n_values))


def label_confidence(codes: Codes, label_values: list, presence, rows: np.ndarray) -> pd.DataFrame:
    """Each feature's label as a detector of when the feature fires, on the examples ``rows`` (held out).

    ``presence`` (n, V) says which label values each example has (its class, its token, the true
    features on in it); ``label_values[j]`` are the values feature j's label names. On those rows,
    *fires* = activation > 0 and *label present* = the example has any of the label's values;
    precision = P(label present | fires), recall = P(fires | label present), support = firing rows.
    Precision is NaN where the feature never fires there or has no label, recall NaN where the label is never present.
    """
    from scipy.sparse import csr_matrix

    rows = np.asarray(rows, dtype=np.int64)
    fires = (codes.to_scipy()[rows] > 0).astype(np.float32)
    cols = [j for j, values in enumerate(label_values) for _ in values]
    vals = [int(v) for values in label_values for v in values]
    names = csr_matrix((np.ones(len(vals), dtype=np.float32), (vals, cols)), shape=(presence.shape[1], codes.width))
    present = ((presence.tocsr()[rows] @ names) > 0).astype(np.float32)
    hits = np.asarray(fires.multiply(present).sum(0)).ravel()
    n_fires = np.asarray(fires.sum(0)).ravel()
    n_present = np.asarray(present.sum(0)).ravel()
    named = np.array([len(values) > 0 for values in label_values], dtype=bool)  # a feature with no label has nothing to judge
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where((n_fires > 0) & named, hits / np.maximum(n_fires, 1), np.nan)
        recall = np.where(n_present > 0, hits / np.maximum(n_present, 1), np.nan)
    return pd.DataFrame({"label_precision": precision, "label_recall": recall, "label_support": n_fires.astype(np.int64)})


def label_trust(precision: float, recall: float, support: int, label: str = "its label") -> str:
    """In words, how far to trust a feature's label, from its held-out precision and recall."""
    if not support or precision != precision:
        return f"Not measured: the feature never fired on a held-out example, so nothing says how well {label} describes it."
    head = (f"On held-out examples, {label} is present on {precision:.0%} of those where this feature fires (precision)"
            + (f", and the feature fires on {recall:.0%} of those where {label} is present (recall)" if recall == recall else "") + f"; {support:,} firings.")
    if support < MIN_SUPPORT:
        return head + " Too few firings to judge: treat the label as a guess."
    if precision >= 0.9:
        verdict = "Trust the label: when the feature fires, the label is almost always there."
    elif precision >= 0.6:
        verdict = "Trust the label for most firings, but a good share of them are something else: look at the examples."
    else:
        verdict = "Do not trust the label: most firings are on something else; read the top examples instead."
    if precision >= 0.6 and recall == recall and recall < 0.3:
        verdict += " It is a narrow detector: it misses most examples where the label is present (other features cover them)."
    return head + " " + verdict


def top_examples(column: np.ndarray, n_top: int = N_TOP) -> tuple[np.ndarray, np.ndarray]:
    """Indices and activations of the ``n_top`` examples where the feature fires most (firing ones only)."""
    firing = np.flatnonzero(column > 0)
    order = firing[np.argsort(-column[firing], kind="stable")][:n_top]
    return order, column[order]


@dataclass
class ActivationIntervals:
    """10 equal-width intervals between 0 and the max activation (sae_vis): edges (11,), share (10,) of
    the firing examples in each interval, and up to 5 sampled example indices per interval."""

    edges: np.ndarray
    share: np.ndarray
    counts: np.ndarray
    samples: list[np.ndarray]


def activation_intervals(column: np.ndarray, n_intervals: int = N_INTERVALS, per_interval: int = PER_INTERVAL, seed: int = 0) -> ActivationIntervals:
    firing = np.flatnonzero(column > 0)
    top = float(column.max()) if len(firing) else 1.0
    edges = np.linspace(0.0, top, n_intervals + 1)
    which = np.clip(np.searchsorted(edges, column[firing], side="left") - 1, 0, n_intervals - 1)
    rng = np.random.default_rng(seed)
    counts = np.bincount(which, minlength=n_intervals)
    samples = []
    for b in range(n_intervals):
        members = firing[which == b]
        chosen = rng.choice(members, size=min(per_interval, len(members)), replace=False) if len(members) else members
        samples.append(np.sort(chosen)[np.argsort(-column[np.sort(chosen)], kind="stable")] if len(chosen) else chosen)
    return ActivationIntervals(edges, counts / max(len(firing), 1), counts, samples)


def activation_histogram(column: np.ndarray, bins: int = HIST_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges of the feature's non-zero activations."""
    firing = column[column > 0]
    if len(firing) == 0:
        return np.zeros(bins, dtype=np.int64), np.linspace(0, 1, bins + 1)
    return np.histogram(firing, bins=bins, range=(0.0, float(firing.max())))


def output_effects(W_dec: np.ndarray, output_directions: np.ndarray, n: int = N_EFFECTS, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Direct effect of each decoder row on the outputs: ``(W_dec * scale) @ output_directions.T``.

    Returns (promoted ids, promoted values, suppressed ids, suppressed values), each (width, n):
    the outputs (classes, tokens, toy features) a unit of the feature pushes up most and down most.
    """
    effects = (W_dec * scale) @ output_directions.T  # (width, n_outputs)
    n = max(1, min(n, effects.shape[1] // 2))  # with few outputs (10 classes) the two lists must not overlap
    up = np.argsort(-effects, axis=1)[:, :n]
    down = np.argsort(effects, axis=1)[:, :n]
    take = lambda ids: np.take_along_axis(effects, ids, axis=1)  # noqa: E731
    return up, take(up), down, take(down)


def contributions(sae: SparseAutoencoder, x: np.ndarray) -> pd.DataFrame:
    """Which latents fire on one input x (d,): activation and share of the reconstruction
    (a_j * d_j . (x_hat - b) / ||x_hat - b||^2, summing to 1 over the firing latents), largest first."""
    with torch.no_grad():
        device = next(sae.parameters()).device
        codes = sae.encode(torch.as_tensor(x[None], dtype=torch.float32, device=device))[0].cpu().numpy()
    active = np.flatnonzero(codes > 0)
    W = sae.W_dec.detach().cpu().numpy()
    recon = codes[active] @ W[active]
    norm = float(recon @ recon)
    share = (codes[active] * (W[active] @ recon)) / norm if norm > 0 else np.zeros(len(active))
    frame = pd.DataFrame({"feature": active, "activation": codes[active], "share": share})
    return frame.sort_values("activation", ascending=False, ignore_index=True)


def contributions_from_codes(indices: np.ndarray, values: np.ndarray, W_dec: np.ndarray) -> pd.DataFrame:
    """Same as ``contributions`` for stored codes of one example (its active latents and activations)."""
    recon = values @ W_dec[indices] if len(indices) else np.zeros(W_dec.shape[1])
    norm = float(recon @ recon)
    share = (values * (W_dec[indices] @ recon)) / norm if norm > 0 else np.zeros(len(indices))
    frame = pd.DataFrame({"feature": np.asarray(indices, dtype=np.int64), "activation": np.asarray(values, dtype=np.float64), "share": share})
    return frame.sort_values("activation", ascending=False, ignore_index=True)


# -- everything the page shows, computed once at train time ----------------------------------------
@dataclass
class SAEAnalysis:
    """The stored explanation of one SAE over its source's n examples (train first, then test).

    metrics: headline numbers; codes: CSR codes of every example; features: the feature table
    (one row per latent); promoted/suppressed (width, 10) output ids with their direct effects
    (``*_values``); class_share (width, n_classes) share of a feature's total activation on each
    class (labelled sources); maps: {"pca"/"umap": (width, 2)} of the decoder rows;
    density_histogram: log10 densities; sweep: rows {arch, width, k, l0, explained_variance,
    dead_fraction} of smaller SAEs trained on the same activations; recovery: against true features.
    """

    metrics: dict
    codes: Codes
    features: pd.DataFrame
    promoted: np.ndarray | None = None
    promoted_values: np.ndarray | None = None
    suppressed: np.ndarray | None = None
    suppressed_values: np.ndarray | None = None
    class_share: np.ndarray | None = None
    maps: dict = field(default_factory=dict)
    density_histogram: dict = field(default_factory=dict)
    sweep: list = field(default_factory=list)
    comparison: list = field(default_factory=list)  # rows of synth.compare_on_toys: every architecture on the two toys
    recovery: FeatureRecovery | None = None
    output_names: list[str] | None = None
    label_names: list[str] | None = None

    FILES = (FEATURES_FILE, CODES_FILE, FEATURES_ARRAYS)

    def to_files(self) -> dict:
        arrays = {
            "density": self.features["density"].to_numpy(np.float32),
            "mean_activation": self.features["mean_activation"].to_numpy(np.float32),
            "max_activation": self.features["max_activation"].to_numpy(np.float32),
        }
        if "label_precision" in self.features and self.features["label_support"].sum() > 0:
            for key in CONFIDENCE_COLUMNS:
                arrays[key] = self.features[key].to_numpy(np.int32 if key == "label_support" else np.float32)
        for name in ("promoted", "suppressed"):
            ids = getattr(self, name)
            if ids is not None:
                arrays[name] = ids.astype(np.int32)
                arrays[f"{name}_values"] = getattr(self, f"{name}_values").astype(np.float16)
        if self.class_share is not None:
            arrays["class_share"] = self.class_share.astype(np.float16)
        if self.recovery is not None:
            for key in ("best_cosine", "best_latent", "matched_latent", "matched_cosine"):
                arrays[f"recovery_{key}"] = np.asarray(getattr(self.recovery, key))
        for method, coords in self.maps.items():
            arrays[f"map_{method}"] = np.asarray(coords, dtype=np.float32)
        meta = {
            "metrics": self.metrics,
            "labels": self.features["label"].astype(str).tolist(),
            "density_histogram": self.density_histogram,
            "sweep": self.sweep,
            "comparison": self.comparison,
            "output_names": self.output_names,
            "label_names": self.label_names,
            "recovery": None if self.recovery is None else {"mmcs": self.recovery.mmcs, "mcc": self.recovery.mcc},
        }
        return {FEATURES_FILE: meta, CODES_FILE: self.codes.to_arrays(), FEATURES_ARRAYS: arrays}

    @classmethod
    def from_files(cls, meta: dict, codes: dict, arrays: dict, output_names: list[str] | None = None) -> "SAEAnalysis":
        codes = Codes.from_arrays(codes)
        density = arrays["density"].astype(np.float64)
        features = pd.DataFrame({
            "feature": np.arange(codes.width),
            "density": density,
            "mean_activation": arrays["mean_activation"].astype(np.float64),
            "max_activation": arrays["max_activation"].astype(np.float64),
            "label": meta["labels"],
            "dead": density == 0,
            **_confidence_columns(pd.DataFrame({key: arrays[key].astype(np.float64) for key in CONFIDENCE_COLUMNS}) if "label_precision" in arrays else None, codes.width),
        })
        recovery = None
        if meta.get("recovery"):
            recovery = FeatureRecovery(meta["recovery"]["mmcs"], meta["recovery"]["mcc"], *(arrays[f"recovery_{k}"] for k in ("best_cosine", "best_latent", "matched_latent", "matched_cosine")))
        get = lambda key, kind=None: None if key not in arrays else (arrays[key].astype(kind) if kind else arrays[key])  # noqa: E731
        return cls(
            metrics=meta["metrics"], codes=codes, features=features,
            promoted=get("promoted", np.int64), promoted_values=get("promoted_values", np.float32),
            suppressed=get("suppressed", np.int64), suppressed_values=get("suppressed_values", np.float32),
            class_share=get("class_share", np.float32),
            maps={key[4:]: value for key, value in arrays.items() if key.startswith("map_")},
            density_histogram=meta["density_histogram"], sweep=meta["sweep"], comparison=meta.get("comparison", []), recovery=recovery,
            output_names=output_names if output_names is not None else meta.get("output_names"),
            label_names=meta.get("label_names"),
        )


@dataclass
class FeatureLabels:
    """A short label per latent (``text``), what it names (``values[j]``: the class ids, token ids or
    true feature ids the label stands for, the columns of the presence matrix ``label_confidence``
    reads) and, for labelled sources, ``class_share`` (width, n_classes)."""

    text: list[str]
    values: list[list[int]]
    class_share: np.ndarray | None = None


def feature_labels(codes: Codes, kind: str, *, recovery_cos: np.ndarray | None = None, example_labels: np.ndarray | None = None,
                   label_names: list[str] | None = None, token_names: list[str] | None = None) -> FeatureLabels:
    """A short label per latent: the matched true feature (sources with true features), the class it
    fires on most (labelled sources, with ``class_share``), or its most frequent tokens among its top
    examples (text). ``codes`` are the examples the labels are read from (the training examples, so
    that ``label_confidence`` can judge them on held-out ones)."""
    width = codes.width
    if recovery_cos is not None:
        best = np.abs(recovery_cos).argmax(0)
        name = (lambda t: label_names[t]) if label_names is not None else (lambda t: f"true feature {t}")  # noqa: E731
        return FeatureLabels([f"{name(t)} (cos {abs(recovery_cos[t, j]):.2f})" for j, t in enumerate(best)], [[int(t)] for t in best])
    if example_labels is not None and label_names is not None and kind in ("image", "toy", "model"):
        rows = np.repeat(np.arange(codes.n), np.diff(codes.indptr))
        share = np.zeros((width, len(label_names)))
        np.add.at(share, (codes.indices, example_labels[rows]), codes.values)
        totals = share.sum(1, keepdims=True)
        share = np.divide(share, totals, out=np.zeros_like(share), where=totals > 0)
        fired = share.sum(1) > 0
        labels = [f"class {label_names[int(s.argmax())]} ({s.max():.0%})" if f else "" for s, f in zip(share, fired)]
        return FeatureLabels(labels, [[int(s.argmax())] if f else [] for s, f in zip(share, fired)], share)
    if kind == "text" and example_labels is not None and token_names is not None:
        matrix = codes.to_scipy().tocsc()
        labels, values = [], []
        for j in range(width):
            lo, hi = matrix.indptr[j], matrix.indptr[j + 1]
            rows, vals = matrix.indices[lo:hi], matrix.data[lo:hi]
            top = rows[np.argsort(-vals, kind="stable")[:N_TOP]]
            ids = pd.Series([int(example_labels[r]) for r in top], dtype=np.int64).value_counts().index[:3]
            labels.append(" ".join(repr(token_names[int(t)]) for t in ids))
            values.append([int(t) for t in ids])
        return FeatureLabels(labels, values)
    return FeatureLabels([""] * width, [[] for _ in range(width)])


def run_sweep(make_sae: Callable[[int], SparseAutoencoder], ks: list[int], acts_train: np.ndarray, acts_test: np.ndarray, config: SAETrainConfig,
              *, device, seed: int, cancel=None) -> list[dict]:
    """Train one smaller run per k on the same activations; rows of (arch, width, k, l0, explained_variance, dead_fraction)."""
    rows = []
    for k in ks:
        sae = make_sae(k)
        sae.fit_input(torch.as_tensor(acts_train))
        train_sae(sae, acts_train, config, device=device, seed=seed, cancel=cancel)
        quality = reconstruction_metrics(sae, acts_test, device)
        dead = float((densities(encode_codes(sae, np.concatenate([acts_train, acts_test]), device)) == 0).mean())
        rows.append({"arch": sae.arch, "width": sae.width, "k": int(k), "l0": quality["l0"], "explained_variance": quality["explained_variance"], "dead_fraction": dead})
    return rows


def decoder_maps(W_dec: np.ndarray, seed: int = 0, umap: bool = True) -> dict[str, np.ndarray]:
    """2-D maps of the decoder rows (width, d): PCA always, UMAP when asked (nearby = similar directions)."""
    from interp_core.projection import pca_2d, umap_2d

    maps = {"pca": pca_2d(W_dec)}
    if umap:
        maps["umap"] = umap_2d(W_dec, seed=seed)
    return maps
