"""Home's "Bring your own model" for a Hugging Face encoder (a model without a head, e.g. ``BertModel``), issue 17.

An encoder gives hidden states, not class scores or next words, so it is not made a session recipe like a
classifier: the box shows, on the user's texts, the map of the texts at a layer the user picks (each text the
mean of its tokens' vectors, coloured by the texts' labels when they have some) with one text selected, then
the SAE panel the causal LM's box has (``ui.causal_lm.trained_sae``: a block, an SAE trained on its token
activations with a progress bar, its quality with the sentence embedding's cosines) and its features with the
tokens they fire on, in context. The SAE features page's own model picker lists the encoder too
(``sae_page_body``). Steering is left out: an encoder has no next word to change. The engine is
``interp_core.causal_lm`` (``Encoder``, ``text_map``) and ``interp_core.families.sae.causal``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from interp_core import causal_lm as lm
from interp_core.errors import InterpError
from interp_core.figures import models as model_figs
from ui import components
from ui.causal_lm import _model_key, _short, quality, texts_input, trained_sae
from ui.components import chart, shown_token as _token, show_error

_CURRENT = "_encoder_current"  # the encoder and texts last mapped in Home's box: {"loaded", "label", "texts", "texts_key"}
TEXT = "encoder_text"  # the selected text's selectbox


def current() -> dict | None:
    """The encoder and texts last shown in Home's box this session (the SAE page offers them), or None."""
    return st.session_state.get(_CURRENT)


def panel(session, loaded, label: str, memoised) -> None:
    """The encoder's part of the model box (``memoised(key, parse)``: the uploads' per-file memo)."""
    data = texts_input("An **encoder**: it gives hidden states, not class scores or next words. Home maps your texts by one of its layers here "
                       "(each text the mean of its tokens' vectors), and an SAE on one of its blocks shows the features it reads on each token; "
                       "the SAE features page lists it in its model picker. Rules, Time series, Concepts and Prototypes need class scores and do not take it.",
                       "Your texts to map (.txt one a line, .jsonl with an optional 'label', or a CSV with a 'text' column)",
                       "With labels, the map is coloured by them; the model itself is not scored on them (it has no classes).",
                       "Upload texts to map with the model: a layer's vector of each text, and an SAE on a block's token vectors.")
    if data is None:
        return
    texts_key = (data.file_id, data.name)
    try:
        texts = memoised((*texts_key, "encoder-texts"), lambda: lm.lm_texts(loaded, data.getvalue(), data.name))
        model = lm.text_model(loaded)
    except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
        show_error(exc, f"Running {label[:60]} on the texts")
        return
    st.session_state[_CURRENT] = {"loaded": loaded, "label": label, "texts": texts, "texts_key": texts_key}
    st.markdown(f"##### {label} on {texts.name}")
    blocks = lm.blocks(model.tree)
    n_tokens = int(model.mask(torch.as_tensor(texts.ids)).sum())
    cols = st.columns(4)
    components.metric(cols[0], "Texts / tokens", f"{len(texts.texts)} / {n_tokens}")
    components.metric(cols[1], "Blocks", len(blocks))
    components.metric(cols[2], "Hidden size", int(model.tree.config.hidden_size))
    components.metric(cols[3], "Labels", len(set(texts.labels)) if texts.labels is not None else "none",
                      help="The distinct labels of your texts, which colour the map; the model does not predict them.")
    layer = st.selectbox("Layer for the map", blocks, index=blocks.index(model.layer), key="encoder_map_layer",
                         help="Each text is the mean of this block's output over its tokens; the map is the PCA of those vectors.")
    try:
        coords, codes, names = _map(loaded, texts, texts_key, layer)
    except InterpError as exc:
        show_error(exc, "The map of the texts")
        return
    selected = min(max(int(st.session_state.get(TEXT, 0) or 0), 0), len(texts.texts) - 1)
    left, right = components.columns(2)
    with left:
        event = chart(model_figs.embedding_map(coords, codes, names, selected=selected, layer=layer), "embedding_map", key=f"encoder_map_{layer}",
                      on_select="rerun", selection_mode="points", explain=False)
        components.reading("embedding_map", "Each dot is one of your texts, placed by the mean of the block's vectors over its tokens (nearby dots: "
                                            "texts the model reads alike); colour is the text's label, if your texts have labels. Click a dot to select that text.")
        chosen = components.clicked_index(event)
        if chosen is not None and chosen != selected and components.new_click("_encoder_map_click", (layer, chosen)):
            st.session_state[TEXT] = chosen
            st.rerun()
    with right:
        index = st.selectbox("Text", range(len(texts.texts)), index=selected, format_func=lambda i: f"{i}: {_short(texts.texts[i])}", key=TEXT,
                             help="Circled on the map; click a point to pick its text.")
        st.markdown(f"**Text {index}**" + (f": label {texts.labels[index]}" if texts.labels is not None else "")
                    + (" (held out from the SAE's training)" if index >= texts.n_train else ""))
        st.code(" ".join(_token(t) for t in _tokens(loaded, model, texts.ids[index])), language=None, wrap_lines=True)
        st.caption("The text as the model reads it: its tokens, padding dropped.")
    st.markdown("##### SAE features on a block")
    sae_body(session, loaded, label, model, texts, texts_key, "encoder")


def _map(loaded, texts, texts_key, layer: str):
    """``lm.text_map`` at ``layer``, kept in the session per model, texts and layer."""
    memo = st.session_state.setdefault("_encoder_maps", {})
    key = (*_model_key(loaded), texts_key, layer)
    if key not in memo:
        memo[key] = lm.text_map(lm.text_model(loaded, layer), texts)
    return memo[key]


def _tokens(loaded, model, row) -> list[str]:
    """One text's real tokens as the tokenizer names them."""
    return loaded.tokenizer.convert_ids_to_tokens([int(i) for i in row[model.mask(torch.as_tensor(row[None]))[0].numpy()]])


def sae_body(session, loaded, label: str, model, texts, texts_key, prefix: str) -> None:
    """The block picker, this session's SAE on it (trained with a progress bar, shared by Home's box and the SAE page), its
    quality, its most often firing features and one feature's strongest tokens in context."""
    from interp_core.families.sae.causal import feature_contexts
    from ui.sae_page import show_contexts

    result = trained_sae(session, loaded, label, model, texts, texts_key, prefix)
    if result is None:
        return
    quality(result)
    st.caption(f"{result['n_features']} features, {result['dead_fraction']:.0%} never firing; measured on {result['n_test']:,} held-out tokens. "
               "An encoder has no next word, so there is no logit effect or steering here: the splice is judged on the sentence embedding.")
    rows = result["features"]
    if not rows:
        st.info("No feature fires on these texts, so there are no features to show.")
        return
    if str(result.get("sae_path", "")).startswith("not written"):
        st.info(result["sae_path"])
        return
    components.heading("The most often firing features")
    components.table(pd.DataFrame([{"feature": r["feature"], "label": r["label"], "density": r["density"], "fires on": ", ".join(_token(t) for t in r["fires_on"])}
                                   for r in rows]), hide_index=True)
    labels = {r["feature"]: f"{r['feature']}: fires on {r['label']}" for r in rows}
    feature = st.selectbox("Feature", list(labels), format_func=labels.get, key=f"{prefix}_feature")
    st.markdown(f"**Where feature {feature} fires most**")
    try:
        contexts = feature_contexts(loaded, texts, result["sae_path"], feature)
    except InterpError as exc:
        show_error(exc, "The feature's token contexts")
        return
    if contexts:
        show_contexts([(c.activation, [_token(t) for t in c.tokens], c.values, c.focus) for c in contexts], contexts[0].activation)
        st.caption("The tokens where the feature is strongest, with four tokens either side, shaded by its activation on each (the token underlined).")


def sae_page_body(session) -> None:
    """The SAE page's panel for the encoder of Home's box (picked in the page's own model picker): the same block, SAE and features as the box."""
    entry = current()  # Home's box read its blocks already (lm.text_model)
    texts = entry["texts"]
    st.caption(f"An encoder: the SAE reads a block's output at every token of {texts.name} (one vector per token); its features are described by "
               "the tokens they fire on.")
    sae_body(session, entry["loaded"], entry["label"], lm.text_model(entry["loaded"]), texts, entry["texts_key"], "encoder_page")
