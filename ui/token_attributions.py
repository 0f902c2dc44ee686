"""The Time series page for a Hugging Face text classifier (a user's model from Home's "Bring your own
model" with texts): token attributions of the first test texts for the predicted class, one text's
tokens as a heat map per method, each method's deletion / insertion areas and curves.

The engine is interp_core/families/timeseries/explain/tokens.py; the page's blocks are the family's
``token_sections`` (the HTML report and Compare draw the same). Cached per model and artifact stamp."""

from __future__ import annotations

import numpy as np
import streamlit as st

from interp_core.families.timeseries.explain.tokens import PAGE_TEXTS, TokenReport, token_report
from interp_core.families.timeseries.sections import reads_tokens, token_sections
from ui import cache, components, state
from ui.components import show_error
from ui.sections import render_item


def is_text_model(model) -> bool:
    """Whether a page's TrainedModel reads token ids (a Hugging Face text classifier)."""
    return reads_tokens(model)


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
    example = min(max(state.get_int("example", 0) or 0, 0), len(found.ids) - 1)  # the sidebar's example, as on every page
    picked = draw(found, model.metrics, example, f"token_text_{example}")
    if picked != example:
        state.request(example=picked)
    state.write_url()


def draw(found: TokenReport, metrics: dict, example: int, text_key: str, intro: str | None = None, keys: str = "token", sentence=None) -> int:
    """A token report's views: headline numbers, text ``example``'s heat map (picked in a selectbox keyed ``text_key``;
    returns the pick), and each method's deletion / insertion areas and curves. ``sentence(example)``: a line under the picker."""
    headline, tokens, faithfulness = token_sections(found, metrics, example)
    st.caption(intro or headline.intro)
    render_item(headline.items[0])
    components.heading(tokens.title)
    picked = st.selectbox("Text", list(range(len(found.ids))), index=example, key=text_key,
                          format_func=lambda i: f"{i}: {_preview(found.tokens[i])}")
    if sentence is not None:
        st.markdown(sentence(example))
    render_item(tokens.items[0], key=f"{keys}_heatmap")  # its title names the text, the predicted class and its probability
    components.heading(faithfulness.title)
    table, curves = faithfulness.items
    render_item(table, table_title=False, key=f"{keys}_scores", column_config={
        "method": "Method",
        "deletion_auc": st.column_config.NumberColumn("Deletion area (lower is better)", format="%.3f"),
        "insertion_auc": st.column_config.NumberColumn("Insertion area (higher is better)", format="%.3f"),
    })
    render_item(curves, key=f"{keys}_curves")
    return picked
