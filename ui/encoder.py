"""Home's "Bring your own model" for a Hugging Face encoder (a model without a head, e.g. ``BertModel``), issue 17.

An encoder gives hidden states, not class scores or next words, so it is not made a session recipe like a
classifier: the box shows, on the user's texts, the map of the texts at a layer the user picks (each text the
mean of its tokens' vectors, coloured by the texts' labels when they have some) with one text selected, then
the SAE panel the causal LM's box has (``ui.causal_lm.trained_sae``: a block, an SAE trained on its token
activations with a progress bar, its quality with the sentence embedding's cosines). The SAE features page's own
model picker lists the encoder too (``sae_page_body``: the causal LM's panel, ``causal_lm.text_sae_page``, with the
page's four views of the SAE and an SAELens SAE opened for a block). Logit effects and steering are left out: an
encoder has no unembedding and no next word to change. The engine is
``interp_core.causal_lm`` (``Encoder``, ``text_map``) and ``interp_core.families.sae.causal``.
"""

from __future__ import annotations

import streamlit as st
import torch

from interp_core import causal_lm as lm
from interp_core.errors import InterpError
from interp_core.figures import models as model_figs
from ui import components
from ui.causal_lm import _model_key, _short, box_texts, quality, text_sae_page, trained_sae
from ui.components import chart, shown_token as _token, show_error

_CURRENT = "_encoder_current"  # the encoder and texts last mapped in Home's box: {"loaded", "label", "texts", "texts_key"}
TEXT = "encoder_text"  # the selected text's selectbox


def current() -> dict | None:
    """The encoder and texts last shown in Home's box this session (the SAE page offers them), or None."""
    return st.session_state.get(_CURRENT)


def panel(session, loaded, label: str, memoised) -> None:
    """The encoder's part of the model box (``memoised(key, parse)``: the uploads' per-file memo)."""
    got = box_texts("encoder", loaded, label, memoised, lambda raw, name: lm.lm_texts(loaded, raw, name), _CURRENT)
    if got is None:
        return
    texts, texts_key = got
    model = lm.text_model(loaded)
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
    result = trained_sae(session, loaded, label, model, texts, texts_key, "encoder")
    if result is not None:
        quality(result)
        st.caption("An encoder has no next word, so there are no logit effects or steering: the splice is judged on the sentence embedding. "
                   "The SAE features page shows this SAE's features (the map and table, each feature's tokens in context, a text token by token, "
                   "the quality charts) and opens an SAELens SAE for a block: pick this model in its picker.")


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


def sae_page_body(session) -> None:
    """The SAE page's panel for the encoder of Home's box (picked in the page's own model picker): the causal LM's panel
    (``causal_lm.text_sae_page``: the same block, SAE, SAELens opening and four views), without logit effects or steering."""
    entry = current()  # Home's box read its blocks already (lm.text_model)
    text_sae_page(session, entry, lm.text_model(entry["loaded"]), "encoder_page",
                  f"An encoder: the SAE reads a block's output at every token of {entry['texts'].name} (one vector per token); its features are "
                  "described by the tokens they fire on.")
