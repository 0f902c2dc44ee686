""""Download report" in AppTest: every run records what the page drew (figures, metrics, tables,
headers) and the sidebar always has the button, also on a page that stopped early."""

import re

from ui import report_export


def sidebar_buttons(at) -> list[str]:
    return [e.proto.label for e in at.sidebar if type(e).__name__ == "DownloadButton"]


def test_home_record_matches_what_the_page_drew(app):
    at = app(recipe="digits-mlp", example="3")
    at.run()
    assert not at.exception
    assert sidebar_buttons(at) == ["Download report"]
    record = at.session_state[report_export.RECORD]
    figures = [k for k in record["items"] if k[0] == "figure"]
    assert len(figures) == len(at.get("plotly_chart")) > 0
    html = report_export.report_html(record).decode()
    assert html.count('class="plotly-graph-div"') == len(figures)
    for metric in at.metric:  # every number on the page is in the report
        assert f"<td>{metric.value}</td>" in html, metric.label
    assert "<td>digits-mlp</td>" in html and "config hash" in html
    assert re.search(r"<h2>Example 3</h2>", html)


def test_a_page_that_stops_early_still_offers_its_report(app):
    at = app(recipe="toy-sae")  # not a plain classifier: Home stops after the model hub
    at.run()
    assert not at.exception
    assert sidebar_buttons(at) == ["Download report"]
    html = report_export.report_html(at.session_state[report_export.RECORD]).decode()
    assert "Model hub" in html and "<td>wine-mlp</td>" in html  # the hub's table, as shown
    assert "<td>toy-sae</td>" in html  # settings and provenance of the recipe in use


def test_build_report_groups_metrics_starts_sections_at_headers_and_cuts_long_tables():
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    from interp_core import report as rep

    long = pd.DataFrame({"a": np.arange(500.0), "picture": [np.zeros(3)] * 500, "hidden": ["x"] * 500})
    items = [
        (("metric", 0), ("Accuracy", "0.97", "")), (("metric", 1), ("Rules", "7", "+2 vs before")),
        (("heading", 2), "Global view"),
        (("figure", "k"), rep.Figure(go.Figure(go.Bar(x=[1], y=[2])), "training_curve")),
        (("table", 4), (long, {"a": {"label": "Alpha"}, "hidden": None})),
    ]
    report = report_export.build_report("Rules", items, {"recipe": "wine-rules"}, [({"recipe": "wine-rules", "config_hash": "c0ffee"}, "shipped")])
    assert [s.title for s in report.sections] == ["Rules", "Global view"]
    numbers = report.sections[0].items[0]
    assert numbers.frame.to_dict("records") == [{"metric": "Accuracy", "value": "0.97", "change": ""}, {"metric": "Rules", "value": "7", "change": "+2 vs before"}]
    figure, table = report.sections[1].items
    assert isinstance(figure, rep.Figure) and report.n_figures == 1
    assert list(table.frame.columns) == ["Alpha"] and len(table.frame) == report_export.MAX_ROWS
    assert table.note == f"The first {report_export.MAX_ROWS} of 500 rows."
    assert report.settings == {"page": "Rules", "recipe": "wine-rules"} and report.provenance[0]["config hash"] == "c0ffee"


def test_the_report_file_is_named_after_the_page_and_its_recipe_from_the_first_run(app):
    """The button is drawn before the page runs: a session's first run named the file '...-report-...'
    and the next one after the recipe; now both name the recipe the page shows (Compare: its two)."""
    at = app().run()
    first = at.session_state[report_export.RECORD]["file_name"]
    at.run()
    assert re.fullmatch(r"interp-home-digits-mlp-\d{8}-\d{4}\.html", first)
    assert at.session_state[report_export.RECORD]["file_name"].split("-2")[0] == first.split("-2")[0]
    at.switch_page("views/compare.py").run()
    at.run()
    assert re.fullmatch(rf"interp-compare-{at.session_state['v_cmp_a']}-vs-{at.session_state['v_cmp_b']}-\d{{8}}-\d{{4}}\.html", at.session_state[report_export.RECORD]["file_name"])


def test_a_fragments_rerun_replaces_what_it_drew_in_its_place():
    """A fragment's own rerun (a method removed, another added) changes its slot of the record: the
    report drops what it no longer draws and shows the new chart where the fragment is, not at the end."""
    import plotly.graph_objects as go
    import streamlit as st

    def chart(title: str) -> None:
        report_export.record_figure(go.Figure(layout={"title": {"text": title}}), "a line", f"chart-{title}")

    st.session_state[report_export.RECORD] = record = {"page": "p", "items": {}, "settings": {}, "catalog": None}
    report_export.record_heading("Series 0")
    with report_export.fragment("series"):
        chart("Occlusion")
        chart("Saliency")
    report_export.record_heading("How the methods compare")
    chart("Curves")
    with report_export.fragment("series"):  # the fragment alone reruns with other methods
        chart("Saliency")
        chart("DeepLift")
    titles = [(section.title, [item.figure.layout.title.text for item in section.items]) for section in report_export.build_report("p", report_export._flat(record["items"]), {}, []).sections]
    assert titles == [("Series 0", ["Saliency", "DeepLift"]), ("How the methods compare", ["Curves"])]
