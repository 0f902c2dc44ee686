"""interp_core.report: one self-contained HTML file (plotly.js inlined once, nothing fetched),
figures with their how-to-read lines, metric values, provenance, and every text escaped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from interp_core import report as rep
from interp_core.errors import ReportError
from interp_core.figures import HOW_TO_READ
from interp_core.figures.models import training_curve

EVIL = "<script>alert('x')</script><img src=http://evil.example/x.png>"


def scatter(title: str) -> go.Figure:
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="series"))
    fig.update_layout(title=title, xaxis_title="x", yaxis_title="y")
    return fig


def sample_report(n_figures: int = 3) -> rep.Report:
    history = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.6, 0.4], "val_metric": [0.5, 0.8, 0.9]}
    figures = [rep.Figure(training_curve(history, 2), "training_curve")] + [rep.Figure(scatter(f"Figure number {i}"), f"Read figure {i} like this.") for i in range(1, n_figures)]
    metrics = rep.metrics_table({"test_accuracy": 0.9731, "n_parameters": 12345, "fidelity": 0.8766})
    table = rep.Table("Per method", pd.DataFrame({"method": ["a", "b"], "score": [0.41234, np.nan]}))
    return rep.Report(
        "A report", [rep.Section("Numbers", [metrics, table]), rep.Section("Figures", figures)],
        settings={"recipe": "digits-mlp", "example": 3}, provenance=[rep.provenance({"recipe": "digits-mlp", "config_hash": "abc123", "created": "2026-01-01T00:00:00+00:00", "device_name": "CPU", "arch": "mlp", "model_config": {"hidden": [8]}})],
        created="2026-02-03 04:05 UTC",
    )


def test_plotly_js_is_inlined_once_and_nothing_is_fetched():
    text = rep.render_html(sample_report(3))
    assert text.count("plotly.js v") == 1  # the library's banner: one copy for every figure
    assert len(text) > 1_000_000  # the library itself is in the file (no CDN)
    assert rep.external_references(text) == []
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, flags=re.I)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", text, flags=re.I)
    assert "cdn.plot.ly" not in re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.S)


def test_external_references_catches_a_cdn_script_and_a_remote_image():
    assert rep.external_references("<script src='https://cdn.plot.ly/plotly.min.js'></script>") == ["https://cdn.plot.ly/plotly.min.js"]
    assert rep.external_references('<img src="//example.com/a.png">') == ["//example.com/a.png"]
    assert rep.external_references("<a href='#top'>top</a>") == []


def test_every_figure_is_there_with_its_how_to_read_line():
    report = sample_report(4)
    text = rep.render_html(report)
    assert report.n_figures == 4
    assert text.count("class=\"plotly-graph-div\"") == 4
    assert text.count("Plotly.newPlot(") == 4
    assert text.count("<b>How to read this:</b>") == 4
    assert HOW_TO_READ["training_curve"] in text  # a HOW_TO_READ key is resolved to its sentence
    assert "Read figure 3 like this." in text
    assert "Figure number 3" in text  # the figure's own title, in its JSON


def test_metric_values_settings_provenance_and_date_are_written():
    text = rep.render_html(sample_report())
    for value in ("0.973", "12,345", "0.877", "0.412"):
        assert f"<td>{value}</td>" in text
    assert "<td>nan</td>" not in text
    assert "Settings used" in text and "<td>digits-mlp</td>" in text
    assert "config hash" in text and "abc123" in text and "2026-01-01T00:00:00+00:00" in text
    assert "2026-02-03 04:05 UTC" in text
    assert "interp_core" in text or "Interp Explorer 0." in text


def test_user_names_never_become_markup():
    fig = scatter(EVIL)
    report = rep.Report(
        EVIL, [rep.Section(EVIL, [rep.Figure(fig, EVIL), rep.Table(EVIL, pd.DataFrame({EVIL: [EVIL]}), note=EVIL), rep.Text(EVIL)])],
        settings={EVIL: EVIL}, provenance=[rep.provenance({"recipe": EVIL, "description": EVIL, "dataset": {"name": EVIL, "source": EVIL}})],
    )
    text = rep.render_html(report)
    assert "<script>alert" not in text
    assert "<img src=http://evil" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert rep.external_references(text) == []
    # the title inside the figure's JSON is escaped by plotly, so it cannot close the script
    assert "\\u003cscript\\u003e" in text


def test_provenance_reads_the_manifest():
    manifest = {
        "recipe": "gunpoint-cnn", "family": "timeseries", "arch": "fcn", "model_config": {"channels": [32]}, "train_config": {"epochs": 150},
        "dataset": {"name": "gunpoint", "source": "aeon", "n_train": 50, "n_test": 150}, "seed": 0, "config_hash": "f33a", "device": "cpu",
        "device_name": "CPU", "created": "2026-11-21T07:02:57+00:00", "versions": {"torch": "2.13.0"},
    }
    rows = rep.provenance(manifest, "shipped")
    assert rows["dataset"] == "gunpoint; aeon; 50 train, 150 test"
    assert rows["architecture"].startswith("fcn ") and "32" in rows["architecture"]
    assert rows["config hash"] == "f33a" and rows["device"] == "CPU" and rows["trained (UTC)"] == manifest["created"]
    assert rows["artifact"] == "shipped" and rows["libraries"] == "torch 2.13.0"


def test_write_html_is_atomic_and_says_what_is_wrong(tmp_path):
    target = tmp_path / "r.html"
    size = rep.write_html("<html>é</html>", target)
    assert size == len("<html>é</html>".encode()) == target.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left behind
    with pytest.raises(ReportError, match="does not exist"):
        rep.write_html("x", tmp_path / "missing" / "r.html")
    with pytest.raises(ReportError, match="is a folder"):
        rep.write_html("x", tmp_path)


def test_project_version_names_the_engine():
    version = rep.project_version()
    assert version["interp_core"]
    if "commit" in version:
        assert re.fullmatch(r"[0-9a-f]{7,40}(\+changes)?", version["commit"])


def test_a_pages_markdown_is_drawn_as_the_app_draws_it_and_stays_escaped():
    """Section texts are the page's Markdown: bold, italics and hard line breaks become HTML, after escaping."""
    text = rep.render_html(rep.Report("r", [rep.Section("s", [rep.Text("**Neuron 7**  \nmostly *one* irrep; 2 * 3 = x*y; **<script>x</script>**")], intro="**Z_5** · 25 pairs")]))
    assert "<p><b>Neuron 7</b><br>mostly <i>one</i> irrep; 2 * 3 = x*y; <b>&lt;script&gt;x&lt;/script&gt;</b></p>" in text
    assert "<p><b>Z_5</b> · 25 pairs</p>" in text


def test_a_report_leaves_out_the_apps_click_instructions():
    """A report cannot be clicked: 'Click a dot to open that series' stays in the app only."""
    line = "Each dot is a series. Click a dot to open that series with its heatmap. Colour is the class."
    text = rep.render_html(rep.Report("r", [rep.Section("s", [rep.Figure(scatter("A map"), line)])]))
    assert "<b>How to read this:</b> Each dot is a series. Colour is the class." in text
    assert "Click a dot" not in text
    assert rep.static_reading("Bars add up to the margin. Hover a bar for its value. Double-click to reset the zoom.") == "Bars add up to the margin."


def test_a_report_shows_values_and_names_as_read_not_raw():
    """Issue 20: "v_depth" and "False" in the settings, snake_case headers, 3.29e-04, "(1 figures)"."""
    table = rep.Table("Scores", pd.DataFrame({"method": ["a"], "deletion_auc": [0.5068], "series_per_s": [15.2], "tiny": [0.000329], "agree": [False]}))
    report = rep.Report("R", [rep.Section("One", [table, rep.Figure(scatter("f"), "x")])], settings={"recipe": "wine-rules", "v_depth": "3", "v_teach": "False", "v_cmp_a": "wine-mlp"})
    text = re.sub(r"<script\b[^>]*>.*?</script>", "", rep.render_html(report), flags=re.S)  # the page, without plotly.js
    assert "<th>deletion AUC</th>" in text and "<th>series/s</th>" in text and "deletion_auc" not in text
    assert "<td>0.00033</td>" in text and "e-04" not in text and "<td>no</td>" in text
    assert "<th>depth</th><td>3</td>" in text and "<th>teach</th><td>no</td>" in text and "<th>first recipe</th><td>wine-mlp</td>" in text
    assert "v_depth" not in text and ">False<" not in text
    assert "(1 figure)" in text and "(1 figures)" not in text


def test_table_cells_read_as_a_person_writes_numbers():
    """Large counts get thousands separators whether stored as int or float (a FLOP count), small ones do not."""
    from interp_core.report import _cell

    assert _cell(53470000.0) == _cell(53470000) == "53,470,000"
    assert _cell(9999.0) == "9999" and _cell(0.25) == "0.250" and _cell(0.00033) == "0.00033"
    assert _cell(True) == "yes" and _cell(float("nan")) == ""
