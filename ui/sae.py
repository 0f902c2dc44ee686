"""Cached adapters for the SAE features page: per-feature views of the stored codes, text
contexts, free text through MiniLM, and the sweep across recipes that share a source.

Every cached function takes the artifact stamp (ui.cache.artifact_stamp) so a retrain
invalidates it.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae import figures as figs
from interp_core.families.sae import sections as family_sections
from interp_core.report import Section
from ui import cache


def model(name: str):
    return cache.trained_model(name)


def saelens_download(name: str, trained) -> None:
    """"Download as an SAELens folder (.zip)" for the SAE in view (``export-sae``'s folder, zipped when clicked), or why it cannot be."""
    from interp_core.families.sae.saelens import export_problem, saelens_zip

    problem = export_problem(trained.extras["sae"])
    if problem is not None:
        st.caption(problem)
        return
    st.download_button(
        "Download as an SAELens folder (.zip)", lambda: saelens_zip(trained), file_name=f"{name}-saelens.zip", mime="application/zip",
        key="sae_saelens_download", on_click="ignore", icon=":material/download:",
        help="cfg.json and sae_weights.safetensors (with each feature's firing rate in sparsity.safetensors), as export-sae writes them: "
             "SAELens opens the folder with SAE.load_from_disk, and this page opens it again under 'SAE features at a layer of your own model'.")


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
    token_window, token_position = sources.content_tokens(windows)
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


@st.cache_data(show_spinner="Reading the feature on every token of your texts...", max_entries=32)
def token_contexts(name: str, stamp: str, feature: int) -> list | None:
    """For an SAE at a layer of a user's text model: the feature's top tokens with their contexts
    (``token_contexts.top_token_contexts``), read on each token's vector; None for any other SAE."""
    from interp_core.errors import LayerError
    from interp_core.families.sae.token_contexts import token_codes, top_token_contexts

    trained = cache.trained_model(name)
    host = trained.model.source
    if trained.extras.get("source_kind") != "model" or not getattr(host, "tokens", False):
        return None
    tokenizer = cache.trained_model(trained.manifest["source"]["base_recipe"]).extras["loaded"].tokenizer
    X = np.concatenate([trained.dataset.X_train, trained.dataset.X_test])
    try:
        codes = token_codes(trained.extras["sae"], host.classifier, X, feature)
    except LayerError:  # a layer with one vector per text (a pooler): its features fire on whole texts only
        return None
    return top_token_contexts(codes, X, tokenizer.convert_ids_to_tokens, host.classifier.spec.pad_id)


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


# Sections and figures are built once per artifact and setting and shared by every session
# (read-only): a second visit, or a click back to a feature already seen, draws them without
# rebuilding (a large SAE's map took about 0.3 s of CPU to build).
@st.cache_resource(show_spinner=False, max_entries=64)
def features_section(name: str, stamp: str, method: str | None, selected: int, search: str, show_dead: bool, window: tuple | None = None, min_precision: float = 0.0) -> Section:
    return family_sections.features_section(cache.trained_model(name), method, selected, search, show_dead, window, min_precision)


@st.cache_resource(show_spinner=False, max_entries=16)
def quality_section(name: str, stamp: str, sweep: list[dict]) -> Section:
    """``sweep``: sweep_rows(name), read each run, so a neighbour recipe's retraining shows."""
    return family_sections.quality_section(cache.trained_model(name), sweep, cache.history(name, stamp))


@st.cache_resource(show_spinner=False, max_entries=64)
def feature_figures(name: str, stamp: str, feature: int, what: str | None) -> dict[str, go.Figure]:
    """One feature's charts: its top examples (``"top"``, for digits and the toy), its activation
    histogram, its effect on the outputs and its class shares (where the SAE has them); ``what``
    names the outputs on the effects chart."""
    trained = cache.trained_model(name)
    analysis = trained.extras["analysis"]
    kind = trained.extras["source_kind"]
    view = feature_view(name, stamp, feature)
    ids, values = view["top_ids"], view["top_values"]
    title = f"Top {len(ids)} examples of feature {feature}"
    out = {"hist": figs.activation_histogram(view["hist_counts"], view["hist_edges"], view["intervals"].edges, feature)}
    if len(ids) and kind in ("image", "toy"):
        X = np.concatenate([trained.dataset.X_train, trained.dataset.X_test])
        labels = np.concatenate([trained.dataset.y_train, trained.dataset.y_test])
        if kind == "image":
            out["top"] = figs.digit_gallery(X[ids].reshape(len(ids), 8, 8), values, ids, [analysis.label_names[int(labels[i])] for i in ids], title=title)
        else:
            out["top"] = figs.toy_examples(X[ids], values, ids, matched_true_feature(analysis, feature), analysis.label_names, title=title)
    if analysis.promoted is not None:
        names = analysis.output_names
        out["effects"] = figs.output_effects([names[i] for i in analysis.promoted[feature]], analysis.promoted_values[feature],
                                             [names[i] for i in analysis.suppressed[feature]], analysis.suppressed_values[feature], what)
    if analysis.class_share is not None and analysis.label_names:
        out["share"] = figs.class_share_chart(analysis.class_share[feature], analysis.label_names)
    return out


def matched_true_feature(analysis, feature: int) -> int | None:
    """The toy's true feature this SAE feature was matched to (Hungarian), or None."""
    if analysis.recovery is None:
        return None
    hits = np.flatnonzero(analysis.recovery.matched_latent == feature)
    return int(hits[0]) if len(hits) else None
