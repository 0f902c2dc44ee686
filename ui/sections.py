"""Draw a report Section (interp_core.report) in the app: its Figures through ``chart``, its Tables,
Metrics, Verdicts and Texts, its title as a heading, each recorded for "Download report" by
ui.components. The family pages draw their global views as the same Section objects that the HTML
report and Compare render (``interp_core/families/<family>/sections.py``), plus their interactive
parts around them."""

from __future__ import annotations

import math

import streamlit as st

from interp_core.report import Figure, Metrics, Section, Table, Text, Verdict
from ui import components

_VERDICT_BOXES = {"good": st.success, "moderate": st.info, "poor": st.warning}


def render_item(item, key: str | None = None, table_title: bool = True, *, on_select=None, selection_mode=None, column_config=None, explain: bool = True, **table_kwargs):
    """One item of a section: a figure with its how-to-read line, a table with its title and note,
    headline numbers as metric cards, a verdict as a coloured box, a text. A figure drawn with
    ``on_select`` (or a table with ``on_select`` in ``table_kwargs``) returns the selection event.
    ``explain=False``: a figure without its line (figures of one kind side by side share one)."""
    if isinstance(item, Figure):
        return components.chart(item.figure, item.how_to_read, key=key, on_select=on_select, selection_mode=selection_mode, explain=explain)
    if isinstance(item, Table):
        if table_title and item.title:
            st.markdown(f"**{item.title}**")
        table_kwargs.setdefault("hide_index", True)
        table_kwargs.setdefault("width", "stretch")
        if on_select:
            table_kwargs.update(on_select=on_select, selection_mode=selection_mode or "single-row")
        event = components.table(item.frame, column_config=column_config, key=key, **table_kwargs)
        if item.note:
            st.caption(item.note)
        return event
    if isinstance(item, Metrics):
        if item.title and table_title:
            st.markdown(f"**{item.title}**")
        # At most four cards a row (six: two rows of three), so that at 1024 px or presenting their
        # labels and values are not squeezed into 95-px columns.
        rows = math.ceil(len(item.values) / 4)
        per_row = math.ceil(len(item.values) / max(rows, 1))
        for start in range(0, len(item.values), per_row):
            for column, m in zip(st.columns(per_row), item.values[start : start + per_row]):
                components.metric(column, m.label, m.value, delta=m.delta or None, delta_color=m.delta_color, help=m.help or None)
        return None
    if isinstance(item, Verdict):
        _VERDICT_BOXES[item.level](item.text)
        return None
    if isinstance(item, Text):
        st.caption(item.text)
    return None


def render(section: Section, key: str, heading: bool = True) -> None:
    """A whole section: its title as a heading (a new section of the downloaded report), its intro, its items."""
    if heading:
        components.heading(section.title)
    if section.intro:
        st.caption(section.intro)
    for index, item in enumerate(section.items):
        render_item(item, key=f"{key}-{index}")
