"""The SAE features page's four views (Features, Feature, Example, Quality) for an SAE on a block of the
user's text model without classes, a causal language model or an encoder (issue 17), drawn inside the page's
"Your model" panel (ui/causal_lm.py and ui/encoder.py ``sae_page_body``). They draw what a recipe SAE's views
draw, from the same pure builders (``sections.features_of`` / ``quality_table``, ``figures``, ``explain``), over
the engine's token-level reading of the SAE (``causal.token_sae``): every real token of the user's texts is one
example.

- Features: the decoder-direction map (a click opens the feature), the feature table with search (a row
  opens it) and the feature-density histogram;
- Feature: its activation histogram, its strongest tokens in context, tokens by activation interval and, for a
  causal LM, the next tokens it promotes and suppresses and the steer panel (an encoder has no unembedding and
  no next word: a caption says so);
- Example: a held-out text (or one typed here) token by token, shaded by the strongest feature on each,
  and the features firing on a picked token (a bar opens that feature);
- Quality: the quality table, the splice (a causal LM's next-token accuracy and loss clean, spliced, zeroed, and
  each held-out text's loss clean vs spliced; an encoder's sentence-embedding cosine spliced and zeroed, overall
  and per held-out text) and the density histogram with the dead share.

Every widget key starts with the panel's ``prefix`` (``causal_lm_page``, ``encoder_page``). The view and the
feature in view are kept in the session (not the URL: the recipe page below owns it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import streamlit as st

from interp_core import causal_lm as lm
from interp_core.errors import InterpError
from interp_core.families.sae import causal
from interp_core.families.sae import explain
from interp_core.families.sae import figures as figs
from interp_core.families.sae import sections as family_sections
from ui import components
from ui.components import chart, show_error
from ui.components import shown_token as shown
from ui.sae_page import VIEWS, interval_label, section_items, show_contexts
from ui.sections import render_item

_VIEWS_MEMO = "_causal_lm_token_saes"  # {(sae path, texts key, layer): causal.TokenSAE}
_MAPS_MEMO = "_causal_lm_umaps"  # {sae path: the UMAP of its decoder}
CAUSAL_LABELS = {  # the quality table's rows: the recipe labels, the splice said in next-token terms
    "l0": "L0 (mean active features per token, held-out)", "explained_variance": family_sections.QUALITY_LABELS["explained_variance"],
    "mse": "MSE per token (held-out, input units)", "dead_fraction": family_sections.QUALITY_LABELS["dead_fraction"],
    "accuracy_clean": "next-token accuracy, clean", "accuracy_sae": "next-token accuracy, SAE spliced in", "accuracy_zero": "next-token accuracy, block zeroed",
    "loss_clean": "next-token loss, clean", "loss_sae": "next-token loss, SAE spliced in", "loss_zero": "next-token loss, block zeroed",
    "loss_recovered": family_sections.QUALITY_LABELS["loss_recovered"],
    "cosine_sae": family_sections.QUALITY_LABELS["cosine_sae"], "cosine_zero": "sentence-embedding cosine, block zeroed",
}


def view_key(prefix: str) -> str:
    """The segmented control's key."""
    return f"{prefix}_view"


def selected_key(prefix: str) -> str:
    """The feature in view (a plain key: the picker is drawn in the Feature view only)."""
    return f"_{prefix}_selected"


@dataclass
class TokenPage:
    """What every view reads: the model and texts of Home's box, ``explain_text_model``'s result, the token-level reading,
    the feature in view and the panel's widget-key ``prefix``."""

    loaded: object
    texts: object
    result: dict
    sae: causal.TokenSAE
    selected: int
    prefix: str

    @property
    def sae_path(self) -> str:
        return self.result["sae_path"]

    @property
    def layer(self) -> str:
        return self.result["layer"]

    def tokens(self, ids) -> list[str]:
        """Token ids as they read (leading spaces and newlines visible)."""
        return [shown(t) for t in lm.token_labels(self.loaded.tokenizer, list(ids))]


def open_feature(prefix: str, feature: int) -> None:
    """Open ``feature`` in the Feature view on the coming run (from a click's callback, before that run)."""
    if feature >= 0:
        st.session_state[selected_key(prefix)] = int(feature)
        st.session_state[view_key(prefix)] = "Feature"


def _once(what: str, key, compute):
    """``compute()`` once per ``key`` in this session (the last 32 kept): the Feature view's logit effects and a typed text's
    codes each load the SAE from its folder and run the model, and every click reruns the page."""
    memo = st.session_state.setdefault(f"_causal_views_{what}", {})
    if key not in memo:
        if len(memo) >= 32:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


def remember(texts_key, result: dict, reading: causal.TokenSAE) -> None:
    """Keep the reading ``causal.read_text_model`` built with ``result`` (trained or opened in this session), so the views
    draw it without running the model over the texts again."""
    st.session_state.setdefault(_VIEWS_MEMO, {})[_reading_key(result, texts_key)] = reading


def _reading_key(result: dict, texts_key) -> tuple:
    """Which SAE read on which texts at which block: a reading's key in the views' memo."""
    return result["sae_path"], texts_key, result["layer"]


def token_reading(loaded, texts, texts_key, result: dict) -> causal.TokenSAE | None:
    """The engine's token-level reading of this SAE (once per SAE and texts, with a progress note); None after an error shown."""
    memo = st.session_state.setdefault(_VIEWS_MEMO, {})
    key = _reading_key(result, texts_key)
    if key not in memo:
        try:
            with st.spinner(f"Reading the SAE on every token of {texts.name}..."):
                memo[key] = causal.token_sae(loaded, texts, result["sae_path"], result["layer"])
        except InterpError as exc:
            show_error(exc, "Reading the SAE on your texts")
            return None
    return memo[key]


def draw(loaded, texts, texts_key, result: dict, prefix: str, steer=None) -> None:
    """The four views, picked as on a recipe's page, their widgets keyed by ``prefix``; ``steer(feature, text)`` (a causal
    LM's) draws the steer panel in the Feature view (on the text where the feature fires most, so that an edit has something
    to act on)."""
    sae = token_reading(loaded, texts, texts_key, result)
    if sae is None:
        return
    chosen, shown_key = selected_key(prefix), f"_{prefix}_shown"  # shown_key: the SAE (its folder) whose feature is in view
    selected = st.session_state.get(chosen)
    if st.session_state.get(shown_key) != result["sae_path"] or not isinstance(selected, int) or not 0 <= selected < sae.codes.width:
        selected = int(np.argmax(sae.density))  # another SAE (another block, or one opened): its most often firing feature
        st.session_state[chosen], st.session_state[shown_key] = selected, result["sae_path"]
    if st.session_state.get(view_key(prefix)) not in VIEWS:
        st.session_state[view_key(prefix)] = VIEWS[0]
    view = st.segmented_control("View", VIEWS, key=view_key(prefix),
                                help="Features: map and table. Feature: one feature's page. Example: what fires on each token of a text. Quality: how faithful the SAE is.")
    page = TokenPage(loaded, texts, result, sae, selected, prefix)
    if view == "Feature":
        feature_view(page, steer)
    else:
        {"Features": features_view, "Example": example_view, "Quality": quality_view}[view or VIEWS[0]](page)


# -- Features -------------------------------------------------------------------------------------------
def _maps(p: TokenPage, method: str) -> dict:
    if method != "umap":
        return p.sae.maps
    memo = st.session_state.setdefault(_MAPS_MEMO, {})
    if p.sae_path not in memo:
        with st.spinner("Laying out the decoder directions with UMAP..."):
            memo[p.sae_path] = explain.decoder_maps(p.sae.W_dec)
    return memo[p.sae_path]


def features_view(p: TokenPage) -> None:
    """The map of the decoder directions and the feature table (a click on either opens the feature), and the density histogram."""
    map_col, search_col, dead_col = components.columns([3, 5, 3], vertical_alignment="bottom")
    method = map_col.radio("Map", ["pca", "umap"], format_func=str.upper, horizontal=True, key=f"{p.prefix}_map",
                           help="PCA: the two directions along which the decoder rows differ most. UMAP: neighbours kept together (computed when picked).")
    search = search_col.text_input("Search by token or feature number", key=f"{p.prefix}_search", placeholder="e.g. 'film' or 3")
    show_dead = dead_col.checkbox("Show dead", key=f"{p.prefix}_dead", help="Also list the dead features, which never fire on any token (hidden by default).")
    section = family_sections.features_of(_maps(p, method), p.sae.features, method, p.selected, search, show_dead)
    components.heading(section.title)
    items = section_items(section)
    left, right = components.columns([5, 6])
    with left:
        key = f"{p.prefix}_map_{method}_{p.selected}"
        render_item(items["sae_feature_map"], key=key, on_select=components.on_click(key, lambda point: open_feature(p.prefix, point[0]), single=True), selection_mode="points")
    with right:
        listing = items["Feature table"]
        frame = listing.frame.drop(columns=["label_precision", "label_recall"])  # no label to measure: a token-level SAE's labels are its own top tokens
        st.caption(listing.note + " Click a column header to sort, a row to open the feature.")
        key = f"{p.prefix}_table_{search}_{show_dead}"
        render_item(replace(listing, frame=frame, note=""), key=key, table_title=False, height=430,
                    on_select=components.on_row(key, lambda row: open_feature(p.prefix, int(frame.iloc[row]["feature"]))),
                    column_config={"feature": st.column_config.NumberColumn("Feature", format="%d"),
                                   "density": st.column_config.NumberColumn("Density", format="percent", help="Share of tokens it fires on."),
                                   "mean_activation": st.column_config.NumberColumn("Mean act.", format="%.3f", help="Mean activation where it fires."),
                                   "max_activation": st.column_config.NumberColumn("Max act.", format="%.3f"),
                                   "label": st.column_config.TextColumn("Top tokens", help="The tokens it fires on most often."), "dead": "Dead"})
    chart(figs.density_histogram(explain.log_density_histogram(p.sae.density), unit="tokens"), "sae_density_histogram", key=f"{p.prefix}_density")


# -- Feature --------------------------------------------------------------------------------------------
def feature_view(p: TokenPage, steer=None) -> None:
    """One feature: its numbers, activation histogram, strongest tokens in context, logit effects, and the steer panel."""
    from interp_core.families.sae.token_contexts import token_context, top_token_contexts

    sae, selected = p.sae, p.selected
    features = sae.features
    order = [int(j) for j in np.argsort(-features["density"].to_numpy(), kind="stable")]
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    picked = left.selectbox("Feature", order, index=order.index(selected), key=f"{p.prefix}_feature_{selected}",
                            format_func=lambda j: f"{j}: " + (f"fires on {sae.labels[j]}" if sae.labels[j] else "never fires"),
                            help="Every feature, the most often firing first; a click on the map, the table or the Example view's bars opens one here.")
    if int(picked) != selected:
        st.session_state[selected_key(p.prefix)] = int(picked)
        st.rerun()
    row = features.iloc[selected]
    components.heading(f"Feature {selected}: {row['label'] or 'never fires'}", where=right)
    if row["dead"]:
        st.warning("This feature never fires on any token of your texts: it is dead. Dead features are hidden from the table by default.")
        return
    column = sae.column(selected)
    grid = sae.grid(selected, p.texts.ids.shape)  # its code at each (text, position) of the texts' ids
    c = st.columns(4)
    components.metric(c[0], "Density", f"{row['density']:.3%}", help="Share of the texts' tokens it fires on.")
    components.metric(c[1], "Mean activation", f"{row['mean_activation']:.3f}")
    components.metric(c[2], "Max activation", f"{row['max_activation']:.3f}")
    components.metric(c[3], "Tokens it fires on", f"{int((column > 0).sum()):,}")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Where feature {selected} fires most**")
        contexts = top_token_contexts(grid, p.texts.ids, p.tokens, p.texts.pad_id)
        show_contexts([(c.activation, c.tokens, c.values, c.focus) for c in contexts], contexts[0].activation)
        st.caption("The tokens where the feature is strongest, with four tokens either side, shaded by its activation on each (the token underlined).")
    with right:
        if sae.encoder:
            st.caption("An encoder has no unembedding (no next word), so a feature has no logit effects to chart here: it is described by "
                       "the tokens it fires on, at the left and by interval below.")
        else:
            try:
                effects = _once("effects", (str(p.loaded.path), p.sae_path, p.layer, selected), lambda: causal.feature_effects(p.loaded, p.sae_path, selected, p.layer))
            except InterpError as exc:
                show_error(exc, "The feature's logit effects")
            else:
                up, down = effects["promotes"], effects["suppresses"]
                chart(figs.output_effects([shown(t["token"]) for t in up], np.array([t["logit"] for t in up]),
                                          [shown(t["token"]) for t in down], np.array([t["logit"] for t in down]), what="next-token logit"),
                      "sae_output_effects", key=f"{p.prefix}_effects_{selected}")
    counts, edges = explain.activation_histogram(column)
    intervals = explain.activation_intervals(column, seed=selected)
    chart(figs.activation_histogram(counts, edges, intervals.edges, selected, unit="tokens"), "sae_activation_histogram", key=f"{p.prefix}_hist_{selected}", explain=False)
    components.reading("sae_activation_histogram", "Activations of this feature on the tokens where it fires; the shaded bands are the 10 equal-width "
                                                   "intervals the token lists below come from (the contexts above are the top of the last one).")
    if steer is not None:
        components.heading("Steer the next word")
        steer(selected, p.texts.texts[contexts[0].example])
    st.markdown("#### Tokens by activation interval")
    st.caption("Ten equal-width intervals from 0 to the maximum activation, highest first; each heading gives the share of the feature's firing tokens "
               "that fall in it, and up to five samples in their context.")
    for b in reversed(range(len(intervals.share))):
        rows = intervals.samples[b]
        with st.expander(interval_label(intervals, b, "tokens"), expanded=b >= len(intervals.share) - 3):
            if len(rows) == 0:
                st.caption("No tokens in this interval.")
                continue
            shown_contexts = [token_context(grid, p.texts.ids, p.tokens, p.texts.pad_id, int(sae.text[r]), int(sae.position[r])) for r in rows]
            show_contexts([(c.activation, c.tokens, c.values, c.focus) for c in shown_contexts], float(column.max()))


# -- Example --------------------------------------------------------------------------------------------
def example_view(p: TokenPage) -> None:
    """A held-out text (or one typed here) token by token: shaded by the strongest feature on each; a picked token's features as bars."""
    sae, texts = p.sae, p.texts
    mode = st.radio("Input", ["A held-out text", "Your own text"], horizontal=True, key=f"{p.prefix}_example_mode")
    if mode == "Your own text":
        text = st.text_area("Type some text", value=texts.texts[-1][:2000], max_chars=2000, key=f"{p.prefix}_free_text")
        try:
            tokens, codes = _once("typed", (str(p.loaded.path), p.sae_path, p.layer, text), lambda: causal.text_codes(p.loaded, p.sae_path, text, p.layer))
        except InterpError as exc:
            show_error(exc, "Reading your text")
            return
        tokens = [shown(t) for t in tokens]
        rows = [(np.flatnonzero(codes[i] > 0), codes[i, codes[i] > 0]) for i in range(len(tokens))]
        key = f"{p.prefix}_free_{hash(text)}"
    else:
        held_out = list(range(texts.n_train, len(texts.texts)))
        index = st.selectbox(f"Held-out text ({len(held_out)} of {len(texts.texts)}: the SAE was trained on the others)", held_out, key=f"{p.prefix}_example_text",
                             format_func=lambda i: f"{i}: {texts.texts[i][:60]}")
        members = sae.token_rows(int(index))
        tokens = p.tokens(sae.token_ids[members])
        rows = [sae.codes.row(int(r)) for r in members]
        key = f"{p.prefix}_ex_{index}"
    token_features(p, tokens, rows, key)


def token_features(p: TokenPage, tokens: list[str], rows: list, key: str) -> None:
    """The tokens shaded by their strongest feature, a token picker, and the picked token's features (a bar opens one)."""
    if not tokens:
        st.info("This text has no tokens.")
        return
    strongest = np.array([values.max(initial=0.0) for _indices, values in rows])
    st.markdown(figs.highlight_tokens_html(tokens, strongest, float(strongest.max()) or 1.0), unsafe_allow_html=True)
    st.caption("Shading: the strongest feature activation on each token. Pick a token to see its features.")
    position = st.selectbox("Token", list(range(len(tokens))), format_func=lambda i: f"{i}: {tokens[i]}", key=f"{key}_token")
    indices, values = rows[position]
    frame = explain.contributions_from_codes(indices, values, p.sae.W_dec)
    if frame.empty:
        st.info("No feature fires on this token.")
        return
    chart_key = f"{key}_contrib_{position}"
    chart(figs.feature_contributions(frame, [f"fires on {label}" if label else "" for label in p.sae.labels], title=f"Features firing on '{tokens[position]}' (token {position})"),
          "sae_contributions", key=chart_key, on_select=components.on_click(chart_key, lambda point: open_feature(p.prefix, point[0]), single=True), selection_mode="points", explain=False)
    components.reading("sae_contributions", "The features that fire on this token, largest activation first; the label gives each one's share of the "
                                            "reconstruction of the block's output there. Click a bar to open that feature.")


# -- Quality --------------------------------------------------------------------------------------------
def quality_view(p: TokenPage) -> None:
    """The quality table, the splice chart, the density histogram (dead share in its title) and each held-out text's splice:
    a causal LM's next-token loss clean vs spliced, an encoder's sentence-embedding cosine spliced vs zeroed."""
    result, sae = p.result, p.sae
    n_texts = len(sae.cosine_sae if sae.encoder else sae.loss_clean)
    splice = ("Splice: each held-out text's sentence embedding (the last layer mean-pooled) compared by cosine with the clean one." if sae.encoder
              else "Loss: next-token cross-entropy.")
    left, right = st.columns(2)
    with left:
        render_item(family_sections.quality_table(result, f"{splice} Measured on the {result['n_test']:,} tokens of the {n_texts} held-out texts; "
                                                          "see docs/sae.md for the definitions.", CAUSAL_LABELS), table_title=False, column_config={"metric": "Metric", "value": "Value"})
    with right:
        if sae.encoder:
            chart(figs.cosine_splice_chart(result), "sae_splice_cosine", key=f"{p.prefix}_splice")
        else:
            chart(figs.splice_chart(result), "sae_splice", key=f"{p.prefix}_splice")
    left, right = st.columns(2)
    with left:
        chart(figs.density_histogram(explain.log_density_histogram(sae.density), unit="tokens"), "sae_density_histogram", key=f"{p.prefix}_quality_density")
    with right:
        names = [p.texts.texts[p.texts.n_train + i][:60] for i in range(n_texts)]
        if sae.encoder:
            chart(figs.per_text_splice(sae.cosine_zero, sae.cosine_sae, names, "sentence-embedding cosine", "block zeroed", better="higher"),
                  "sae_per_text_cosine", key=f"{p.prefix}_per_text")
        else:
            chart(figs.per_text_loss(sae.loss_clean, sae.loss_sae, names), "sae_per_text_loss", key=f"{p.prefix}_per_text")
