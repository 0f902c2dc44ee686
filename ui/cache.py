"""Cached adapters over interp_core. Models are shared resources (read-only after loading,
used under torch.no_grad, so safe across sessions); arrays are cached data."""

from __future__ import annotations

import numpy as np
import streamlit as st

from interp_core import recipes, sessions
from interp_core import sections as core_sections
from interp_core.device import device_name
from interp_core.errors import InterpError
from interp_core.projection import stored_projection
from interp_core.report import Figure, Section
from interp_core.store import Catalog, Store, default_root


@st.cache_resource(show_spinner=False)
def _catalog(root: str) -> Catalog:
    store = Store(root)
    store.cleanup()  # leftovers of writes interrupted over an hour ago (a killed process)
    sessions.cleanup(root)  # uploads of browser sessions unused for a day
    return Catalog(store)


def catalog() -> Catalog:
    """The current browser session's uploads, then the user store, then the shipped demo store."""
    base = _catalog(str(default_root()))
    session = sessions.current()
    return session.catalog(base) if session is not None else base


def training_store(name: str) -> Store:
    """Where (re)training a recipe writes: the session's own store for its uploads, else the user store."""
    session = sessions.current()
    if session is not None and name in session.recipes:
        return session.store
    return _catalog(str(default_root())).store


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    return device_name("auto")


def artifact_stamp(name: str) -> str | None:
    """Changes whenever the stored artifact changes (retrain, corruption): the cache key of its model."""
    try:
        artifact = catalog().find(name, verify=False)
    except InterpError:
        return "unreadable"
    if artifact is None:
        return None
    return f"{artifact.path}:{artifact.manifest.get('created')}:{artifact.manifest.get('config_hash')}"


@st.cache_resource(show_spinner="Loading the model...", max_entries=16)
def _trained(name: str, stamp: str) -> recipes.TrainedModel:
    return recipes.load(name, catalog())


def trained_model(name: str) -> recipes.TrainedModel | None:
    """The stored model for a recipe, or None when it has never been trained; corrupt ones raise StoreError."""
    stamp = artifact_stamp(name)
    if stamp is None:
        return None
    return _trained(name, stamp)


@st.cache_data(show_spinner=False, max_entries=32)
def test_probabilities(name: str, stamp: str) -> np.ndarray:
    model = _trained(name, stamp)
    return model.predict_proba(model.dataset.X_test)


@st.cache_data(show_spinner=False, max_entries=32)
def history(name: str, stamp: str) -> dict:
    model = _trained(name, stamp)
    return core_sections.read_history(model, catalog().store_for(model.artifact))


@st.cache_data(show_spinner=False, max_entries=32)
def embedding_maps(name: str, stamp: str) -> dict[str, np.ndarray]:
    """Stored maps of the test-set embedding; PCA is computed at once if none was stored."""
    model = _trained(name, stamp)
    return core_sections.embedding_maps(model, catalog().store_for(model.artifact))


@st.cache_resource(show_spinner=False, max_entries=32)
def model_section(name: str, stamp: str, method: str | None) -> Section:
    """Home's model section (numbers, training curve, map without a highlighted example); figures
    are shared read-only across sessions, built once per stored model and map."""
    model = _trained(name, stamp)
    return core_sections.model_section(model, history(name, stamp), embedding_maps(name, stamp), method, test_probabilities(name, stamp).argmax(1))


@st.cache_resource(show_spinner=False, max_entries=128)
def embedding_figure(name: str, stamp: str, method: str | None, example: int | None) -> Figure:
    """The embedding map with ``example`` highlighted (the only block of Home's section an example changes)."""
    return core_sections.embedding_figure(_trained(name, stamp), embedding_maps(name, stamp), test_probabilities(name, stamp).argmax(1), method, example)


def clear_model_caches() -> None:
    _trained.clear()
    test_probabilities.clear()
    history.clear()
    embedding_maps.clear()
    model_section.clear()
    embedding_figure.clear()


__all__ = ["artifact_stamp", "catalog", "clear_model_caches", "device_label", "embedding_figure", "embedding_maps", "history", "model_section", "stored_projection", "test_probabilities", "trained_model"]
