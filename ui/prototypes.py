"""Cached adapters for the Prototypes page, keyed by the artifact stamp so a retrain invalidates them.

The analyses are read-only once computed, so they are shared resources (no copy per rerun).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from interp_core.families.prototypes.explain import PrototypeReport, PushResult, analyse, push_prototypes, pushed_copy, scaled_inputs
from interp_core.families.prototypes import LATENT_MAP, PUSH_FILE, latent_points
from interp_core.projection import pca_2d, projection_file
from ui import cache


@dataclass
class PrototypeView:
    """One view of a model: learned or pushed prototypes, the report, the maps and the pictures to show.

    maps: method -> (n_train + n_test + m, 2) coordinates; prototype_pictures (m, *input_shape);
    prototype_scaled (m, values) for table heatmaps; picture_source: what the pictures are."""

    report: PrototypeReport
    push: PushResult
    pushed: bool
    maps: dict[str, np.ndarray]
    prototype_pictures: np.ndarray
    prototype_scaled: np.ndarray
    picture_source: str


def _stored_push(model, store) -> PushResult | None:
    files = model.artifact.manifest.get("files", {})
    metrics = model.metrics
    if PUSH_FILE not in files or "push_accuracy_after" not in metrics:
        return None
    arrays = store.read_arrays(model.artifact, PUSH_FILE)
    return PushResult(arrays["prototypes"], arrays["train_index"], arrays["moved"], metrics["push_accuracy_before"], metrics["push_accuracy_after"])


@st.cache_resource(show_spinner=False, max_entries=16)
def view(name: str, stamp: str, pushed: bool) -> PrototypeView:
    model = cache._trained(name, stamp)
    dataset = model.dataset
    store = cache.catalog().store_for(model.artifact)
    push = _stored_push(model, store) or push_prototypes(model.model, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)
    network = pushed_copy(model.model, push.prototypes) if pushed else model.model
    report = analyse(network, dataset, seed=int(model.manifest.get("seed", 0)), push=push)
    maps: dict[str, np.ndarray] = {}
    if projection_file(LATENT_MAP) in model.artifact.manifest.get("files", {}):
        maps = dict(store.read_arrays(model.artifact, projection_file(LATENT_MAP)))
    if "pca" not in maps:
        maps["pca"] = pca_2d(latent_points(analyse_learned(model, report, pushed)))
    n_train = len(dataset.y_train)
    if pushed:  # a pushed prototype sits exactly on its training example
        valid = push.train_index >= 0
        for method, coords in maps.items():
            coords = coords.copy()
            proto_rows = coords[n_train + len(dataset.y_test) :]
            proto_rows[valid] = coords[push.train_index[valid]]
            maps[method] = coords
        pictures = dataset.X_train[np.maximum(push.train_index, 0)]
        scaled = scaled_inputs(model.model, pictures)
        source = "the real training cases the prototypes were pushed onto"
    else:
        pictures, scaled, source = report.decoded, report.decoded_scaled, "decoded prototypes"
    return PrototypeView(report, push, pushed, maps, pictures, scaled, source)


def analyse_learned(model, report: PrototypeReport, pushed: bool) -> PrototypeReport:
    """The report whose prototypes define the map (the learned ones; pushed ones are placed on their cases)."""
    if not pushed:
        return report
    return analyse(model.model, model.dataset, seed=int(model.manifest.get("seed", 0)))


@st.cache_data(show_spinner=False, max_entries=16)
def scaled(name: str, stamp: str, split: str) -> np.ndarray:
    """A split's inputs in the model's scaled units (z-scores for tables), for profile heatmaps."""
    model = cache._trained(name, stamp)
    X = model.dataset.X_train if split == "train" else model.dataset.X_test
    return scaled_inputs(model.model, X)
