"""Cached adapters of the Rules page, keyed by the artifact stamp so a retrain invalidates them."""

from __future__ import annotations

import streamlit as st

from interp_core.families.rules import explain as rx
from ui import cache


def _model(name: str):
    return cache.trained_model(name)


@st.cache_data(show_spinner="Asking the black box about every example...", max_entries=16)
def model_data(name: str, stamp: str) -> rx.ModelData:
    return rx.model_data(_model(name))


@st.cache_data(show_spinner="Reading the feature rankings...", max_entries=16)
def ranker(name: str, stamp: str) -> rx.FeatureRanker:
    trained = _model(name)
    return rx.stored_ranker(trained, cache.catalog().store_for(trained.artifact))


@st.cache_data(show_spinner="Fitting the surrogate...", max_entries=64)
def report(name: str, stamp: str, kind: str, method: str, k: int, depth: int, positive_class: int | None) -> rx.SurrogateReport:
    return rx.report_for(model_data(name, stamp), ranker(name, stamp), k, depth, kind, method, positive_class)


@st.cache_data(show_spinner="Refitting the surrogate at every setting...", max_entries=64)
def tradeoff(name: str, stamp: str, parameter: str, kind: str, method: str, k: int, depth: int, positive_class: int | None) -> rx.TradeOff:
    return rx.tradeoff_for(model_data(name, stamp), ranker(name, stamp), parameter, k, depth, kind, method, positive_class)


def blackbox(name: str) -> rx.BlackBox:
    return rx.BlackBox.from_trained(_model(name))
