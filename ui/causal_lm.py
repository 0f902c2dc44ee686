"""Home's "Bring your own model" for a causal language model (e.g. GPT-2), issues 17 and 18.

A causal LM has no classes, so it is not made a session recipe like a classifier: the box shows, on
the user's texts, its loss, perplexity and next-token accuracy and, for one text, the next-token
top-5; then an SAE trained on a block's token activations (``explain sae --model`` in the engine)
and a steer panel: typed text, a feature, an edit, and the next-token distribution before and after
with a greedy continuation each way. The SAE features page's own model picker lists the causal LM
(``sae_page_body``: the same block picker and SAE, its features with their tokens in context and the
next tokens they promote, and the steer panel), and the Time series page attributes its predicted next
token (``timeseries_page_panel``). Everything stays in this browser session's state (the SAE in the session's store). The engine is ``interp_core.causal_lm`` and ``interp_core.families.sae.causal``.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from interp_core import causal_lm as lm
from interp_core.errors import InterpError
from interp_core.families.sae import figures as sae_figs
from interp_core.families.sae.causal import read_text_model, steer_causal
from interp_core.figures import models as model_figs
from ui import components
from ui.components import chart, shown_token as _token, show_error
from ui.sae_steer import MODES, edit_words

_SAES = "_causal_lm_saes"  # {(model key, texts key, layer): read_text_model's result}
_CURRENT = "_causal_lm_current"  # the causal LM and texts last measured in Home's box: {"loaded", "label", "texts", "texts_key"}
_TOKENS = "_causal_lm_token_reports"  # {(model key, texts key): (next-token report, next-token accuracy)}


def _model_key(loaded) -> tuple:
    return (loaded.description()["path"], loaded.summary.n_parameters)


def current() -> dict | None:
    """The causal LM and texts last measured in Home's box this session (the SAE and Time series pages offer them), or None."""
    return st.session_state.get(_CURRENT)
EDITS = {label: MODES[label] for label in ("scale it", "zero it (ablate)", "set it to a value")}  # the SAE steer block's edits, scaling first


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _measured(loaded, model, raw: bytes, name: str):
    texts = lm.lm_texts(loaded, raw, name)
    return texts, lm.lm_metrics(model, texts.ids)


PROMPTS = {  # a text model's box, per kind: its intro, the texts input's label and help, and what the texts are for until they come
    "causal": ("A **causal language model**: it predicts each next token, so it has no classes. Home measures it on your texts here, "
               "and an SAE on one of its blocks lets you steer its next word. The Time series page then shows which tokens drive its next word, and the SAE features page "
               "lists it in its model picker; Rules, Concepts and Prototypes need classes and do not take it.",
               "Your texts to measure it on (.txt one a line, .jsonl, or a CSV with a 'text' column)",
               "Labels, if any, are not used: the model is scored on predicting each next token of the texts.",
               "Upload texts to measure the model on: its loss, perplexity and next-token accuracy, and the next-token top-5 of one text."),
    "encoder": ("An **encoder**: it gives hidden states, not class scores or next words. Home maps your texts by one of its layers here "
                "(each text the mean of its tokens' vectors) and trains an SAE on one of its blocks; the SAE features page lists it in its model picker "
                "and shows the SAE's features on each token. Rules, Time series, Concepts and Prototypes need class scores and do not take it.",
                "Your texts to map (.txt one a line, .jsonl with an optional 'label', or a CSV with a 'text' column)",
                "With labels, the map is coloured by them; the model itself is not scored on them (it has no classes).",
                "Upload texts to map with the model: a layer's vector of each text, and an SAE on a block's token vectors."),
}


def box_texts(kind: str, loaded, label: str, memoised, parse, state_key: str):
    """A text model's box (``kind``: "causal" or "encoder") up to its heading: the intro and texts input (``PROMPTS[kind]``), the
    texts read once per file (``parse(raw, name)``, through the uploads' ``memoised``: the LMTexts, or a tuple that starts with
    them), kept with the model as this session's entry under ``state_key`` (what the SAE and Time series pages offer), and the
    heading; (what ``parse`` gave, the texts' key), or None until texts come or after one sentence shown."""
    intro, input_label, help, empty = PROMPTS[kind]
    st.caption(intro)
    data = st.file_uploader(input_label, key="upload_model_data", help=help)
    if data is None:
        st.info(empty)
        return None
    texts_key = (data.file_id, data.name)
    try:
        parsed = memoised((*texts_key, f"{kind}-texts"), lambda: parse(data.getvalue(), data.name))
    except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
        show_error(exc, f"Running {label[:60]} on the texts")
        return None
    texts = parsed[0] if isinstance(parsed, tuple) else parsed
    st.session_state[state_key] = {"loaded": loaded, "label": label, "texts": texts, "texts_key": texts_key}
    st.markdown(f"##### {label} on {texts.name}")
    return parsed, texts_key


def panel(session, loaded, label: str, memoised) -> None:
    """The causal LM's part of the model box (``memoised(key, parse)``: the uploads' per-file memo)."""
    model = lm.causal_lm(loaded)
    got = box_texts("causal", loaded, label, memoised, lambda raw, name: _measured(loaded, model, raw, name), _CURRENT)
    if got is None:
        return
    (texts, summary), texts_key = got
    cols = st.columns(4)
    components.metric(cols[0], "Loss", f"{summary['loss']:.3f}", help="Mean cross-entropy (nats) of each real next token of your texts.")
    components.metric(cols[1], "Perplexity", f"{summary['perplexity']:.2f}", help="exp(loss): roughly how many tokens the model hesitates between.")
    components.metric(cols[2], "Next-token accuracy", f"{summary['next_token_accuracy']:.3f}", help="How often the most probable next token is the text's own next token (top-1), over every token that has one before it.")
    components.metric(cols[3], "Texts / tokens", f"{len(texts.texts)} / {summary['n_tokens']}")
    index = st.selectbox("Text", range(len(texts.texts)), format_func=lambda i: f"{i}: {_short(texts.texts[i])}", key="causal_lm_text",
                         help="Its next-token top-5 below; the text's own loss is in the caption.")
    row = texts.ids[index : index + 1]
    own = summary["per_text"][index]["loss"]
    chart(model_figs.next_tokens(lm.next_tokens(model, row, loaded.tokenizer), f"Next token after text {index}: \"{_short(texts.texts[index], 40)}\""),
          "next_tokens", key="causal_lm_next_tokens")
    if own is not None:
        st.caption(f"This text's own loss is {own:.3f} (perplexity {summary['per_text'][index]['perplexity']:.2f}).")
    sae_panel(session, loaded, label, model, texts, texts_key)


def sae_panel(session, loaded, label: str, model, texts, texts_key) -> None:
    st.markdown("##### SAE features on a block, and steering the next word")
    result = trained_sae(session, loaded, label, model, texts, texts_key, "causal_lm")
    if result is None:
        return
    quality(result)
    if str(result.get("sae_path", "")).startswith("not written"):
        st.info(result["sae_path"])
        return
    steer_fragment(loaded, result, texts.texts[0])
    st.caption("The SAE features page shows this SAE's features (their tokens in context, the next tokens they promote) and the same steering: pick this model in its picker.")


def trained_sae(session, loaded, label: str, model, texts, texts_key, prefix: str, can_open: bool = False) -> dict | None:
    """The block picker and this session's SAE on the picked block (``read_text_model``'s result), trained with a progress bar
    when the button is pressed (Home's box and the SAE page share them), or, with ``can_open``, an SAELens SAE opened for the
    block (``open_saelens``), with a button to swap it for another; None until it is there."""
    from ui import causal_sae_views
    from ui.training_panel import _live_callbacks

    names = lm.blocks(model.tree)
    layer = st.selectbox("Block", names, index=names.index(model.layer) if model.layer in names else 0, key=f"{prefix}_layer",
                         help="The SAE reads this block's output at every token of your texts (one vector per token).")
    memo = st.session_state.setdefault(_SAES, {})
    key = (*_model_key(loaded), texts_key, layer)
    if key not in memo:
        if not st.button("Train an SAE on this block", key=f"{prefix}_train", type="primary"):
            st.caption("Trains a TopK SAE on the block's token activations of your texts' training part (the last fifth is held out), as `explain sae --model` does.")
            if can_open:
                open_saelens(session, loaded, label, texts, texts_key, layer, memo, key, prefix)
            return None
        try:
            with st.status(f"Training an SAE on {layer}...", expanded=True) as status:
                on_progress, _on_stage = _live_callbacks(st.progress(0.0, text="reading the block's activations"), st.empty(), st.empty())
                result, reading = read_text_model(loaded, texts, session.store, layer=layer, progress=on_progress)
                memo[key] = {"loaded": loaded, "label": label, "text": texts.texts[0], "result": result}
                if not str(result.get("sae_path", "")).startswith("not written"):
                    causal_sae_views.remember(texts_key, result, reading)
                status.update(label="Trained", state="complete", expanded=False)
        except Exception as exc:  # noqa: BLE001
            show_error(exc, "Training the SAE")
            return None
        st.rerun()  # drawn again without the button
    opened = memo[key].get("opened")
    if can_open:
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.caption(f"The SAE on {layer}: " + (f"the SAELens SAE '{opened}', opened here." if opened else "trained here on your texts."))
        if right.button("Use another SAE", key=f"{prefix}_another", help="Train an SAE on this block again, or open an SAELens SAE for it."):
            del memo[key]
            st.rerun()
    return memo[key]["result"]


def open_saelens(session, loaded, label: str, texts, texts_key, layer: str, memo: dict, key, prefix: str) -> None:
    """Or an SAELens SAE for the block: a zipped folder or the folder itself, checked (an SAELens SAE whose d_in is the block's
    width), kept in the session's store and measured as ``explain sae --model ... --sae`` measures it."""
    from interp_core.families.sae.causal import save_opened_sae
    from ui import causal_sae_views
    from interp_core.saelens import CFG_FILE, WEIGHTS_FILE
    from ui.folders import saelens_input

    components.heading("Or open an SAELens SAE for this block", level="subheader")
    st.caption(f"An SAE trained with SAELens on {layer}'s output (one vector per token): its folder ({CFG_FILE}, {WEIGHTS_FILE}) or the folder as a .zip. "
               "Its weights are checked before anything runs (nothing in them is executed) and its d_in must be the block's width.")
    picked = saelens_input(prefix, "Open this SAE on this block")
    if picked is None:
        return
    name, read = picked
    try:
        files = read()
        with st.spinner(f"Opening the SAELens SAE '{name}' on {layer} and measuring it on your texts..."):
            path = save_opened_sae(session.store, loaded, texts, layer, files, name)
            result, reading = read_text_model(loaded, texts, session.store, layer=layer, sae_path=path)
    except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
        show_error(exc, f"Opening the SAELens SAE on {layer}")
        return
    memo[key] = {"loaded": loaded, "label": label, "text": texts.texts[0], "opened": name, "result": {**result, "sae_path": str(path)}}
    causal_sae_views.remember(texts_key, memo[key]["result"], reading)
    st.rerun()


def quality(result: dict) -> None:
    """The SAE's key numbers on the held-out texts: L0, explained variance, and the splice: a causal LM's next-token loss
    with the SAE spliced in and loss recovered, an encoder's sentence-embedding cosine spliced and zeroed."""
    cols = st.columns(4)
    components.metric(cols[0], "L0", f"{result['l0']:.1f}", help="Mean active features per token (held-out texts).")
    components.metric(cols[1], "Explained variance", f"{result['explained_variance']:.3f}")
    if "cosine_sae" in result:  # an encoder: no next token, the sentence embedding with the SAE spliced in
        components.metric(cols[2], "Embedding cosine", f"{result['cosine_sae']:.3f}",
                          help="Mean cosine between each held-out text's sentence embedding (the last layer, mean-pooled) clean and with the block's output replaced by the SAE's reconstruction; 1 = unchanged.")
        components.metric(cols[3], "Cosine, block zeroed", f"{result['cosine_zero']:.3f}", help="The same cosine with the block's output zeroed: what the SAE's splice is measured against.")
        return
    components.metric(cols[2], "Loss with the SAE", f"{result['loss_sae']:.3f}", delta=f"{result['loss_sae'] - result['loss_clean']:+.3f} vs clean", delta_color="inverse",
                      help="The model's loss on the held-out texts with the block's output replaced by the SAE's reconstruction.")
    components.metric(cols[3], "Loss recovered", f"{result['loss_recovered']:.3f}", help="(zero-ablated - SAE) / (zero-ablated - clean): 1 means the reconstruction loses nothing.")


def sae_page_body(session) -> None:
    """The SAE page's panel for the causal LM of Home's box (picked in the page's own model picker): ``text_sae_page`` with
    the steer panel in the Feature view."""
    entry = current()
    try:
        model = lm.causal_lm(entry["loaded"])
    except InterpError as exc:
        show_error(exc, "Reading the model's blocks")
        return
    text_sae_page(session, entry, model, "causal_lm_page",
                  f"A causal language model: the SAE reads a block's output at every token of {entry['texts'].name} (one vector per token); "
                  "its features are described by the tokens they fire on and the next tokens they promote.",
                  steer=lambda result: lambda feature, text: steer_fragment(entry["loaded"], result, text, prefix=f"causal_lm_page_f{feature}", feature=feature))


def text_sae_page(session, entry: dict, model, prefix: str, intro: str, steer=None) -> None:
    """The SAE page's panel for a text model of Home's box (``entry``: a causal LM's or an encoder's ``current()``): the block,
    this session's SAE on it (trained here with a progress bar, or the one Home's box trained, or an SAELens SAE opened for the
    block), its key numbers, and the page's four views of it (``ui.causal_sae_views``: Features, Feature, Example, Quality);
    ``steer(result)``, a causal LM's, gives the Feature view's steer panel."""
    from ui import causal_sae_views

    loaded, texts = entry["loaded"], entry["texts"]
    st.caption(intro)
    result = trained_sae(session, loaded, entry["label"], model, texts, entry["texts_key"], prefix, can_open=True)
    if result is None:
        return
    quality(result)
    splice = (". An encoder has no next word, so there are no logit effects or steering here: the splice is judged on the sentence embedding."
              if "cosine_sae" in result else f" (next-token loss clean {result['loss_clean']:.3f}, with the block zeroed {result['loss_zero']:.3f}).")
    st.caption(f"{result['n_features']} features, {result['dead_fraction']:.0%} never firing; measured on {result['n_test']:,} held-out tokens{splice}")
    if not result["features"]:
        st.info("No feature fires on these texts, so there are no features to show.")
        return
    if str(result.get("sae_path", "")).startswith("not written"):
        st.info(result["sae_path"])
        return
    causal_sae_views.draw(loaded, texts, entry["texts_key"], result, prefix, steer=steer(result) if steer else None)


def timeseries_page_panel() -> None:
    """The Time series page's token attributions for the causal LM measured in Home's box this session (none: nothing drawn):
    for the next token it predicts after each held-out text, as ``explain attributions --model`` computes them."""
    from interp_core.families.timeseries.explain.tokens import PAGE_TEXTS, next_token_report
    from ui import token_attributions

    entry = current()
    if not entry:
        return
    texts, key = entry["texts"], (*_model_key(entry["loaded"]), entry["texts_key"])
    with st.expander(f"Your causal language model: which tokens made it predict the next word ({_short(entry['label'], 40)} on {texts.name})", expanded=True,
                     icon=":material/text_fields:"):
        memo = st.session_state.setdefault(_TOKENS, {})
        if key not in memo:
            bar = st.progress(0.0, text=f"Attributing the first {PAGE_TEXTS} held-out texts (once per model and texts)...")
            try:
                memo[key] = next_token_report(entry["loaded"], texts, n_texts=PAGE_TEXTS,
                                                         progress=lambda text, share: bar.progress(min(max(share, 0.0), 1.0), text=text))
            except Exception as exc:  # noqa: BLE001 - one sentence, the app keeps serving
                bar.empty()
                show_error(exc, "Token attributions for the next token")
                return
            bar.empty()
        found, accuracy = memo[key]
        tokenizer = entry["loaded"].tokenizer  # byte-level pieces ('Ġstory') shown as the text they add (' story'), as the SAE page lists tokens
        found = replace(found, tokens=[[_token(tokenizer.convert_tokens_to_string([t])) for t in row] for row in found.tokens])
        example = min(max(int(st.session_state.get("causal_lm_token_text", 0) or 0), 0), len(found.ids) - 1)

        def sentence(i: int) -> str:
            return (f"After held-out text {i}, the model predicts the next token **{found.class_names[int(found.target[i])]!r}** "
                    f"with probability {found.probability[i]:.2f}; the colours show which of the text's tokens pushed it toward that token.")

        token_attributions.draw(found, {"test_accuracy": accuracy, "next_token_accuracy": accuracy}, example, "causal_lm_token_text", keys="causal_lm_token", sentence=sentence, intro=(
            "A causal language model's \"class\" is the next token it predicts. Each token of a held-out text is scored by how much it pushed the model toward "
            "that token, at the model's input embeddings; deletion and insertion check each method by masking the tokens it ranks first "
            "(the same numbers as `explain attributions --model`)."))


@st.fragment
def steer_fragment(loaded, result: dict, default_text: str, prefix: str = "causal_lm", feature: int | None = None) -> None:
    """Steer a feature of the SAE on typed text: ``feature`` (the SAE page's feature in view), or one picked here among the most often firing."""
    rows = result["features"]
    if not rows:
        st.info("No feature fires on these texts, so there is nothing to steer.")
        return
    text = st.text_input("Text to steer on", value=default_text, key=f"{prefix}_steer_text")
    c = st.columns(3)
    if feature is None:
        labels = {r["feature"]: f"{r['feature']}: fires on {r['label']} (promotes {', '.join(t['token'].strip() for t in r['promotes'][:3])})" for r in rows}
        feature = c[0].selectbox("Feature", list(labels), format_func=labels.get, key=f"{prefix}_steer_feature",
                                 help="The most often firing features, with the tokens they fire on and the tokens their decoder direction promotes.")
    else:
        c[0].markdown(f"Feature **{feature}** (the one in view)")
    mode = EDITS[c[1].selectbox("Edit", list(EDITS), key=f"{prefix}_steer_mode")]
    value = 0.0
    if mode != "zero":
        value = c[2].number_input("Multiply its activation by" if mode == "scale" else "Set its activation to", value=8.0 if mode == "scale" else 4.0, step=1.0,
                                  key=f"{prefix}_steer_value_{mode}")
    try:
        out = steer_causal(loaded, result["sae_path"], text, [feature], mode, value, layer=result["layer"])
    except InterpError as exc:
        show_error(exc, "Steering")
        return
    edit = edit_words(mode, value)
    title = f"Feature {feature} {edit} at every token: KL {out['kl']:.3f}" + (f", next token {out['top_before']!r} -> {out['top_after']!r}" if out["changed"] else f", next token stays {out['top_before']!r}")
    before = {r["label"]: r["p"] for r in out["before"]}
    after = {r["label"]: r["p"] for r in out["after"]}
    tokens = list(before)
    chart(sae_figs.steer_chart([repr(t)[1:-1] for t in tokens], [before[t] for t in tokens], [after[t] for t in tokens], title, x_title="next token"),
          "sae_steer", key=f"{prefix}_steer_chart", explain=False)
    components.reading("sae_steer", "Each next token's probability after your text before the edit (grey) and after it (colour), side by side, most probable first. "
                                    "Bars that move show what the steered feature does to the next word; the title gives the KL divergence (after || before) over the whole vocabulary "
                                    "and whether the most probable next token changed.")
    left, right = st.columns(2)
    left.markdown("**Continuation before**")
    left.code(text + out["continuation_before"], language=None, wrap_lines=True)
    right.markdown("**Continuation after**")
    right.code(text + out["continuation_after"], language=None, wrap_lines=True)
    st.caption(f"{lm.CONTINUATION_TOKENS} greedy tokens each, the edit applied at every step. The layer becomes the SAE's reconstruction with the edit plus its error term, "
               "so 'multiply by 1' changes nothing and any change comes from the edit."
               + (f" Feature {feature} does not fire on this text, so zeroing or scaling it changes nothing; set it to a value to turn it on." if max(out["activations"].values()) == 0 and mode != "set" else ""))
