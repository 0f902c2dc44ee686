"""View state that lives in the URL: page (the path), recipe, example, and page-specific keys.

Streamlit clears query parameters when the user switches pages, so the values live in
session_state and are written back to st.query_params on every run; a copied URL reproduces
the view. A value read from a URL may be anything (a hand-edited link): the ``url_*`` helpers
below keep it only when it is valid for the widget that owns the key, else put the default in
its place, and return the value to use; call them before drawing that widget.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

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


def request(scope: str = "app", **values) -> None:
    """Ask for new state values (applied at the top of the next run), then rerun the app, or only
    the running fragment (``scope="fragment"``: a drill-down whose click changes nothing outside
    it; the fragment calls apply_pending first)."""
    queue(**values)
    if scope == "fragment":
        try:
            st.rerun(scope="fragment")
        except StreamlitAPIException:  # not in a fragment's own rerun (a full run, AppTest): rerun the app
            pass
    st.rerun()


def get(key: str, default=None):
    return st.session_state.get(key, default)


def get_int(key: str, default: int | None = None) -> int | None:
    value = st.session_state.get(key, default)
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _keep(key: str, value) -> None:
    """Store a checked value; a value already there is left alone (its widget may exist by now)."""
    current = st.session_state.get(key)
    if current != value or type(current) is not type(value):
        st.session_state[key] = value


def url_choice(key: str, options, default=None, parse=None):
    """Keep ``key`` only when it is one of ``options`` (after ``parse``, e.g. int, when the URL
    gives a string), else ``default`` (or the first option when the default is not one)."""
    options = list(options)
    value = st.session_state.get(key)
    if parse is not None and value is not None:
        try:
            value = parse(value)
        except (TypeError, ValueError):
            value = None
    if value not in options:
        value = default if default in options else options[0]
    if parse is not None:  # a parsed value is written every run, as in url_int (a link's text must not come back)
        st.session_state[key] = value
    else:
        _keep(key, value)
    return value


def url_int(key: str, low: int, high: int, default: int) -> int:
    """Keep ``key`` only when it parses as an integer in [low, high], else ``default``."""
    value = get_int(key, None)
    value = value if value is not None and low <= value <= high else default
    # Always written, not only when it changed: when the widget's range changes (another recipe has
    # more features) Streamlit makes a new widget and seeds it from the first value the key ever had
    # in this session, the URL's *string* ("3"), unless the key was set in this run.
    st.session_state[key] = value
    return value


def url_flag(key: str, default: bool = False) -> bool:
    """A checkbox or toggle's value: a URL gives the string "True"/"1"/"on", a widget needs a bool."""
    value = st.session_state.get(key, default)
    if isinstance(value, str):
        value = value.strip().lower() in ("1", "true", "yes", "on")
    _keep(key, bool(value))
    return bool(value)


def url_list(key: str, options, default, limit: int | None = None, sep: str = ",") -> list:
    """A ``sep``-joined list kept to known options (no repeats, at most ``limit``); empty -> default."""
    raw = st.session_state.get(key)
    chosen = [o for o in str(raw).split(sep) if o in options] if raw else []
    chosen = list(dict.fromkeys(chosen))[:limit] or [o for o in default if o in options][:limit]
    st.session_state[key] = sep.join(chosen)
    return chosen


def url_multiselect(where, label: str, options: list, key: str, default: list, **kwargs) -> list:
    """A multiselect whose choice lives in the URL (``key``: '|'-joined, '~' for none), unknown values dropped."""
    raw = st.session_state.get(key)
    chosen = list(default) if raw is None or raw == "" else [o for o in str(raw).split("|") if o in options]
    widget = f"_{key}_widget"
    if st.session_state.get(widget) != chosen:
        st.session_state[widget] = chosen
    picked = where.multiselect(label, options, key=widget, on_change=lambda: st.session_state.update({key: "|".join(st.session_state[widget]) or "~"}), **kwargs)
    st.session_state[key] = "|".join(picked) or "~"
    return picked


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
