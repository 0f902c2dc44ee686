"""Two recipes of one family side by side, drawn from the same sections as the HTML report
(interp_core.sections), so the comparison shows exactly what each page and report show."""

from __future__ import annotations

from itertools import zip_longest

import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.family import find_family
from interp_core.report import Metrics, Report, Table
from ui import cache
from ui import components, sections

def families() -> dict[str, list[str]]:
    """Family -> its recipe names, for families with at least two recipes."""
    out: dict[str, list[str]] = {}
    for recipe in recipes.list_recipes():
        out.setdefault(recipe.family, []).append(recipe.name)
    return {family: names for family, names in out.items() if len(names) >= 2}


def default_pair(family: str, names: list[str]) -> tuple[str, str]:
    spec = find_family(family)
    a, b = spec.compare_pair if spec is not None and spec.compare_pair else (names[0], names[1])
    if a not in names or b not in names:
        a, b = names[0], names[1]
    return a, b


@st.cache_resource(show_spinner=False, max_entries=8)
def _report(name: str, stamp: str) -> Report:
    from interp_core.sections import recipe_report

    return recipe_report(name, cache.catalog())


def report(name: str) -> Report | None:
    """The recipe's report sections, or None when it has never been trained."""
    stamp = cache.artifact_stamp(name)
    if stamp is None:
        return None
    return _report(name, stamp)


def _is_metrics(item) -> bool:
    return isinstance(item, Metrics) or (isinstance(item, Table) and list(item.frame.columns) == ["metric", "value"])


def _metric_rows(item) -> list[tuple[str, object]]:
    if isinstance(item, Metrics):
        return [(m.label, m.value) for m in item.values]
    return list(zip(item.frame["metric"], item.frame["value"]))


def key_numbers(a: Report, b: Report, name_a: str, name_b: str) -> pd.DataFrame:
    """Every metric table of both reports merged: one row per metric, one column per recipe."""
    rows: dict[tuple[str, str], dict] = {}
    for name, rep in ((name_a, a), (name_b, b)):
        for section in rep.sections:
            for item in section.items:
                if _is_metrics(item):
                    for metric, value in _metric_rows(item):
                        rows.setdefault((section.title, metric), {"section": section.title, "metric": metric})[name] = value
    frame = pd.DataFrame(list(rows.values()), columns=["section", "metric", name_a, name_b])
    return frame.fillna("–")


def side_by_side(a: Report, b: Report, name_a: str, name_b: str) -> None:
    """Sections matched by title, items paired in order; metric tables are in the key-numbers table."""
    titles_b = {section.title: section for section in b.sections}
    shown = set()
    for section_a in a.sections:
        section_b = titles_b.get(section_a.title)
        shown.add(section_a.title)
        _section(section_a.title, section_a, section_b, name_a, name_b)
    for section_b in b.sections:
        if section_b.title not in shown:
            _section(section_b.title, None, section_b, name_a, name_b)


def _section(title: str, section_a, section_b, name_a: str, name_b: str) -> None:
    items_a = [i for i in (section_a.items if section_a else []) if not _is_metrics(i)]
    items_b = [i for i in (section_b.items if section_b else []) if not _is_metrics(i)]
    if not items_a and not items_b:
        return
    components.heading(title)
    for index, (item_a, item_b) in enumerate(zip_longest(items_a, items_b)):
        left, right = st.columns(2)
        for column, item, name, side in ((left, item_a, name_a, "a"), (right, item_b, name_b, "b")):
            with column:
                if item is None:
                    st.caption(f"{name} has no counterpart of this part.")
                else:
                    sections.render_item(item, key=f"cmp-{side}-{title}-{index}")
