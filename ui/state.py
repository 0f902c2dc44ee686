"""View state that lives in the URL: page (the path), recipe, example, and page-specific keys.

Streamlit clears query parameters when the user switches pages, so the values live in
session_state and are written back to st.query_params on every run; a copied URL reproduces
the view. Values read from a URL are validated by the code that uses them.
"""

from __future__ import annotations

import streamlit as st

URL_KEYS = ("recipe", "example", "passport")  # passport: ui.passport, while a page shows other data
_PENDING = "_pending_state"


def load_url_once() -> None:
    """On a session's first run, copy URL parameters into session_state."""
    if st.session_state.get("_url_loaded"):
        return
    for key, value in st.query_params.items():
        if key in URL_KEYS or key.startswith("v_"):
            st.session_state[key] = value
    st.session_state["_url_loaded"] = True


def apply_pending() -> None:
    """Apply values requested by a page (e.g. a click on a map) before the widgets that own them exist."""
    pending = st.session_state.pop(_PENDING, None)
    if pending:
        for key, value in pending.items():
            st.session_state[key] = value


def queue(**values) -> None:
    """Ask for new state values, applied at the top of the next run (e.g. after st.switch_page)."""
    st.session_state[_PENDING] = {**st.session_state.get(_PENDING, {}), **values}


def request(**values) -> None:
    """Ask for new state values (applied at the top of the next run), then rerun."""
    queue(**values)
    st.rerun()


def get(key: str, default=None):
    return st.session_state.get(key, default)


def get_int(key: str, default: int | None = None) -> int | None:
    value = st.session_state.get(key, default)
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def write_url(extra: dict | None = None) -> None:
    """Mirror the view state into the URL (only keys that have a value)."""
    wanted = {key: st.session_state.get(key) for key in URL_KEYS}
    wanted.update({k: v for k, v in st.session_state.items() if isinstance(k, str) and k.startswith("v_")})
    wanted.update(extra or {})
    for key, value in wanted.items():
        if value is None or value == "":
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)
