"""Cached adapters for the Time-series page: the stored attribution report of a model, one
series explained by several methods. Keys include
ui.cache.artifact_stamp(recipe), so a retrain invalidates everything."""

from __future__ import annotations

import streamlit as st

from interp_core.families.timeseries import explain as tsx
from ui import cache


@st.cache_data(show_spinner=False, max_entries=32)
def stored_report(name: str, stamp: str) -> tsx.AttributionReport | None:
    model = cache.trained_model(name)
    return tsx.stored_report(cache.catalog().store_for(model.artifact), model.artifact)


def compute_report(name: str, status) -> tsx.AttributionReport:
    """Score every method now (an artifact trained before reports existed) and store it when the store allows."""
    model = cache.trained_model(name)
    bar = status.progress(0.0, text="starting")
    report, _artifact = tsx.compute_and_store_report(
        cache.catalog().store_for(model.artifact), model.artifact, model.model, model.dataset,
        map_method="umap", progress=lambda text, share: bar.progress(min(max(share, 0.0), 1.0), text=text),
    )
    stored_report.clear()
    return report


@st.cache_resource(show_spinner=False, max_entries=16)
def _options(name: str, stamp: str) -> dict:
    return tsx.attribution_options(cache.trained_model(name).dataset)


@st.cache_data(show_spinner=False, max_entries=256)
def explain_series(name: str, stamp: str, index: int, methods: tuple[str, ...], target_class: int) -> dict:
    """Attributions (c, t) of each method on test series ``index`` for ``target_class``, with that
    series' TimeX scores (when a mask exists) and deletion/insertion areas."""
    model = cache.trained_model(name)
    dataset = model.dataset
    x = dataset.X_test[index : index + 1]
    options = _options(name, stamp)
    mask = dataset.mask_test[index : index + 1] if dataset.mask_test is not None else None
    out = {}
    for method in methods:
        attribution = tsx.make_attribution(model.model, method, **options).attribute(x, [target_class])
        curves = tsx.deletion_insertion(model.model, x, attribution, [target_class], options["baseline"])
        row = {"attribution": attribution[0], "deletion_auc": float(curves.deletion_auc[0]), "insertion_auc": float(curves.insertion_auc[0])}
        if mask is not None and mask.any():
            scores = tsx.ground_truth_scores(attribution, mask)
            row.update(auprc=float(scores.auprc[0]), aup=float(scores.aup[0]), aur=float(scores.aur[0]))
        out[method] = row
    return out
