"""Cached adapters for the Time-series page: the stored attribution report of a model, the page's
blocks built from it, one series explained by each method. Keys include
ui.cache.artifact_stamp(recipe), so a retrain invalidates everything; what is returned is read-only."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.families.timeseries import sections as blocks
from interp_core.families.timeseries.figures import series_attribution
from interp_core.report import Section
from ui import cache


@st.cache_resource(show_spinner=False, max_entries=32)
def stored_report(name: str, stamp: str) -> tsx.AttributionReport | None:
    """The report stored with the model (shared read-only: a page run no longer unpickles a copy)."""
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
    section.clear()
    return report


@st.cache_resource(show_spinner=False, max_entries=64)
def section(name: str, stamp: str, block: str, *settings) -> Section:
    """A page block of families/timeseries/sections.py from the stored report, built once per
    artifact and setting: "headline", "comparison", or "where" with (profile method, map method or
    None, colour, series in view)."""
    model, report = cache.trained_model(name), stored_report(name, stamp)
    if block == "headline":
        return blocks.headline_section(model.metrics, model.dataset, report, recipes.get_recipe(name).description)
    if block == "comparison":
        return blocks.comparison_section(report, model.dataset.name)
    profile, emap, colour, example = settings
    return blocks.where_section(report, model.dataset, [profile], [emap] if emap else [], colour, example)


@st.cache_resource(show_spinner=False, max_entries=16)
def _options(name: str, stamp: str) -> dict:
    return tsx.attribution_options(cache.trained_model(name).dataset)


@st.cache_data(show_spinner=False, max_entries=512)
def explain_method(name: str, stamp: str, index: int, method: str, target_class: int) -> dict:
    """The attribution (c, t) of ``method`` on test series ``index`` for ``target_class``, with that
    series' TimeX scores (when a mask exists) and deletion/insertion areas. One entry per method, so
    adding a method to the view computes that method only."""
    model = cache.trained_model(name)
    dataset = model.dataset
    x = dataset.X_test[index : index + 1]
    options = _options(name, stamp)
    mask = dataset.mask_test[index : index + 1] if dataset.mask_test is not None else None
    attribution = tsx.make_attribution(model.model, method, **options).attribute(x, [target_class])
    curves = tsx.deletion_insertion(model.model, x, attribution, [target_class], options["baseline"])
    row = {"attribution": attribution[0], "deletion_auc": float(curves.deletion_auc[0]), "insertion_auc": float(curves.insertion_auc[0])}
    if mask is not None and mask.any():
        scores = tsx.ground_truth_scores(attribution, mask)
        row.update(auprc=float(scores.auprc[0]), aup=float(scores.aup[0]), aur=float(scores.aur[0]))
    return row


@st.cache_resource(show_spinner=False, max_entries=128)
def series_figure(name: str, stamp: str, index: int, method: str, target_class: int) -> go.Figure:
    """Test series ``index`` over ``method``'s attribution toward ``target_class`` (read-only)."""
    dataset = cache.trained_model(name).dataset
    mask = dataset.mask_test[index] if dataset.mask_test is not None else None
    return series_attribution(dataset.X_test[index], explain_method(name, stamp, index, method, target_class)["attribution"], dataset.feature_names, mask,
                              title=f"{tsx.method_label(method)} toward '{dataset.class_names[target_class]}'")
