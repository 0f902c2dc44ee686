"""Cached adapters for the Prototypes page, keyed by the artifact stamp so a retrain invalidates them.

The analyses are read-only once computed, so they are shared resources (no copy per rerun). What is
computed lives in the family (interp_core/families/prototypes/view.py), shared with the report; the
figures of the page's blocks are built once per stored model and setting (Plotly's figure objects
took most of a rerun), and a click redraws only the blocks it changes: the latent map for the
example and the prototype, the neighbours for the prototype, the local figures for the example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from interp_core.families.prototypes import sections as proto_sections
from interp_core.families.prototypes.explain import LocalExplanation, scaled_inputs
from interp_core.families.prototypes.view import PrototypeView, prototype_view
from interp_core.report import Figure, Section
from ui import cache


@st.cache_resource(show_spinner=False, max_entries=16)
def view(name: str, stamp: str, pushed: bool) -> PrototypeView:
    model = cache._trained(name, stamp)
    return prototype_view(model, cache.catalog().store_for(model.artifact), pushed)


@st.cache_data(show_spinner=False, max_entries=16)
def scaled(name: str, stamp: str, split: str) -> np.ndarray:
    """A split's inputs in the model's scaled units (z-scores for tables), for profile heatmaps."""
    model = cache._trained(name, stamp)
    X = model.dataset.X_train if split == "train" else model.dataset.X_test
    return scaled_inputs(model.model, X)


def _dataset(name: str, stamp: str):
    return cache._trained(name, stamp).dataset


@st.cache_resource(show_spinner=False, max_entries=32)
def global_section(name: str, stamp: str, pushed: bool, method: str) -> Section:
    """The global blocks at ``method``'s map, nothing highlighted (the page swaps in latent_map)."""
    return proto_sections.global_section(view(name, stamp, pushed), _dataset(name, stamp), method)


@st.cache_resource(show_spinner=False, max_entries=256)
def latent_map(name: str, stamp: str, pushed: bool, method: str, example: int, selected: int) -> Figure:
    return proto_sections.latent_figure(view(name, stamp, pushed), _dataset(name, stamp), method, example, selected)


@st.cache_resource(show_spinner=False, max_entries=128)
def neighbours(name: str, stamp: str, pushed: bool, prototype: int) -> Section:
    dataset = _dataset(name, stamp)
    train_scaled = scaled(name, stamp, "train") if dataset.modality == "tabular" else None
    return proto_sections.neighbours_section(view(name, stamp, pushed), dataset, prototype, train_scaled)


@st.cache_resource(show_spinner=False, max_entries=32)
def misclassified(name: str, stamp: str, pushed: bool) -> Section:
    return proto_sections.misclassified_section(view(name, stamp, pushed), _dataset(name, stamp))


@st.cache_resource(show_spinner=False, max_entries=32)
def quality(name: str, stamp: str, pushed: bool) -> Section:
    return proto_sections.quality_section(view(name, stamp, pushed), _dataset(name, stamp), name)


@dataclass
class LocalFigures:
    """One example's explanation: its numbers and the figures of the page's local block."""

    local: LocalExplanation
    top: list[int]
    probabilities: go.Figure
    probabilities_key: str
    looks_like_that: go.Figure
    contributions: go.Figure
    spread: go.Figure | None


@st.cache_resource(show_spinner=False, max_entries=128)
def local_figures(name: str, stamp: str, pushed: bool, example: int, top_k: int) -> LocalFigures:
    from interp_core.families.prototypes.figures import looks_like_that, predictive_distribution, prototype_contributions, similarity_spread
    from interp_core.figures.common import class_color
    from interp_core.figures.models import class_probabilities

    the_view, dataset = view(name, stamp, pushed), _dataset(name, stamp)
    report, class_names = the_view.report, dataset.class_names
    labels = proto_sections.prototype_labels(the_view, class_names)
    colors = [class_color(int(c)) for c in report.prototype_class]
    local = report.local(example)
    true_class = int(dataset.y_test[example])
    top = [int(j) for j in local.order[:top_k]]
    titles = [f"{labels[j]}<br>similarity {local.similarities[j]:.2f}<br>contribution {local.contributions[j]:+.2f}" for j in top]
    test_scaled = scaled(name, stamp, "test") if dataset.modality == "tabular" else None
    looks = looks_like_that(
        dataset.X_test[example], the_view.prototype_pictures[top], titles, dataset.modality, f"example {example} ({class_names[true_class]})", [colors[j] for j in top],
        dataset.feature_names, example_scaled=None if test_scaled is None else test_scaled[example], pictures_scaled=the_view.prototype_scaled[top],
    )
    if report.sampled is not None:
        probabilities = predictive_distribution(report.sampled.probabilities[example], report.sampled.probability_std[example], class_names, true_class)
        key = "predictive_distribution"
    else:
        probabilities, key = class_probabilities(local.probabilities, class_names, true_class), "class_probabilities"
    contributions = prototype_contributions(local.contributions, local.similarities, report.prototype_class, class_names, local.predicted, local.logit, top, local.baseline_logit)
    spread = None
    if local.similarity_std is not None:
        spread = similarity_spread(report.sampled.similarity_mean[example][top], local.similarity_std[top], [labels[j] for j in top], [colors[j] for j in top])
    return LocalFigures(local, top, probabilities, key, looks, contributions, spread)
