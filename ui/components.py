"""Small layout components shared by pages: a chart with its how-to-read line, error boxes."""

from __future__ import annotations

import logging

import plotly.graph_objects as go
import streamlit as st

from interp_core.errors import InterpError
from interp_core.figures import HOW_TO_READ
from ui import teaching
from ui.teaching import presenting  # noqa: F401 - pages may ask whether to hide secondary controls
from ui import report_export

log = logging.getLogger("interp_explorer")
PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def chart(fig: go.Figure, how_to_read: str, key: str | None = None, on_select=None, selection_mode=None):
    """Draw a figure with its one-line "how to read this" underneath; returns the selection event if any."""
    kwargs = {"config": teaching.plotly_config(PLOTLY_CONFIG), "key": key}
    if on_select:
        kwargs.update(on_select=on_select, selection_mode=selection_mode or "points")
    event = st.plotly_chart(teaching.present_figure(fig), **kwargs)
    report_export.record_figure(fig, how_to_read, key)  # for "Download report"
    st.caption(f"How to read this: {HOW_TO_READ.get(how_to_read, how_to_read)}")
    teaching.note(how_to_read)  # teaching mode: a note and the paper it comes from
    return event


def load_or_stop(name: str, load, hub: str = "on Home"):
    """A page's model from ``load(name)``; a corrupt artifact or a recipe never trained gets one
    sentence and stops the page (the app keeps serving)."""
    try:
        model = load(name)
    except InterpError as exc:
        show_error(exc, f"Loading {name}")
        st.stop()
    if model is None:
        st.info(f"{name} is not trained yet: train it in the model hub {hub}, or run: python -m interp_core train {name}")
        st.stop()
    return model


def show_error(exc: BaseException, context: str) -> None:
    """One clear sentence for the user; unexpected errors are logged with their traceback, not shown."""
    if isinstance(exc, InterpError):
        st.error(str(exc))
    else:
        log.exception("%s failed", context)
        st.error(f"{context} failed: {type(exc).__name__}: {str(exc)[:200]}. The app keeps running; nothing saved was changed.")
