"""Draw a report Section (interp_core.report) in the app: its Figures through ``chart``, its Tables
and Texts, its title as a heading, each recorded for "Download report" by ui.components. The
family pages and Compare draw the same Section objects that the HTML report renders."""

from __future__ import annotations

import streamlit as st

from interp_core.report import Figure, Section, Table, Text
from ui import components


def render_item(item, key: str | None = None, table_title: bool = True) -> None:
    """One item of a section: a figure with its how-to-read line, a table with its title and note, a text."""
    if isinstance(item, Figure):
        components.chart(item.figure, item.how_to_read, key=key)
    elif isinstance(item, Table):
        if table_title and item.title:
            st.markdown(f"**{item.title}**")
        components.table(item.frame, hide_index=True, width="stretch")
        if item.note:
            st.caption(item.note)
    elif isinstance(item, Text):
        st.caption(item.text)


def render(section: Section, key: str, heading: bool = True) -> None:
    """A whole section: its title as a heading (a new section of the downloaded report), its intro, its items."""
    if heading:
        components.heading(section.title)
    if section.intro:
        st.caption(section.intro)
    for index, item in enumerate(section.items):
        render_item(item, key=f"{key}-{index}")
