"""The SAE features page's four views (Features, Feature, Example, Quality) for one recipe's SAE;
views/sae.py draws the header and the key numbers, keeps the URL state valid and picks the view.
Features and Quality draw the sections of interp_core/families/sae/sections.py (the same objects
the HTML report and Compare draw) with their widgets and clicks around them; Feature and Example
are one feature's and one input's drill-downs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
import streamlit as st

from interp_core.errors import InterpError
from interp_core.families.sae import explain as explain
from interp_core.families.sae import figures as figs
from interp_core.families.sae import sections as family_sections
from interp_core.figures.common import MAP_POINTS
from interp_core.figures.models import example_input
from interp_core.report import Figure, Table
from ui import components, passport, sae_circuit, sae_steer, state
from ui import sae as adapters
from ui.components import chart, show_error
from ui.sections import render_item


VIEWS = ["Features", "Feature", "Example", "Quality"]  # the page's views, a recipe's SAE and a causal LM's alike


@dataclass
class Page:
    """What every view reads: the recipe, its trained SAE and the feature in view."""

    name: str
    stamp: str
    model: object
    selected: int

    @property
    def analysis(self):
        return self.model.extras["analysis"]

    @property
    def metrics(self) -> dict:
        return self.analysis.metrics

    @property
    def kind(self) -> str:
        return self.model.extras["source_kind"]

    @property
    def sae(self):
        return self.model.extras["sae"]

    @property
    def features(self) -> pd.DataFrame:
        return self.analysis.features

    @cached_property
    def labels(self) -> list:
        return self.features["label"].tolist()

    @property
    def width(self) -> int:
        return len(self.features)

    @property
    def n_examples(self) -> int:
        return self.analysis.codes.n

    @property
    def n_train(self) -> int:
        return self.model.manifest["source"]["n_train"]

    @cached_property
    def X_all(self):
        return np.concatenate([self.model.dataset.X_train, self.model.dataset.X_test]) if self.kind != "text" else None

    @cached_property
    def example_labels(self):
        return np.concatenate([self.model.dataset.y_train, self.model.dataset.y_test]) if self.kind != "text" else None


def open_feature(feature: int) -> None:
    """Show a feature's page on the coming run (called from a click's callback, before that run)."""
    if feature >= 0:  # points with a negative index are not clickable
        state.queue(v_feature=int(feature), v_view="Feature")


def open_example(example: int) -> None:
    """Show an example in the Example view on the coming run (from a click's callback)."""
    if example >= 0:  # a gallery's blank cells carry -1
        state.queue(v_example=int(example), v_view="Example")


def on_feature_click(key: str):
    """The callback of a chart whose points are features: a click opens that feature in one run."""
    return components.on_click(key, lambda point: open_feature(point[0]))


ZOOM = "v_sae_zoom"  # "method:x0,x1,y0,y1", the part of a feature map zoomed in on (in the URL)


def zoom_window(method: str | None) -> tuple[float, float, float, float] | None:
    """The window of ``method``'s map the user zoomed in on, or None (a window of another map, or a
    hand-edited one that makes no sense, is dropped)."""
    raw = st.session_state.get(ZOOM)
    if not raw:
        return None
    try:
        of, numbers = str(raw).split(":", 1)
        x0, x1, y0, y1 = (float(v) for v in numbers.split(","))
    except ValueError:
        of, x0, x1, y0, y1 = None, 0, 0, 0, 0
    if of != method or not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        st.session_state[ZOOM] = None  # None, not popped: write_url drops it from the URL
        return None
    return (x0, x1, y0, y1)


def on_map_select(key: str, method: str | None):
    """The feature map's callback: a dragged box zooms in on that window, a click opens the feature."""

    def callback() -> None:
        event = st.session_state.get(key)
        box = components.selection_box(event)
        if box is not None:
            st.session_state[ZOOM] = f"{method}:" + ",".join(f"{v:.6g}" for v in box)
            return
        point = components.clicked_point(event, single=True)
        if point is not None:
            open_feature(point[0])

    return callback


def on_example_click(key: str):
    """The callback of a chart whose points are examples: a click opens that example in one run."""
    return components.on_click(key, lambda point: open_example(point[0]))


def example_caption(p: Page, i: int) -> str:
    example_labels, name, n_train, analysis, stamp, kind = p.example_labels, p.name, p.n_train, p.analysis, p.stamp, p.kind
    split = "train" if i < n_train else "test"
    if kind == "text":
        index = adapters.text_index(name, stamp)
        return f"token {i} (passage {int(index['token_window'][i])}, {split})"
    if analysis.label_names is None:
        return f"example {i} ({split})"
    what = "strongest true feature" if kind == "toy" else "class"
    return f"example {i} ({split}, {what} {analysis.label_names[int(example_labels[i])].removeprefix('feature ')})"



# -- Features: the map and the table ---------------------------------------------------------------
def section_items(section) -> dict:
    """A section's items by what they are: a figure by its how-to-read key, anything else by its title."""
    return {item.how_to_read if isinstance(item, Figure) else getattr(item, "title", ""): item for item in section.items}


def features_view(p: Page) -> None:
    """The Features section (map and table, as in the report) with the map's method, the search box
    and the dead-feature switch around it; a click on a dot or a row opens that feature."""
    selected, name, analysis, kind = p.selected, p.name, p.analysis, p.kind
    top = st.container()
    # The controls in one row across the page, above the map and the table: squeezed over the table
    # alone, the dead-feature box's label was cut ("Show dead fea…") even at 1400 px.
    map_col, search_col, precision_col, dead_col = components.columns([2, 4, 4, 3], vertical_alignment="bottom")
    with map_col:
        methods = family_sections.map_methods(analysis)
        method = st.radio("Map", methods, format_func=str.upper, horizontal=True, key="v_sae_map") if len(methods) > 1 else (methods or [None])[0]
    left, right = components.columns([5, 6])  # stacked while presenting: the map needs the width
    what = {"text": "token", "toy": "true feature", "image": "class"}.get(kind, "label")
    search = search_col.text_input(f"Search by {what} or feature number", key="v_search", placeholder="e.g. 'def'" if kind == "text" else "e.g. 3")
    measured = bool(p.features["label_support"].sum() > 0)
    min_precision = 0
    if measured:
        min_precision = state.url_int("v_min_precision", 0, 100, 0)
        min_precision = precision_col.slider("Min. label precision (%)", 0, 100, step=5, key="v_min_precision",
                                             help="Hide features whose label is present on fewer of their held-out firings than this (see a feature's page for what the numbers mean).")
    state.url_flag("v_dead")  # a URL gives the string "True"/"False"; a checkbox needs a bool
    show_dead = dead_col.checkbox("Show dead", key="v_dead", help="Also list the dead features, which never fire on any example (hidden by default).")
    window = zoom_window(method)
    section = adapters.features_section(name, p.stamp, method, selected, search, show_dead, window, min_precision / 100)
    components.heading(section.title, where=top)
    items = section_items(section)
    if "sae_feature_map" in items:
        with left:
            zoomable = window is not None or p.width > MAP_POINTS
            key = f"sae_map_{name}_{method}_{selected}_{st.session_state.get(ZOOM)}"
            render_item(items["sae_feature_map"], key=key, on_select=on_map_select(key, method), selection_mode=("points", "box") if zoomable else "points")
            if zoomable:
                st.caption("Too many features to draw them all: pick **Box Select** in the chart's toolbar and drag a box to zoom in; "
                           "the page redraws that part of the map from its own features, more of them the closer you zoom.")
            if window is not None:
                st.button("Show the whole map", key="sae_zoom_out", on_click=lambda: st.session_state.update({ZOOM: None}))  # None: write_url drops it from the URL
    with right:
        listing = items["Feature table"]
        st.caption(listing.note + " Click a column header to sort, a row to open the feature.")
        label_title = {"text": "Top tokens", "toy": "Matched true feature", "image": "Top class (share)"}.get(kind, "Label")
        key = f"sae_table_{name}_{search}_{show_dead}"
        render_item(
            replace(listing, note=""), key=key, table_title=False, on_select=components.on_row(key, lambda row: open_feature(int(listing.frame.iloc[row]["feature"]))), height=430,
            column_config={
                "feature": st.column_config.NumberColumn("Feature", format="%d"),
                "density": st.column_config.NumberColumn("Density", format="percent", help="Share of examples it fires on."),
                "mean_activation": st.column_config.NumberColumn("Mean act.", format="%.3f", help="Mean activation where it fires."),
                "max_activation": st.column_config.NumberColumn("Max act.", format="%.3f"),
                "label": label_title, "dead": "Dead",
                "label_precision": st.column_config.NumberColumn("Label precision", format="percent", help="Held-out examples where the feature fires: share on which its label is present."),
                "label_recall": st.column_config.NumberColumn("Label recall", format="percent", help="Held-out examples where its label is present: share on which the feature fires."),
            },
        )


# -- Feature: one feature's page -------------------------------------------------------------------
def show_examples(p: Page, ids: np.ndarray, values: np.ndarray, column: np.ndarray, title: str, key: str, match: int | None, fig=None) -> None:
    """Examples of a feature: a clickable gallery (digits, the toy; ``fig`` when already built), highlighted contexts (text)."""
    X_all, example_labels, name, analysis, stamp, kind = p.X_all, p.example_labels, p.name, p.analysis, p.stamp, p.kind
    if len(ids) == 0:
        st.caption("No examples.")
        return
    if kind == "image":
        if fig is None:
            fig = figs.digit_gallery(X_all[ids].reshape(len(ids), 8, 8), values, ids, [analysis.label_names[int(example_labels[i])] for i in ids], title=title)
        chart(fig, "sae_digit_gallery", key=key, on_select=on_example_click(key), selection_mode="points")
    elif kind == "toy" or "true_acts" in p.model.dataset.extras:  # the toy model, or a generated toy: the true features on in each example
        X = X_all if kind == "toy" else p.model.dataset.extras["true_acts"]
        chart(fig or figs.toy_examples(X[ids], values, ids, match, analysis.label_names, title=title), "sae_toy_examples", key=key, on_select=on_example_click(key), selection_mode="points")
    elif kind == "text":
        if title:
            st.markdown(f"**{title}**")
        show_contexts([(value, *adapters.context(name, stamp, int(i), column)) for i, value in zip(ids, values)], float(column.max()))
    else:
        rows = pd.DataFrame({"example": ids, "activation": values})
        texts = p.model.dataset.extras.get("texts")  # a user's texts (training texts first, as the examples are numbered)
        if texts is not None and len(texts) == len(column):
            rows["text"] = [texts[int(i)] for i in ids]
        components.table(rows, hide_index=True)


def show_contexts(contexts, largest: float) -> None:
    """Token contexts as lines of running text: (activation, tokens, each token's activation, the focus token's index)."""
    lines = [f'<div style="margin: 2px 0; line-height: 1.7;"><code>{value:6.2f}</code> &nbsp;{figs.highlight_tokens_html(tokens, acts, largest, focus)}</div>'
             for value, tokens, acts, focus in contexts]
    st.markdown("".join(lines), unsafe_allow_html=True)


def feature_view(p: Page) -> None:
    X_all, selected, example_labels, name, features, analysis, stamp, kind, width = p.X_all, p.selected, p.example_labels, p.name, p.features, p.analysis, p.stamp, p.kind, p.width
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    feature = left.number_input(f"Feature (0-{width - 1})", min_value=0, max_value=width - 1, step=1, value=selected, key=f"sae_feature_picker_{selected}")
    if int(feature) != selected:
        state.request(v_feature=int(feature))
    row = features.iloc[selected]
    passport.pin("feature", name, selected, f"{selected}" + (f" ({row['label'][:24]})" if row["label"] else ""), "views/sae.py")
    components.heading(f"Feature {selected}: {row['label'] or 'no label'}", where=right)
    if row["dead"]:
        st.warning("This feature never fires on any example: it is dead. Dead features are hidden from the table by default.")
        return
    if row["label"] and features["label_support"].sum() > 0:  # artifacts trained before the confidence was measured have none
        st.info("**How far to trust the label.** " + explain.label_trust(float(row["label_precision"]), float(row["label_recall"]), int(row["label_support"]), "the label"))
    view = adapters.feature_view(name, stamp, selected)
    column, intervals = view["column"], view["intervals"]
    what = {"text": "token logit (logit lens)", "toy": "toy readout", "image": "class logit"}.get(kind, "output")
    charts = adapters.feature_figures(name, stamp, selected, what)
    c = st.columns(4)
    components.metric(c[0], "Density", f"{row['density']:.3%}", help="Share of examples it fires on.")
    components.metric(c[1], "Mean activation", f"{row['mean_activation']:.3f}")
    components.metric(c[2], "Max activation", f"{row['max_activation']:.3f}")
    match = adapters.matched_true_feature(analysis, selected)
    if analysis.recovery is not None:
        if match is not None:
            components.metric(c[3], "Matches true feature", f"{match}", help=f"Hungarian match, |cosine| {analysis.recovery.matched_cosine[match]:.3f}.")
        else:
            components.metric(c[3], "Matches true feature", "none", help="No true feature was matched to this latent (a duplicate or a leftover).")
    elif analysis.class_share is not None:
        share = analysis.class_share[selected]
        components.metric(c[3], "Top class", analysis.label_names[int(share.argmax())], help=f"{share.max():.0%} of its total activation.")

    st.markdown("#### Top-activating examples")
    show_examples(p, view["top_ids"], view["top_values"], column, f"Top {len(view['top_ids'])} examples of feature {selected}", f"sae_top_{name}_{selected}", match, charts.get("top"))
    contexts = adapters.token_contexts(name, stamp, selected) if kind == "model" else None
    if contexts is not None:  # an SAE at a layer of a user's text model: where in the texts it fires
        st.markdown("#### Top-activating tokens")
        st.caption("The examples above are whole texts (the SAE reads the layer averaged over each text's tokens); here the feature is read on each token's "
                   "own vector of the layer: the tokens where it is strongest, with four tokens either side, shaded by its activation on each (the token underlined).")
        if contexts:
            show_contexts([(c.activation, c.tokens, c.values, c.focus) for c in contexts], contexts[0].activation)
        else:
            st.caption("It fires on no single token: only on the texts' averages.")

    left, right = st.columns(2)
    with left:
        chart(charts["hist"], "sae_activation_histogram", key=f"sae_hist_{name}_{selected}")
    with right:
        if "effects" in charts:
            chart(charts["effects"], "sae_output_effects", key=f"sae_effects_{name}_{selected}")
        if "share" in charts:
            chart(charts["share"], "sae_class_share", key=f"sae_share_{name}_{selected}")

    sae_circuit.circuit_section(name, stamp, p.model, selected)
    sae_steer.steer_section(name, stamp, p.model, selected, kind)

    st.markdown("#### Examples by activation interval")
    st.caption("Ten equal-width intervals from 0 to the maximum activation, highest first; each heading gives the share of the feature's firing examples that fall in it, and up to five samples.")
    for b in reversed(range(len(intervals.share))):
        ids = intervals.samples[b]
        with st.expander(interval_label(intervals, b), expanded=b == len(intervals.share) - 1 or (kind == "text" and b >= len(intervals.share) - 3)):
            if len(ids) == 0:
                st.caption("No examples in this interval.")
            elif kind == "image":
                st.image([np.kron(np.clip(X_all[i].reshape(8, 8), 0, 1), np.ones((8, 8))) for i in ids], width=64, caption=[f"{column[i]:.2f} ({analysis.label_names[int(example_labels[i])]})" for i in ids], clamp=True)
            elif kind == "toy":
                st.markdown("  \n".join(f"`{column[i]:.2f}` example {i}: true features on " + ", ".join(f"**{t}** ({X_all[i, t]:.2f})" if t == match else f"{t} ({X_all[i, t]:.2f})" for t in np.flatnonzero(X_all[i] > 0)) for i in ids))
            else:
                show_examples(p, ids, column[ids], column, "", f"sae_int_{name}_{selected}_{b}", match)


def interval_label(intervals, b: int, unit: str = "examples") -> str:
    """The heading of activation interval ``b`` (``explain.activation_intervals``): its range, share and count."""
    lo, hi = intervals.edges[b], intervals.edges[b + 1]
    return f"Interval {b + 1}: {lo:.2f} to {hi:.2f}, {intervals.share[b]:.1%} of activations ({intervals.counts[b]} {unit})"


# -- Example: which features fire on one input -------------------------------------------------------
def contributions_chart(p: Page, frame: pd.DataFrame, title: str, key: str) -> None:
    labels = p.labels
    if frame.empty:
        st.info("No feature fires on this example.")
        return
    chart(figs.feature_contributions(frame, labels, title=title), "sae_contributions", key=key, on_select=on_feature_click(key), selection_mode="points")


def example_view(p: Page) -> None:
    X_all, sae, model, name, n_train, n_examples, analysis, kind, labels = p.X_all, p.sae, p.model, p.name, p.n_train, p.n_examples, p.analysis, p.kind, p.labels
    W_dec = sae.W_dec.detach().cpu().numpy()
    if kind == "text":
        text_example_view(p, W_dec)
        return
    current = state.get_int("v_example", None)
    if current is None or not 0 <= current < n_examples:
        current = n_train  # the first test example
        st.session_state["v_example"] = current
    picked = st.number_input(f"Example (0-{n_examples - 1}; {n_train:,} and up are test examples)", min_value=0, max_value=n_examples - 1, value=current, step=1, key=f"sae_example_picker_{current}")
    if int(picked) != current:
        state.request(v_example=int(picked))
    components.heading(example_caption(p, current).capitalize())
    indices, values = analysis.codes.row(current)
    frame = explain.contributions_from_codes(indices, values, W_dec)
    left, right = st.columns([1, 2])
    with left:
        if kind == "image":
            chart(example_input(X_all[current], "image", title=f"Example {current}"), "example_input", key=f"sae_ex_input_{name}_{current}")
        elif kind == "toy" or "true_acts" in model.dataset.extras:  # the toy model, or a generated toy (its true feature activations)
            x = X_all[current] if kind == "toy" else model.dataset.extras["true_acts"][current]
            on = np.flatnonzero(x > 0)
            st.markdown("**True features on in this example:** " + ", ".join(f"{t} ({x[t]:.2f})" for t in on))
            if analysis.recovery is not None:
                lines = []
                for t in on:
                    latent = int(analysis.recovery.matched_latent[t])
                    fires = latent in set(indices.tolist())
                    lines.append(f"true feature {t} -> SAE feature {latent}" + (" fires" if fires else " does not fire"))
                st.caption("  \n".join(lines))
        if model.model.source is None and "true_acts" in model.dataset.extras:
            st.caption(f"Activation vector {current} of the generated toy: a sum of its true features' directions, with no model to run.")
        elif model.model.source is None:  # uploaded activations come without the model they came from
            st.caption(f"Activation vector {current} of your file; it came without its model, so there is no model output to show.")
        else:
            import torch

            with torch.no_grad():
                xb = torch.as_tensor(X_all[current : current + 1])
                outputs = {mode: model.model(xb.to(next(sae.parameters()).device), mode=mode).cpu().numpy()[0] for mode in ("clean", "sae")}
            names = analysis.label_names
            st.markdown("**Model output:** " + ", ".join(f"{label} predicts **{names[int(out.argmax())]}**" for label, out in (("clean", outputs["clean"]), ("with the SAE spliced in", outputs["sae"]))))
    with right:
        contributions_chart(p, frame, f"Features firing on example {current}", f"sae_contrib_{name}_{current}")
    if not frame.empty:
        components.table(frame.assign(label=[labels[int(f)] for f in frame["feature"]]), hide_index=True,
                     column_config={"feature": st.column_config.NumberColumn("Feature", format="%d"), "activation": st.column_config.NumberColumn("Activation", format="%.3f"),
                                    "share": st.column_config.NumberColumn("Share of reconstruction", format="percent"), "label": "Label"})


def text_example_view(p: Page, W_dec: np.ndarray) -> None:
    model, name, n_examples, analysis, stamp = p.model, p.name, p.n_examples, p.analysis, p.stamp
    index = adapters.text_index(name, stamp)
    n_windows = len(index["windows"])
    mode = st.radio("Input", ["A passage of the documentation", "Your own text"], horizontal=True, key="v_text_mode")
    if mode == "Your own text":
        if not isinstance(st.session_state.get("v_free_text"), str) or not st.session_state["v_free_text"].strip():  # in the URL, so a link shows the same text
            st.session_state["v_free_text"] = "The for statement is used to iterate over the elements of a sequence."
        st.session_state["v_free_text"] = st.session_state["v_free_text"][:2000]
        text = st.text_area("Type some text (Python code or prose)", key="v_free_text", max_chars=2000)
        try:
            result = adapters.free_text(name, stamp, text)
        except InterpError as exc:
            show_error(exc, "Reading your text")
            return
        tokens, codes = result["tokens"], result["codes"]
        strongest = codes.max(1)
        st.markdown(figs.highlight_tokens_html(tokens, strongest, float(strongest.max()) if len(strongest) else 1.0), unsafe_allow_html=True)
        st.caption("Shading: the strongest feature activation on each token. Pick a token to see its features.")
        token_in_url = state.get_int("v_free_token", 0)
        st.session_state["v_free_token"] = token_in_url if token_in_url is not None and 0 <= token_in_url < len(tokens) else 0
        position = st.selectbox("Token", list(range(len(tokens))), format_func=lambda i: f"{i}: {tokens[i]}", key="v_free_token")
        active = np.flatnonzero(codes[position] > 0)
        frame = explain.contributions_from_codes(active, codes[position, active], W_dec)
        contributions_chart(p, frame, f"Features firing on '{tokens[position]}'", f"sae_free_contrib_{name}_{position}_{hash(text)}")
        return
    current = state.get_int("v_example", None)
    if current is None or not 0 <= current < n_examples:
        current = int(index["example_of"][index["n_train_windows"]][1])  # first token of the first test passage
        st.session_state["v_example"] = current
    window = int(index["token_window"][current])
    picked = st.number_input(f"Passage (0-{n_windows - 1}; {index['n_train_windows']} and up are held out)", min_value=0, max_value=n_windows - 1, value=window, step=1, key=f"sae_window_picker_{current}")
    if int(picked) != window:
        state.request(v_example=int(index["example_of"][int(picked)][index["example_of"][int(picked)] >= 0][0]))
    members = index["example_of"][window]
    members = members[members >= 0]
    tokens = adapters.sources.token_strings(index["windows"][window][index["token_position"][members]])
    strongest = np.array([analysis.codes.row(int(e))[1].max(initial=0.0) for e in members])
    topic = model.dataset.class_names[int(np.concatenate([model.dataset.y_train, model.dataset.y_test])[window])]
    st.markdown(f"**Passage {window}** (topic `{topic}`)")
    st.markdown(figs.highlight_tokens_html(tokens, strongest, float(strongest.max()) if len(strongest) else 1.0, int(np.flatnonzero(members == current)[0]) if current in members else None), unsafe_allow_html=True)
    position = st.selectbox("Token", list(range(len(members))), index=int(np.flatnonzero(members == current)[0]) if current in members else 0, format_func=lambda i: f"{i}: {tokens[i]}", key=f"sae_token_picker_{current}")
    example = int(members[position])
    if example != current:
        state.request(v_example=example)
    indices, values = analysis.codes.row(example)
    frame = explain.contributions_from_codes(indices, values, W_dec)
    contributions_chart(p, frame, f"Features firing on '{tokens[position]}'", f"sae_contrib_{name}_{example}")


# -- Quality: how faithful is this SAE? ------------------------------------------------------------
QUALITY_LAYOUT = [("Quality numbers", "sae_splice"), ("sae_sweep", "sae_density_histogram"), ("sae_training_curve", "sae_recovery")]
CHART_KEYS = {"sae_splice": "sae_splice", "sae_sweep": "sae_sweep", "sae_density_histogram": "sae_density", "sae_training_curve": "sae_curve", "sae_recovery": "sae_recovery"}


def _quality_item(p: Page, what: str, item) -> None:
    if isinstance(item, Table):
        render_item(item, table_title=False, column_config={"metric": "Metric", "value": "Value"})
    else:
        render_item(item, key=f"{CHART_KEYS.get(what, what)}_{p.name}")


def quality_view(p: Page) -> None:
    """The Quality section (as in the report), two items a row."""
    section = adapters.quality_section(p.name, p.stamp, adapters.sweep_rows(p.name))
    components.heading(section.title)
    items = section_items(section)
    for pair in QUALITY_LAYOUT:
        if not any(what in items for what in pair):
            continue
        for column, what in zip(st.columns(2), pair):
            if what in items:
                with column:
                    _quality_item(p, what, items[what])
    placed = {what for pair in QUALITY_LAYOUT for what in pair}
    for what, item in items.items():  # anything the builder adds later still shows
        if what not in placed:
            _quality_item(p, what, item)
