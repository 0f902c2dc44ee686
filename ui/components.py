"""Small layout components shared by pages: a chart with its how-to-read line, metrics, tables and
headings, clicks on charts and tables, error boxes.

``chart``, ``metric``, ``table`` and ``heading`` draw AND record what they drew for "Download
report" (ui.report_export): a page draws what the report must hold through them, not through
st.plotly_chart / st.metric / st.dataframe / st.subheader."""

from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from interp_core.errors import InterpError
from interp_core.figures import HOW_TO_READ
from ui import teaching
from ui.teaching import presenting  # noqa: F401 - pages may ask whether to hide secondary controls
from ui import report_export

log = logging.getLogger("interp_explorer")
PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def chart(fig: go.Figure, how_to_read: str, key: str | None = None, on_select=None, selection_mode=None, explain: bool = True):
    """Draw a figure with its one-line "how to read this" underneath; returns the selection event if any.
    ``explain=False``: no line under it (charts of one kind side by side: the page draws ``reading`` once under the row)."""
    kwargs = {"config": teaching.plotly_config(PLOTLY_CONFIG), "key": key}
    if on_select:
        kwargs.update(on_select=on_select, selection_mode=selection_mode or "points")
    event = st.plotly_chart(teaching.present_figure(fig), **kwargs)
    report_export.record_figure(fig, how_to_read, key)  # for "Download report"
    if explain:
        reading(how_to_read)
    return event


def reading(how_to_read: str, text: str | None = None) -> None:
    """A chart's "how to read this" line and, in teaching mode, its note with the paper it comes from.
    ``text``: the line fitted to what this chart draws (the note stays the key's)."""
    st.caption(f"How to read this: {text or HOW_TO_READ.get(how_to_read, how_to_read)}")
    teaching.note(how_to_read)


def columns(spec, **kwargs) -> list:
    """``st.columns(spec)``, or the same number of containers one above the other while presenting:
    presentation mode enlarges the text, so two charts side by side no longer fit a projector's
    1024 px (titles and legends were cut)."""
    if teaching.presenting():
        return [st.container() for _ in range(spec if isinstance(spec, int) else len(spec))]
    return st.columns(spec, **kwargs)


def metric(where, label, value, delta=None, **kwargs):
    """``where.metric(...)`` (a column, a container or ``st``), recorded for the report."""
    report_export.record_metric(label, value, delta)
    return where.metric(label, value, delta, **kwargs)


def table(data, *, where=st, column_config=None, key=None, **kwargs):
    """``where.dataframe(...)``, recorded for the report; returns the selection event if any. A
    missing value shows as a dash (Streamlit's default is the word "None")."""
    report_export.record_table(data, column_config, key)
    kwargs.setdefault("placeholder", "–")
    return where.dataframe(data, column_config=column_config, key=key, **kwargs)


def heading(text: str, *, where=st, level: str = "subheader", **kwargs) -> None:
    """A page heading (``level``: "header" or "subheader"); it starts a new section of the report."""
    if level not in ("header", "subheader"):
        raise ValueError(f"heading level must be 'header' or 'subheader', not {level!r}")
    report_export.record_heading(text)
    getattr(where, level)(text, **kwargs)


# -- clicks on charts and tables -----------------------------------------------------------------
def _selection(event) -> dict:
    if not event:
        return {}
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    return selection or {}


def _ints(customdata) -> tuple[int, ...] | None:
    """A point's customdata as a tuple of ints; Streamlit may hand an array-valued customdata back
    as {"0": x, "1": y}. None when it is missing or not numeric."""
    if customdata is None:
        return None
    try:
        if isinstance(customdata, dict):
            customdata = [customdata[k] for k in sorted(customdata, key=lambda k: int(k))]
        return tuple(int(v) for v in np.ravel(np.asarray(customdata, dtype=float)))
    except (TypeError, ValueError):
        return None


def clicked_points(event) -> list[tuple[int, ...]]:
    """The customdata (as int tuples) of every point selected on a Plotly chart, in order."""
    points = _selection(event).get("points", []) or []
    return [value for value in (_ints(p.get("customdata")) for p in points) if value]


def clicked_point(event, *, single: bool = False) -> tuple[int, ...] | None:
    """The first selected point's customdata as ints, or None. ``single``: only a click on exactly
    one point counts (a box or lasso selection is not a click)."""
    selection = _selection(event)
    points = clicked_points(event)
    if single and (selection.get("box") or selection.get("lasso") or len(points) != 1):
        return None
    return points[0] if points else None


def area_selection(event) -> list[int] | None:
    """The indices (first customdata number) chosen with a box or lasso, or None when the
    selection is not an area (a click, or nothing)."""
    selection = _selection(event)
    if not (selection.get("box") or selection.get("lasso")):
        return None
    return [point[0] for point in clicked_points(event)]


def selection_box(event) -> tuple[float, float, float, float] | None:
    """The data window (x0, x1, y0, y1) of a box dragged on a chart drawn with selection_mode "box", or None."""
    boxes = _selection(event).get("box") or []
    try:
        x, y = sorted(float(v) for v in boxes[0]["x"]), sorted(float(v) for v in boxes[0]["y"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return (x[0], x[-1], y[0], y[-1]) if x[0] < x[-1] and y[0] < y[-1] else None


def clicked_index(event, *, single: bool = False) -> int | None:
    """The first number of the clicked point's customdata (an example or feature index), or None."""
    point = clicked_point(event, single=single)
    return point[0] if point else None


def selected_rows(event) -> list[int]:
    """The rows selected in a table drawn with on_select (positions in the frame shown)."""
    return [int(r) for r in (_selection(event).get("rows", []) or [])]


def on_click(key: str, handler, *, single: bool = False):
    """An ``on_select`` callback for the chart drawn with ``key``: ``handler`` gets the clicked point's
    customdata (a tuple of ints) before the next run starts, so a click that opens something costs
    one run, not a run that reads the click and a rerun that shows it (the handler queues state with
    ``ui.state.queue``, applied at the top of that run)."""

    def callback() -> None:
        point = clicked_point(st.session_state.get(key), single=single)
        if point is not None:
            handler(point)

    return callback


def on_row(key: str, handler):
    """An ``on_select`` callback for the table drawn with ``key``: ``handler`` gets the selected row's
    position before the next run starts (see ``on_click``)."""

    def callback() -> None:
        rows = selected_rows(st.session_state.get(key))
        if rows:
            handler(rows[0])

    return callback


def new_click(guard: str, value) -> bool:
    """True the first time a widget reports ``value`` (a chart or table keeps its selection across
    reruns, so the same click comes back on every run); ``guard`` names the widget's memory."""
    if st.session_state.get(guard) == value:
        return False
    st.session_state[guard] = value
    return True


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


def shown_token(text: str) -> str:
    """A token as it reads, its leading space and newlines visible (a byte-level token: ' story', '\\n')."""
    return repr(text)[1:-1]
