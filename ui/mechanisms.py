"""Cached adapters for the Mechanisms page: the trained network with its stored analysis, keyed by
the artifact stamp so a retrain invalidates them. Everything returned is read-only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from interp_core.families.mechanisms.data import Group, get_group
from interp_core.families.mechanisms import explain as explain
from interp_core.families.mechanisms.artifacts import read_report, read_split
from interp_core.families.mechanisms.models import NetworkParts
from interp_core.recipes import TrainedModel
from ui import cache


@dataclass
class Mechanism:
    """One trained group network and everything the page draws from it."""

    model: TrainedModel
    group: Group
    parts: NetworkParts
    explained: NetworkParts  # restricted to the key irreps
    history: dict
    report: dict
    arrays: dict[str, np.ndarray]
    split: dict[str, np.ndarray]
    irrep_names: list[str]
    irrep_long_names: list[str]

    @property
    def key_irreps(self) -> list[int]:
        return [int(k) for k in self.arrays["key_irreps"]]

    @property
    def corrupted(self) -> bool:
        truth = self.group.table.ravel()[self.split["train_index"]]
        return bool((self.split["train_labels"] != truth).any())

    @property
    def alive(self) -> np.ndarray:
        return self.arrays["dominant"] >= 0


def _stored_or_computed(model: TrainedModel, split: dict) -> tuple[dict, dict]:
    """The analysis saved at train time; recomputed (not saved) for artifacts that lack it."""
    from interp_core.families.mechanisms import analysis_arrays

    stored = read_report(model.artifact, cache.catalog().store_for(model.artifact))
    if stored is not None:
        return stored
    config = model.manifest.get("train_config", {})
    report, decomposition, symmetry = explain.analyse(model.model.parts(), model.extras["group"], split, config.get("coverage", 0.9), config.get("prune_threshold", 0.5))
    return report.to_dict(), analysis_arrays(decomposition, symmetry)


@st.cache_resource(show_spinner="Loading the network and its analysis...", max_entries=8)
def _mechanism(name: str, stamp: str) -> Mechanism:
    model = cache.trained_model(name)
    store = cache.catalog().store_for(model.artifact)
    split = read_split(model.artifact, store)
    report, arrays = _stored_or_computed(model, split)
    key = model.extras["group"]
    parts = model.model.parts()
    basis = explain.fourier_basis(key)
    return Mechanism(
        model=model,
        group=get_group(key),
        parts=parts,
        explained=explain.restrict(parts, key, [int(k) for k in arrays["key_irreps"]]),
        history=store.read_json(model.artifact, "history.json"),
        report=report,
        arrays=arrays,
        split=split,
        irrep_names=basis.irrep_names,
        irrep_long_names=[irrep.name for irrep in basis.irreps],
    )


def mechanism(name: str) -> Mechanism | None:
    """The network for a recipe with its analysis, or None when it has never been trained."""
    stamp = cache.artifact_stamp(name)
    if stamp is None:
        return None
    return _mechanism(name, stamp)


@st.cache_data(show_spinner=False, max_entries=64)
def pruning(name: str, stamp: str, threshold: float) -> tuple[list[int], pd.DataFrame]:
    """Memorising neurons at ``threshold`` and the accuracies before / after pruning them."""
    mech = _mechanism(name, stamp)
    neurons = [int(j) for j in np.flatnonzero(mech.alive & (mech.arrays["key_concentration"] < threshold))]
    report = explain.pruning_report(mech.parts, mech.group, mech.split, neurons, threshold, mech.key_irreps)
    return neurons, report.accuracies


@st.cache_data(show_spinner=False, max_entries=16)
def irrep_table(key: str) -> pd.DataFrame:
    return explain.irrep_table(key)


def product_names(group: Group) -> np.ndarray:
    return np.array(group.elements, dtype=object)[group.table]
