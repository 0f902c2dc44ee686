"""The Time series page for a Hugging Face text classifier (a user's model from Home's "Bring your own
model" with texts): token attributions of the first test texts for the predicted class, one text's
tokens as a heat map per method, each method's deletion / insertion areas and curves.

The engine is interp_core/families/timeseries/explain/tokens.py; the figures are the family's
(token_attribution, faithfulness_curves). Cached per model and artifact stamp."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from interp_core.families.timeseries.explain.tokens import TokenReport, token_method_label, token_report
from interp_core.families.timeseries.figures import faithfulness_curves, token_attribution
from ui import cache, components, state
from ui.components import chart, show_error

# Test texts attributed on the page: Integrated Gradients runs the model forward and back 32 times per text, the
# curves 22 times per method; 32 texts of 42 tokens took 82 s on a 3.3M-parameter 4-layer BERT at load 12 on 2 cores.
PAGE_TEXTS = 16


def is_text_model(model) -> bool:
    """Whether a page's TrainedModel reads token ids (a Hugging Face text classifier)."""
    return bool(getattr(getattr(model.model, "spec", None), "tokens", False))


def example_text(model, index: int) -> str | None:
    """Test example ``index`` of a text model as its tokens (padding dropped), or None for any other model."""
    if not is_text_model(model):
        return None
    tokenizer = getattr(model.extras.get("loaded"), "tokenizer", None)
    ids = np.asarray(model.dataset.X_test[index]).astype(np.int64)
    ids = ids[ids != model.model.spec.pad_id]
    if tokenizer is None:
        return " ".join(str(i) for i in ids)
    return " ".join(str(t) for t in tokenizer.convert_ids_to_tokens([int(i) for i in ids]))


@st.cache_resource(show_spinner=False, max_entries=8)
def _reports(name: str, stamp: str) -> dict:
    return {}  # filled by report(): a cached function may not draw the progress bar of the run that fills it


def report(name: str, stamp: str, progress=None) -> TokenReport:
    """The model's token report, computed once per model and artifact stamp (shared read-only by the sessions)."""
    box = _reports(name, stamp)
    if "report" not in box:
        model = cache.trained_model(name)
        box["report"] = token_report(model.model, model.dataset.X_test, model.extras["loaded"].tokenizer, model.dataset.class_names, n_texts=PAGE_TEXTS, progress=progress)
    return box["report"]


def _preview(tokens: list[str], limit: int = 60) -> str:
    words = " ".join(t for t in tokens if not (t.startswith("[") and t.endswith("]")) and not (t.startswith("<") and t.endswith(">")))
    return words[:limit] + ("..." if len(words) > limit else "")


def render(name: str, model, stamp: str) -> None:
    """The whole page for a text classifier (the series views need series)."""
    st.caption(
        "Your text classifier: every token of a text is scored by how much it pushed the model toward the class it predicts, "
        "at the model's input embeddings (Integrated Gradients from a text of pad tokens, and gradient x input). "
        "There is no ground truth for words, so each method is checked by **deletion and insertion**: masking the tokens it ranks first."
    )
    found = _reports(name, stamp).get("report")
    if found is None:
        slot = st.empty()
        try:
            with slot.status(f"Attributing the first {PAGE_TEXTS} test texts of {name} (once per model)...", expanded=True) as status:
                bar = status.progress(0.0, text="starting")
                found = report(name, stamp, lambda text, share: bar.progress(min(max(share, 0.0), 1.0), text=text))
        except Exception as exc:  # noqa: BLE001 - one sentence, the app keeps serving
            show_error(exc, f"Token attributions for {name}")
            st.stop()
        slot.empty()  # the status box goes once the report is there
    scores = found.metrics()
    methods = [m for m in found.methods if m != "random"]
    best = min(methods, key=lambda m: scores[m]["deletion_auc"])
    cols = st.columns(3)
    components.metric(cols[0], "Texts attributed", f"{len(found.ids)}")
    accuracy = model.metrics.get("test_accuracy")
    components.metric(cols[1], "Test accuracy", "no labels" if accuracy is None else f"{accuracy:.3f}")
    components.metric(cols[2], "Best deletion area", f"{scores[best]['deletion_auc']:.3f}", help=f"{token_method_label(best)}; random order: {scores['random']['deletion_auc']:.3f} (lower is better)")

    example = min(max(state.get_int("example", 0) or 0, 0), len(found.ids) - 1)  # the sidebar's example, as on every page
    picked = st.selectbox("Text", list(range(len(found.ids))), index=example, key=f"token_text_{example}",
                          format_func=lambda i: f"{i}: {_preview(found.tokens[i])}")
    if picked != example:
        state.request(example=picked)
    predicted = found.class_names[int(found.target[example])]
    components.heading(f"Text {example}: predicted {predicted} ({found.probability[example]:.2f})")
    rows = {token_method_label(m): found.attributions[m][example] for m in found.methods}
    chart(token_attribution(found.tokens[example], rows, title=f"Which tokens made the model say '{predicted}'"), "token_attribution", key="token_heatmap")

    components.heading("How faithful each method is, over the texts")
    table = pd.DataFrame([{"method": token_method_label(m), **scores[m]} for m in found.methods])
    components.table(table, hide_index=True, key="token_scores", column_config={
        "method": "Method",
        "deletion_auc": st.column_config.NumberColumn("Deletion area (lower is better)", format="%.3f"),
        "insertion_auc": st.column_config.NumberColumn("Insertion area (higher is better)", format="%.3f"),
    })
    curves = {token_method_label(m): (c.deletion.mean(0), c.insertion.mean(0)) for m, c in found.curves.items()}
    fractions = np.asarray(next(iter(found.curves.values())).fractions)
    chart(faithfulness_curves(fractions, curves, title=f"Masking tokens as '{found.replacement}', most attributed first", unit="tokens"), "token_faithfulness", key="token_curves")
    state.write_url()
