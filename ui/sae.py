"""Cached adapters for the SAE features page: per-feature views of the stored codes, text
contexts, free text through MiniLM, and the sweep across recipes that share a source.

Every cached function takes the artifact stamp (ui.cache.artifact_stamp) so a retrain
invalidates it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae import sections as family_sections
from ui import cache


def model(name: str):
    return cache.trained_model(name)


def analysis(name: str) -> explain.SAEAnalysis:
    return cache.trained_model(name).extras["analysis"]


@st.cache_resource(show_spinner=False, max_entries=8)
def _columns(name: str, stamp: str):
    """Codes as a column-major matrix, so one feature's activations are a slice (read-only)."""
    return analysis(name).codes.to_scipy().tocsc()


def feature_column(name: str, stamp: str, feature: int) -> np.ndarray:
    matrix = _columns(name, stamp)
    column = np.zeros(matrix.shape[0], dtype=np.float32)
    lo, hi = matrix.indptr[feature], matrix.indptr[feature + 1]
    column[matrix.indices[lo:hi]] = matrix.data[lo:hi]
    return column


@st.cache_data(show_spinner=False, max_entries=64)
def feature_view(name: str, stamp: str, feature: int) -> dict:
    """Top examples, 10 activation intervals with samples, and the histogram of one feature."""
    column = feature_column(name, stamp, feature)
    top_ids, top_values = explain.top_examples(column)
    intervals = explain.activation_intervals(column, seed=feature)
    counts, edges = explain.activation_histogram(column)
    return {"column": column, "top_ids": top_ids, "top_values": top_values, "intervals": intervals, "hist_counts": counts, "hist_edges": edges}


@st.cache_data(show_spinner=False, max_entries=8)
def text_index(name: str, stamp: str) -> dict:
    """For text sources: windows (n_windows, T) of token ids, and each example's (window, position)."""
    trained = cache.trained_model(name)
    windows = np.concatenate([trained.dataset.X_train, trained.dataset.X_test]).round().astype(np.int64)
    content = np.ones_like(windows, dtype=bool)
    for special in (0, 101, 102):
        content &= windows != special
    token_window, token_position = np.nonzero(content)
    example_of = -np.ones_like(windows)
    example_of[token_window, token_position] = np.arange(len(token_window))
    return {"windows": windows, "token_window": token_window, "token_position": token_position, "example_of": example_of, "n_train_windows": len(trained.dataset.X_train)}


def context(name: str, stamp: str, example: int, column: np.ndarray, before: int = 12, after: int = 6) -> tuple[list[str], np.ndarray, int]:
    """Tokens around one text example with this feature's activation on each, and the focus position."""
    index = text_index(name, stamp)
    w, p = int(index["token_window"][example]), int(index["token_position"][example])
    window = index["windows"][w]
    lo, hi = max(1, p - before), min(len(window), p + after + 1)
    ids = window[lo:hi]
    keep = [i for i, token in enumerate(ids) if token not in (0, 101, 102)]
    ids = ids[keep]
    examples = index["example_of"][w, lo:hi][keep]
    values = np.where(examples >= 0, column[np.maximum(examples, 0)], 0.0)
    return sources.token_strings(ids), values, int(np.flatnonzero(np.arange(lo, hi)[keep] == p)[0])


@st.cache_data(show_spinner="Running MiniLM on your text...", max_entries=32)
def free_text(name: str, stamp: str, text: str) -> dict:
    """Codes of each token of a user's text: tokens (T,), codes (T, width) as a dense array."""
    import torch

    trained = cache.trained_model(name)
    ids = sources.encode_text(text)
    sae = trained.extras["sae"]
    with torch.no_grad():
        device = next(sae.parameters()).device
        acts = trained.model.source.activations(torch.as_tensor(ids, device=device))
        codes = sae.encode(acts).cpu().numpy()
    tokens = sources.token_strings(ids[0][1:-1])
    return {"tokens": tokens, "codes": codes}


def sweep_rows(name: str) -> list[dict]:
    """This artifact's k sweep plus every trained recipe of the same source (width/architecture sweep)."""
    return family_sections.sweep_rows(cache.trained_model(name), cache.catalog())
