"""Cached adapters for the Prototypes page, keyed by the artifact stamp so a retrain invalidates them.

The analyses are read-only once computed, so they are shared resources (no copy per rerun). What is
computed lives in the family (interp_core/families/prototypes/view.py), shared with the report.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from interp_core.families.prototypes.explain import scaled_inputs
from interp_core.families.prototypes.view import PrototypeView, prototype_view
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
