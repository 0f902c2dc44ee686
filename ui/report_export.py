""""Download report": what the current run put on screen, as one self-contained HTML file.

Every run records, in order, what the page draws through the project's own drawing functions:
the figures of ``ui.components.chart`` (with their how-to-read lines), the headings of
``ui.components.heading``, the numbers of ``ui.components.metric`` and the tables of
``ui.components.table`` (``ui.sections.render`` draws a whole report Section through them).
Nothing wraps Streamlit's own methods, so a plain ``st.metric`` is drawn but not recorded.
app.py starts a record and draws the sidebar button
before the page runs (after st.stop() nothing more can be drawn) and completes the record after
it; the HTML is built by interp_core.report only when the button is clicked.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import re
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core import report as rep
from interp_core.errors import InterpError

log = logging.getLogger("interp_explorer")
RECORD = "_report_record"
MAX_ROWS = 200  # a table longer than this is cut in the report, with a note


def start(page_title: str) -> dict:
    """A fresh record for this run, and the sidebar's button that turns it into a report on click.

    The button is drawn before the page runs: after st.stop() nothing more can be drawn (nor
    session state read), and the record it reads on click is complete by then."""
    try:
        from ui import cache

        catalog = cache.catalog()
    except Exception:  # noqa: BLE001 - no provenance rather than no page
        catalog = None
    record = {"page": page_title, "items": {}, "settings": settings(), "catalog": catalog}
    st.session_state[RECORD] = record
    _button(record)
    return record


def finish(record: dict) -> None:
    """After the page ran: keep its final view state (a page may correct URL values); draws nothing."""
    try:
        record["settings"] = settings()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - st.stop()/st.rerun() (BaseExceptions) in flight: keep the state seen at its last element
        log.debug("report: final settings not read", exc_info=True)


def _record() -> dict | None:
    try:
        return st.session_state.get(RECORD)
    except Exception:  # noqa: BLE001 - no script run or session (a bare thread): nothing to record
        return None


_FRAGMENT = "_report_fragment"


@contextmanager
def fragment(name: str):
    """What an ``st.fragment`` draws, recorded in one slot of the page's record: the slot keeps its
    place in the report, and the fragment's own rerun replaces what it holds (a method removed from
    the view leaves the report, a new one appears where the fragment is, not at the end)."""
    record = _record()
    if record is None:
        yield
        return
    record["items"][("fragment", name)] = {}
    st.session_state[_FRAGMENT] = name
    try:
        yield
    finally:
        st.session_state.pop(_FRAGMENT, None)


def recorded(name: str):
    """Decorator for an ``st.fragment``'s function (under @st.fragment): its body runs in ``fragment(name)``."""
    def wrap(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with fragment(name):
                return function(*args, **kwargs)
        return run
    return wrap


def _flat(items: dict) -> list:
    """The record's items in order, a fragment's slot opened in place."""
    out = []
    for (kind, key), payload in items.items():
        out += _flat(payload) if kind == "fragment" else [((kind, key), payload)]
    return out


def _add(kind: str, key: str | None, payload) -> None:
    record = _record()
    if record is None:
        return
    items = record["items"]
    name = st.session_state.get(_FRAGMENT)
    if name is not None and ("fragment", name) in items:
        items = items[("fragment", name)]
    # Keyed items replace themselves when a fragment reruns; others get the next free slot.
    items[(kind, key) if key else (kind, len(items))] = payload
    record["settings"] = settings()


def record_figure(fig, how_to_read: str, key: str | None = None) -> None:
    _add("figure", key, rep.Figure(fig, how_to_read))


def record_metric(label, value, delta=None) -> None:
    _add("metric", None, (_plain(label), "" if value is None else str(value), "" if delta is None else str(delta)))


def record_table(data, column_config=None, key=None) -> None:
    if data is not None:  # converted to a plain table only when a report is made
        _add("table", key, (data, dict(column_config or {})))


def record_heading(text) -> None:
    _add("heading", _plain(text), _plain(text))  # keyed by its text: a fragment's rerun redraws it in place


def _plain(text) -> str:
    """Markdown of a label without its markup (**bold**, :grey[...], `code`)."""
    text = re.sub(r":[a-z]+\[([^\]]*)\]", r"\1", str(text))
    return re.sub(r"[*`_]{1,2}", "", text).strip()


def _frame(data, column_config) -> pd.DataFrame | None:
    if data is None:
        return None
    if hasattr(data, "data") and isinstance(getattr(data, "data"), pd.DataFrame):  # a pandas Styler
        data = data.data
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    total = len(frame)
    frame = frame.head(MAX_ROWS)
    names = {}
    for column, config in (column_config or {}).items():
        if column not in frame.columns:
            continue
        if config is None:
            frame = frame.drop(columns=[column])
        elif isinstance(config, str):
            names[column] = config
        elif isinstance(config, dict) and config.get("label"):
            names[column] = config["label"]
    frame = frame.rename(columns=names)
    # images and other non-scalar cells (lists, arrays) are not readable in a table: drop them
    keep = [c for c in frame.columns if not frame[c].map(lambda v: isinstance(v, (list, tuple, dict)) or getattr(v, "ndim", 0) > 0).any()]
    frame = frame[keep]
    frame.attrs["total_rows"] = total
    return frame


def settings() -> dict:
    """The view state (what a shared link carries): page-independent keys and the page's v_ keys."""
    state = st.session_state
    out = {key: state.get(key) for key in ("recipe", "example") if state.get(key) is not None}
    out.update({k: v for k, v in sorted(state.items()) if isinstance(k, str) and k.startswith("v_") and v not in (None, "")})
    return out


def build_report(page: str, items: list, view_settings: dict, manifests: list[tuple[dict, str | None]]) -> rep.Report:
    """Turn the recorded items into report sections: headers start sections, consecutive metrics form one table."""
    sections = [rep.Section(page)]
    metrics: list[tuple] = []

    def flush() -> None:
        if metrics:
            frame = pd.DataFrame(metrics, columns=["metric", "value", "change"])
            if not frame["change"].astype(bool).any():
                frame = frame.drop(columns=["change"])
            sections[-1].items.append(rep.Table("Key numbers", frame))
            metrics.clear()

    for (kind, _key), payload in items:
        if kind != "metric":
            flush()
        if kind == "metric":
            metrics.append(payload)
        elif kind == "heading":
            sections.append(rep.Section(payload))
        elif kind == "figure":
            sections[-1].items.append(payload)
        elif kind == "table":
            try:
                frame = _frame(*payload)
            except Exception:  # noqa: BLE001 - an unusual table is left out, never breaks the report
                log.debug("report: table left out", exc_info=True)
                continue
            if frame is None or not len(frame.columns):
                continue
            total = frame.attrs.get("total_rows", len(frame))
            note = f"The first {MAX_ROWS} of {total} rows." if total > MAX_ROWS else ""
            sections[-1].items.append(rep.Table("", frame, note))
    flush()
    sections = [s for s in sections if s.items]
    provenance = [rep.provenance(manifest, status) for manifest, status in manifests]
    return rep.Report(f"Interp Explorer report: {page}", sections, {"page": page, **{k: str(v) for k, v in view_settings.items()}}, provenance, rep.now_utc(),
                      subtitle="What the page showed when this report was downloaded.")


def report_html(record: dict) -> bytes:
    """The HTML of a finished run's record (called on click, outside the script run).

    Provenance covers the recipe in use and any other recipe the view names (Compare's two)."""
    view_settings = dict(record["settings"])
    names = [view_settings.get("recipe")] + [v for k, v in view_settings.items() if k.startswith("v_") and isinstance(v, str)]
    manifests = []
    for name in dict.fromkeys(n for n in names if n):
        try:
            artifact = recipes.find_artifact(str(name), record["catalog"], verify=False) if record.get("catalog") is not None else None
        except InterpError:
            artifact = None
        if artifact is not None:
            manifests.append((artifact.manifest, "shipped" if artifact.shipped else "trained"))
    items = _flat(record["items"])
    return rep.render_html(build_report(record["page"], items, view_settings, manifests)).encode("utf-8")


def _subject(page: str) -> str:
    """What a report is about, for its file name: Compare's two recipes, else the recipe in use. The
    button is drawn before the page runs, so on a session's first run (no recipe chosen yet) this
    is the recipe the page opens on, its family's first: the same name on every run and page."""
    state = st.session_state
    if page == "Compare" and state.get("v_cmp_a") and state.get("v_cmp_b"):
        return f"{state['v_cmp_a']}-vs-{state['v_cmp_b']}"
    if state.get("recipe"):
        return str(state["recipe"])
    from ui.catalog import FAMILY_PAGES

    family = next((p.family for p in FAMILY_PAGES if p.title == page), None)
    names = [r.name for r in recipes.list_recipes() if family is None or r.family == family]
    return names[0] if names else "recipe"


def _button(record: dict) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M")
    file_name = f"interp-{re.sub(r'[^a-z0-9]+', '-', record['page'].lower()).strip('-')}-{re.sub(r'[^A-Za-z0-9.-]+', '-', _subject(record['page']))}-{stamp}.html"
    record["file_name"] = file_name
    st.sidebar.download_button(
        "Download report", lambda: report_html(record), file_name=file_name, mime="text/html", key="download_report", on_click="ignore",
        icon=":material/download:", help="One HTML file with this page's figures, numbers and tables, the settings and the model's provenance; it opens offline.",
    )
