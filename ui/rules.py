"""Cached adapters of the Rules page, keyed by the artifact stamp so a retrain invalidates them.

The analyses are shared read-only resources (unpickling a copy on every run cost more than using
them); the page's blocks (report Sections built by
interp_core/families/rules/sections.py, the example's counterfactual and its figure) are shared
read-only resources built once per stored model and setting: Plotly's figure objects took most of
a rerun, so a click rebuilds only what it changes (the tree for a new path or node, the example
block for a new example).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from interp_core.families.rules import explain as rx
from interp_core.families.rules import sections as rules_sections
from interp_core.report import Section
from ui import cache


def _model(name: str):
    return cache.trained_model(name)


@st.cache_resource(show_spinner="Asking the black box about every example...", max_entries=16)  # read-only, shared
def model_data(name: str, stamp: str) -> rx.ModelData:
    return rx.model_data(_model(name))


@st.cache_resource(show_spinner="Reading the feature rankings...", max_entries=16)
def ranker(name: str, stamp: str) -> rx.FeatureRanker:
    trained = _model(name)
    return rx.stored_ranker(trained, cache.catalog().store_for(trained.artifact))


@st.cache_resource(show_spinner="Fitting the surrogate...", max_entries=64)
def report(name: str, stamp: str, kind: str, method: str, k: int, depth: int, positive_class: int | None) -> rx.SurrogateReport:
    return rx.report_for(model_data(name, stamp), ranker(name, stamp), k, depth, kind, method, positive_class)


@st.cache_data(show_spinner="Refitting the surrogate at every setting...", max_entries=64)
def tradeoff(name: str, stamp: str, parameter: str, kind: str, method: str, k: int, depth: int, positive_class: int | None) -> rx.TradeOff:
    return rx.tradeoff_for(model_data(name, stamp), ranker(name, stamp), parameter, k, depth, kind, method, positive_class)


def blackbox(name: str) -> rx.BlackBox:
    return rx.BlackBox.from_trained(_model(name))


# -- the page's blocks, per setting (kind, method, k, depth, positive_class) -------------------------
@st.cache_resource(show_spinner=False, max_entries=64)
def trust_section(name: str, stamp: str, setting: tuple) -> Section:
    return rules_sections.trust_section(_model(name), model_data(name, stamp), report(name, stamp, *setting), ranker(name, stamp).importance(setting[1]))


@st.cache_resource(show_spinner=False, max_entries=64)
def importance_section(name: str, stamp: str, setting: tuple) -> Section:
    kind, method, k, depth, positive_class = setting
    return rules_sections.importance_section(_model(name), report(name, stamp, *setting), ranker(name, stamp), method, k)


@st.cache_resource(show_spinner=False, max_entries=256)
def rules_section(name: str, stamp: str, setting: tuple, example: int, selected_node: int | None) -> Section:
    """The tree with ``example``'s path and ``selected_node`` highlighted, the rules and the disagreements."""
    data, the_report = model_data(name, stamp), report(name, stamp, *setting)
    path = rx.decision_path(the_report.surrogate, data.X_test[example])
    return rules_sections.rules_section(data, the_report, path.nodes, selected_node, example)


@st.cache_resource(show_spinner=False, max_entries=64)
def tradeoff_section(name: str, stamp: str, setting: tuple) -> Section:
    kind, method, k, depth, positive_class = setting
    curves = [tradeoff(name, stamp, parameter, kind, method, k, depth, positive_class) for parameter in ("depth", "k")]
    return rules_sections.tradeoff_section(*curves, depth, k)


@st.cache_resource(show_spinner=False, max_entries=64)
def node_members(name: str, stamp: str, setting: tuple) -> np.ndarray:
    """(n_test, n_nodes) booleans: which held-out examples pass through which node."""
    return report(name, stamp, *setting).surrogate.reach(model_data(name, stamp).X_test)


@st.cache_resource(show_spinner="Searching the nearest counterfactual...", max_entries=256)
def example_block(name: str, stamp: str, setting: tuple, example: int) -> tuple[rx.DecisionPath, rx.Counterfactual, go.Figure]:
    """One example's path, its nearest counterfactual and the figure beside it (before/after
    images, or the held-out examples on the two top features)."""
    from interp_core.families.rules.figures import counterfactual_images, examples_scatter

    trained, data, the_report = _model(name), model_data(name, stamp), report(name, stamp, *setting)
    surrogate, k = the_report.surrogate, setting[2]
    x = data.X_test[example]
    path = rx.decision_path(surrogate, x)
    counterfactual = rx.nearest_counterfactual(surrogate, x, data.scale, blackbox(name))
    if trained.dataset.modality == "image":
        figure = counterfactual_images(x, counterfactual.x_after, trained.dataset.input_shape[-2:], f"Example {example} and its counterfactual")
    else:
        top2 = the_report.top_indices[:2] if k >= 2 else ranker(name, stamp).importance(setting[1]).order[:2]
        thresholds = tuple([n.threshold for n in surrogate.nodes_ if n.feature == f] for f in top2)
        figure = examples_scatter(data.X_test[:, top2], the_report.blackbox_test, the_report.surrogate_test, the_report.class_names,
                                  (data.feature_names[top2[0]], data.feature_names[top2[1]]), thresholds, example)
    return path, counterfactual, figure
