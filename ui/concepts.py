"""Cached adapters for the Concepts page, keyed by the artifact stamp so a retrain invalidates them.

Models come from ui.cache (shared resources); TCAV results and CBM reports travel with the loaded
model (precomputed at train time). A user-defined concept's TCAV is kept in the session, since it
is the user's own and may take a few seconds.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from interp_core.families.concepts import explain as explain
from interp_core.families import concepts as family
from interp_core.families.concepts import sections as family_sections
from interp_core.families.concepts.models import tcav_layers
from interp_core.report import Section
from ui import cache

_USER_CONCEPTS = "_concept_results"


def trained(name: str):
    return cache.trained_model(name)


@st.cache_data(show_spinner=False, max_entries=32)
def test_concept_probabilities(name: str, stamp: str, mode: str) -> np.ndarray:
    """(n_test, k) predicted concept probabilities of one of a CBM artifact's models."""
    model = cache.trained_model(name)
    return explain.concept_probabilities(model.extras["cbm_models"][mode], model.dataset.X_test, model.device)


@st.cache_data(show_spinner=False, max_entries=32)
def test_class_probabilities(name: str, stamp: str, mode: str) -> np.ndarray:
    return family_sections.mode_class_probabilities(cache.trained_model(name), mode, test_concept_probabilities(name, stamp, mode))


@st.cache_resource(show_spinner="Measuring each concept's effect on the classes (counterfactual pairs: a few seconds, once per model)...", max_entries=16)
def tcav_check(name: str, stamp: str):
    """The stored TCAV run checked against the concepts' causal (or observed) effects (about 4 s on
    shapes-cnn, once per artifact; shared by every session, read-only)."""
    return family_sections.tcav_check(cache.trained_model(name))


# Sections are built once per artifact and choice and shared by every session (read-only): a rerun
# for another example, or a click back to a class already seen, draws the same figures without
# rebuilding them (the TCAV view's four figures were half of a page run).
@st.cache_resource(show_spinner=False, max_entries=128)
def tcav_section(name: str, stamp: str, k: int, c: int, l: int) -> Section:
    """The TCAV view for class ``k``, the box plot of concept ``c`` and the heatmap of layer ``l``."""
    model = cache.trained_model(name)
    return family_sections.tcav_section(model.extras["tcav"], family_sections.truth_of(model.dataset), [k], c, [l], check=tcav_check(name, stamp))


@st.cache_resource(show_spinner=False, max_entries=32)
def cbm_section(name: str, stamp: str, mode: str) -> Section:
    """The concept bottleneck view of one training mode."""
    return family_sections.cbm_section(cache.trained_model(name), mode, test_class_probabilities(name, stamp, mode))


@st.cache_resource(show_spinner=False, max_entries=32)
def overview_section(name: str, stamp: str) -> Section:
    """The key numbers and the dataset's ground truth."""
    return family_sections.overview_section(cache.trained_model(name))


@st.cache_data(show_spinner=False, max_entries=128)
def sensitivities(name: str, stamp: str, layer: str, example: int, target: int) -> np.ndarray:
    """(C,) directional derivatives of class ``target`` for one test example along each concept's mean CAV."""
    model = cache.trained_model(name)
    result = model.extras["tcav"]
    directions = result.mean_cavs()[layer]
    path = tcav_layers(model.model)[layer]
    return explain.concept_sensitivity(model.model, path, model.dataset.X_test[example : example + 1], target, directions, model.device)[0]


def what_if(name: str, mode: str, values: np.ndarray) -> np.ndarray:
    """Class probabilities from concept values; tiny (one linear layer), so computed on every change."""
    return family.what_if(cache.trained_model(name), mode, values)


def _key(name: str, stamp: str, concept: str, indices: np.ndarray, n_random: int) -> str:
    digest = hashlib.sha256(np.asarray(indices, dtype=np.int64).tobytes()).hexdigest()[:16]
    return f"{name}|{stamp}|{concept}|{digest}|{n_random}"


def user_concept_result(name: str, stamp: str, concept: str, indices: np.ndarray, n_random: int):
    """A user concept's TCAV result computed earlier in this session, or None."""
    return st.session_state.get(_USER_CONCEPTS, {}).get(_key(name, stamp, concept, indices, n_random))


def score_user_concept(name: str, stamp: str, concept: str, indices: np.ndarray, n_random: int, progress=None):
    """TCAV of the chosen test examples as a new concept (every class and layer), remembered in the session."""
    model = cache.trained_model(name)
    result = family.score_concept(model, concept, indices, n_random=n_random, progress=progress)
    st.session_state.setdefault(_USER_CONCEPTS, {})[_key(name, stamp, concept, indices, n_random)] = result
    return result
