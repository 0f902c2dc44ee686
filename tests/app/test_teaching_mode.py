"""Teaching mode on every page (in-process): switching it on adds a teaching note under every
chart and the page's guided tour in the sidebar; switching it off removes both. Presentation
mode hides the sidebar's secondary lines. Both switches live in the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.catalog import built_pages
from ui.tours import TOURS

REPO = Path(__file__).resolve().parents[2]
# Home, every family page, and pages without a family (Compare): every views/*.py file.
PAGES = [("views/home.py", "home")] + [(p.path, p.family) for p in built_pages()]
PAGES += [(f"views/{f.name}", f.stem) for f in sorted((REPO / "views").glob("*.py")) if f"views/{f.name}" not in dict(PAGES)]


def open_page(app, path: str, **query):
    at = app(**query)
    at.run()
    if path != "views/home.py":
        at.switch_page(path)
        at.run()
    assert not at.exception, at.exception
    return at


def teaching_notes(at) -> list[str]:
    return [i.value for i in at.info if str(i.value).startswith("**Teaching note.**")]


def charts(at) -> int:
    return len(at.get("plotly_chart"))


def tour_text(at) -> str:
    return "\n".join(str(m.value) for m in at.sidebar.markdown if "Guided tour" in str(m.value) or str(m.value).startswith("**"))


@pytest.mark.parametrize("path,page", PAGES, ids=[p[1] for p in PAGES])
def test_teaching_mode_adds_notes_and_tour_and_removes_them(app, path, page):
    at = open_page(app, path)
    assert teaching_notes(at) == [] and "Guided tour" not in tour_text(at)
    assert "v_teach" not in at.query_params and "v_present" not in at.query_params
    assert charts(at) >= 1

    at.sidebar.toggle(key="teach_switch").set_value(True).run()
    assert not at.exception, at.exception
    notes = teaching_notes(at)
    from interp_core.figures import HOW_TO_READ
    from interp_core.figures.teaching import TEACHING

    taught = {f"How to read this: {HOW_TO_READ[k]}"[:78] for k in TEACHING if k in HOW_TO_READ}  # a line's opening: a page may fit its end to the chart
    readings = [c.value for c in at.main.caption if c.value[:78] in taught]
    # one note under every chart's "How to read this" line (charts of one kind side by side share one line and its note)
    assert len(notes) == len(readings) >= 1 and len(readings) <= charts(at)
    assert all("*Source:*" in n for n in notes)
    steps = TOURS[page]
    assert f"step 1 of {len(steps)}" in tour_text(at) and steps[0].title in tour_text(at)
    assert at.query_params["v_teach"] == "True"

    at.sidebar.button(key=f"tour_next_{page}").click().run()
    assert f"step 2 of {len(steps)}" in tour_text(at) and steps[1].title in tour_text(at)

    at.sidebar.toggle(key="teach_switch").set_value(False).run()
    assert not at.exception, at.exception
    assert teaching_notes(at) == [] and "Guided tour" not in tour_text(at)
    assert "v_teach" not in at.query_params  # a switch that is off leaves links as they were


def test_teaching_and_presentation_modes_come_from_the_url(app):
    at = open_page(app, "views/home.py", v_teach="True", v_present="True")
    assert at.sidebar.toggle(key="teach_switch").value is True and at.sidebar.toggle(key="present_switch").value is True
    assert teaching_notes(at)
    sidebar_text = "\n".join(str(m.value) for m in at.sidebar.markdown)
    assert "**Store:**" not in sidebar_text and "**Device:**" not in sidebar_text
    expanders = lambda: [e.label for e in at.main.expander]  # noqa: E731
    assert "Your own data" not in expanders() and "Bring your own model" not in expanders()  # fewer controls
    assert "hub_train" not in [b.key for b in at.main.button]
    at.sidebar.toggle(key="present_switch").set_value(False).run()
    assert "**Store:**" in "\n".join(str(m.value) for m in at.sidebar.markdown)
    assert "Your own data" in expanders() and "Bring your own model" in expanders()
    assert "hub_train" in [b.key for b in at.main.button]
    assert "v_present" not in at.query_params and at.query_params["v_teach"] == "True"


def test_presenting_moves_a_legend_under_the_plot_below_the_larger_axis_title(monkeypatch):
    import plotly.graph_objects as go

    from ui import teaching

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="a"))
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.17}, margin={"b": 50})
    monkeypatch.setattr(teaching, "presenting", lambda: False)
    assert teaching.present_figure(fig) is fig
    monkeypatch.setattr(teaching, "presenting", lambda: True)
    big = teaching.present_figure(fig)
    assert big.layout.legend.y < -0.2 and big.layout.margin.b > 50
    assert big.layout.font.size > 13 and fig.layout.legend.y == -0.17  # the original is untouched
    above = go.Figure(fig).update_layout(legend={"yanchor": "bottom", "y": 1.02})
    assert teaching.present_figure(above).layout.legend.y == 1.02  # a legend above stays where it is


def test_presenting_stacks_charts_that_sit_side_by_side(app):
    at = open_page(app, "views/home.py", v_present="True")
    stacked = len(at.main.columns)
    at.sidebar.toggle(key="present_switch").set_value(False).run()
    assert len(at.main.columns) >= stacked + 4  # curve | map and example | probabilities: two pairs of columns
