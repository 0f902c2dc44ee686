"""The app as ``make run`` serves it: app.py behind Streamlit's ASGI ``st.App``, whose start-up hook
imports the engine (PyTorch, the families, Plotly, pandas) in a background thread while the server
starts, so the first visitor's page does not wait for those imports (a few seconds of CPU on a
small machine). ``streamlit run app.py`` still works; it only pays the imports on the first visit."""

from __future__ import annotations

import contextlib
import threading

import streamlit as st


def _import_engine() -> None:
    """What every page imports first: the engine, its families and the app's shared UI modules."""
    import interp_core.recipes  # noqa: F401 - torch, numpy and the recipe registry
    import plotly.graph_objects  # noqa: F401
    import ui.components  # noqa: F401 - pandas, streamlit's elements and the figures
    import ui.sidebar  # noqa: F401
    from interp_core.family import load_families

    load_families()


@contextlib.asynccontextmanager
async def warm_up(_app):
    threading.Thread(target=_import_engine, name="interp-warm-up", daemon=True).start()
    yield


app = st.App("app.py", lifespan=warm_up)
