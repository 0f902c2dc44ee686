"""Two recipes of one family side by side, drawn from the same sections as the HTML report
(interp_core.sections), so the comparison shows exactly what each page and report show."""

from __future__ import annotations

from itertools import zip_longest

import numpy as np
import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.family import find_family
from interp_core.report import Figure, Metrics, Report, Table, readable_header
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

    return recipe_report(name, cache.catalog(), trained=cache._trained(name, stamp))  # the model the app has loaded already


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
    """Every metric table of both reports merged: one row per metric, one column per recipe, then
    the part of the page it comes from."""
    rows: dict[tuple[str, str], dict] = {}
    for name, rep in ((name_a, a), (name_b, b)):
        for section in rep.sections:
            for item in section.items:
                if _is_metrics(item):
                    for metric, value in _metric_rows(item):
                        rows.setdefault((section.title, metric), {"section": section.title, "metric": metric})[name] = value
    # The two recipes' values next to the metric's name, the page part last: at 1024 px or presenting,
    # a long part name first pushed the values off the table's right edge.
    frame = pd.DataFrame(list(rows.values()), columns=["metric", name_a, name_b, "section"])
    # text throughout: a column of numbers and words (27 rules, "77.3%") is one type for the table
    return frame.fillna("–").astype({name_a: str, name_b: str})


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
    said: set[str] = set()  # the how-to-read lines shown in this part
    for index, (item_a, item_b) in enumerate(zip_longest(items_a, items_b)):
        if isinstance(item_a, Table) or isinstance(item_b, Table):
            # tables one above the other, each the page's full width: in half a page their columns were cut off
            for item, name, side, section in ((item_a, name_a, "a", section_a), (item_b, name_b, "b", section_b)):
                _table(item, name, section, f"cmp-{side}-{title}-{index}")
            continue
        # Two charts of one kind share one "how to read this" line (and teaching note) under their row,
        # and a line already shown in this part is not repeated under the next row.
        shared = isinstance(item_a, Figure) and isinstance(item_b, Figure) and item_a.how_to_read == item_b.how_to_read
        left, right = st.columns(2)
        for column, item, name, side in ((left, item_a, name_a, "a"), (right, item_b, name_b, "b")):
            with column:
                if item is None:
                    st.caption(f"{name} has no counterpart of this part.")
                else:
                    new = isinstance(item, Figure) and item.how_to_read not in said
                    sections.render_item(item, key=f"cmp-{side}-{title}-{index}", explain=new and not shared)
                    if new and not shared:
                        said.add(item.how_to_read)
        if shared and item_a.how_to_read not in said:
            components.reading(item_a.how_to_read)
            said.add(item_a.how_to_read)


def _table(item, name: str, section, key: str) -> None:
    """One side's table under the recipe's name, headers in words, with the note on ties with random."""
    if item is None or not isinstance(item, Table):
        st.caption(f"{name} has no counterpart of this table.")
        return
    st.markdown(f"**{item.title + ': ' if item.title else ''}{name}**")
    sections.render_item(item, key=key, table_title=False, column_config=table_columns(item.frame))
    note = reference_note(item.frame, name, [i.figure for i in section.items if isinstance(i, Figure)])
    if note:
        st.caption(note)


def table_columns(frame: pd.DataFrame) -> dict:
    """Headers in words (deletion_auc -> deletion AUC, series_per_s -> series/s) and number columns narrow."""
    config = {}
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) or pd.to_numeric(frame[column], errors="coerce").notna().mean() > 0.5
        config[column] = st.column_config.Column(readable_header(column), width="small" if numeric else None)
    return config


REFERENCE = "(reference)"  # a row that scores a baseline, e.g. "Random (reference)" among attribution methods
TIE = 0.01


def reference_note(frame: pd.DataFrame, name: str, figures=()) -> str | None:
    """One sentence when a method scores within TIE of a table's reference row (random attribution):
    that score does not tell the method from chance on this model, so the other score should be read.
    ``figures``: the section's figures; where one draws those methods' curves, the sentence says how
    soon they all settle (the reason an area ties)."""
    if frame.empty or not frame.iloc[:, 0].astype(str).str.contains(REFERENCE, regex=False).any():
        return None
    labels = frame.iloc[:, 0].astype(str)
    reference = labels.str.contains(REFERENCE, regex=False)
    scores = {c: pd.to_numeric(frame[c], errors="coerce") for c in frame.columns[1:]}
    scores = {c: v for c, v in scores.items() if v.notna().all() and v.between(0, 1).all()}  # areas and shares, not speeds
    ties, apart = [], {}
    for column, values in scores.items():
        base = float(values[reference].iloc[0])
        tied = labels[~reference & (values - base).abs().le(TIE)].tolist()
        for label, gap in zip(labels[~reference], (values - base).abs()[~reference]):
            if gap > TIE:
                apart[label] = max(apart.get(label, 0.0), float(gap))
        if tied:
            why = _settled(figures, [*tied, labels[reference].iloc[0]], column)
            ties.append(f"on {readable_header(column)} it scores {base:.3f}, within {TIE} of {', '.join(tied)}" + (f" ({why})" if why else ""))
    if not ties:
        return None
    text = f"Why random attribution ties here ({name}): " + "; ".join(ties) + ". A score this close to random's does not tell a method from chance on this model."
    if apart:
        text += " Clearly apart from random: " + ", ".join(f"{label} (by up to {gap:.2f})" for label, gap in sorted(apart.items(), key=lambda kv: -kv[1])) + "."
    return text


def _settled(figures, labels: list[str], column: str) -> str | None:
    """How soon the curves of ``labels`` (in a figure of deletion/insertion curves: deletion on the
    first x axis, insertion on the second) stay within 0.05 of where they end, if all do by a quarter
    of the steps: then any order of steps gives about the same area."""
    axis = "x" if "deletion" in column else "x2" if "insertion" in column else None
    if axis is None:
        return None
    for fig in figures:
        curves = {t.name: (np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)) for t in fig.data
                  if t.name in labels and (t.xaxis or "x") == axis and t.x is not None and t.y is not None}
        if len(curves) != len(labels):
            continue
        settle, ends = [], []
        for x, y in curves.values():
            off = np.flatnonzero(np.abs(y - y[-1]) > 0.05)
            settle.append(x[off[-1] + 1] if len(off) and off[-1] + 1 < len(x) else x[0] if not len(off) else x[-1])
            ends.append(y[-1])
        if max(settle) <= 0.25:
            verb = "removing" if axis == "x" else "restoring"
            level = f"{min(ends):.2f}" if f"{min(ends):.2f}" == f"{max(ends):.2f}" else f"{min(ends):.2f}–{max(ends):.2f}"
            return f"after {verb} {max(settle):.0%} of the steps, whichever go first, all these curves stay within 0.05 of {level}, so their areas are about equal"
    return None
