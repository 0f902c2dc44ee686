"""The stored report: every method attributed and scored on a fixed set of test series, stored with
the model by the trainer and read back by the page."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from torch import nn

from interp_core.families.timeseries.explain.attribution import channel_baseline, make_attribution, model_device
from interp_core.families.timeseries.explain.methods import METHODS, RANDOM, TSR_SUFFIX, method_label
from interp_core.families.timeseries.explain.metrics import class_profiles, deletion_insertion, explanation_map, ground_truth_scores

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
