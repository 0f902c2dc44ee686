"""Cached adapters for the Mechanisms page: the trained network with its stored analysis
(interp_core.families.mechanisms.mechanism) and the page's blocks built from it, keyed by the
artifact stamp so a retrain invalidates them. Everything returned is read-only."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from interp_core.errors import InterpError
from interp_core.families.mechanisms import explain, population
from interp_core.families.mechanisms import sections as blocks
from interp_core.families.mechanisms.mechanism import Mechanism, load_member, load_mechanism
from interp_core.report import Section
from ui import cache


MEMBER = "#"  # "population-s4#3": model 3 of a stored population, opened like a recipe


@st.cache_resource(show_spinner="Loading the network and its analysis...", max_entries=8)
def _mechanism(name: str, stamp: str) -> Mechanism:
    if MEMBER in name:
        artifact_name, index = name.split(MEMBER)
        return load_member(*population.open_population(cache.catalog(), artifact_name), int(index))
    model = cache.trained_model(name)
    return load_mechanism(model, cache.catalog().store_for(model.artifact))


def stamp(name: str) -> str | None:
    """The cache key of a recipe's artifact, or of a population (or of the population a member, "<population>#<index>", belongs to)."""
    base = name.split(MEMBER)[0]
    if not base.startswith(population.PREFIX):
        return cache.artifact_stamp(base)
    try:
        artifact, _ = population.open_population(cache.catalog(), base)
    except InterpError:
        return None
    return f"{artifact.path}:{artifact.manifest.get('created')}"


def mechanism(name: str) -> Mechanism | None:
    """The network for a recipe (or a population's member) with its analysis, or None when it has never been trained."""
    key = stamp(name)
    if key is None:
        return None
    return _mechanism(name, key)


def populations() -> list[str]:
    """The stored populations (``sweep groups``), user's first then shipped."""
    return population.population_names(cache.catalog())


@st.cache_resource(show_spinner="Loading the population...", max_entries=16)
def _population(name: str, stamp: str) -> dict:
    return population.read_population(*population.open_population(cache.catalog(), name))


def stored_population(name: str) -> dict:
    """A stored population's rows, summary, claims and histories (read-only)."""
    return _population(name, stamp(name))


@st.cache_resource(show_spinner=False, max_entries=64)
def population_block(name: str, stamp: str, block: str, setting: int | None) -> Section:
    """The population block ``block`` ("population" with the ringed member, "claims" with the run
    whose curve is drawn) of population ``name``."""
    stored = _population(name, stamp)
    if block == "claims":
        return blocks.claims_section(name, stored, blocks.default_run(stored) if setting is None else setting)
    return blocks.population_section(name, stored, setting)


@st.cache_data(show_spinner=False, max_entries=64)
def pruning(name: str, stamp: str, threshold: float) -> tuple[list[int], pd.DataFrame]:
    """Memorising neurons at ``threshold`` and the accuracies before / after pruning them."""
    mech = _mechanism(name, stamp)
    neurons = mech.memorising(threshold)
    report = explain.pruning_report(mech.parts, mech.group, mech.split, neurons, threshold, mech.key_irreps)
    return neurons, report.accuracies


@st.cache_resource(show_spinner=False, max_entries=16)
def irrep_table(key: str) -> pd.DataFrame:
    return explain.irrep_table(key)


@st.cache_resource(show_spinner=False, max_entries=128)
def section(name: str, stamp: str, block: str, *settings) -> Section:
    """The page block ``block`` (``<block>_section`` of families/mechanisms/sections.py) at the
    user's ``settings``, built once per artifact and setting: a second visit, or a click back to a
    neuron or pair already seen, draws the same figures without rebuilding them (a page run built
    ten Plotly figures, about 1 s). Shared by every session: read-only."""
    mech = _mechanism(name, stamp)
    if block == "spectrum":
        (side,) = settings
        return blocks.spectrum_section(mech, side, irrep_table(mech.group.key))
    if block == "memorisation":
        threshold, pruned = settings
        neurons, accuracies = pruning(name, stamp, threshold)
        return blocks.memorisation_section(mech, threshold, neurons, accuracies if pruned else None)
    return getattr(blocks, f"{block}_section")(mech, *settings)
