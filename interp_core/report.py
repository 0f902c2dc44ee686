"""One self-contained HTML report: interactive Plotly figures (plotly.js inlined once), metric
tables, the settings used, model and data provenance, and the date it was made.

The file opens offline: no script, style or image is fetched from anywhere. Every piece of text
(recipe and dataset names, table cells, titles) is HTML-escaped, so a user-provided name shows as
text and never becomes markup. Used by ``python -m interp_core report`` and by the app's
"Download report" button; nothing here imports Streamlit.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import json
import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

import interp_core
from interp_core.errors import ReportError
from interp_core.figures import HOW_TO_READ

# Same modebar as the app (camera = PNG); each figure also gets PNG and SVG buttons of its own.
FIGURE_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}


@dataclass
class Figure:
    """A Plotly figure and its one-line "how to read this" (a HOW_TO_READ key or the text itself)."""

    figure: go.Figure
    how_to_read: str = ""

    @property
    def title(self) -> str:
        text = self.figure.layout.title.text if self.figure.layout.title else None
        return _plain(text or "Figure")


@dataclass
class Table:
    """A table of numbers (a page's metrics or one of its data tables)."""

    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass
class Text:
    text: str


@dataclass
class Metric:
    """One headline number: its label, its value as shown (already formatted) and an optional help line."""

    label: str
    value: object
    help: str = ""
    delta: str = ""  # a second line under the value, e.g. "+0.012 vs clean"
    delta_color: str = "normal"  # the app's colouring of the delta: "normal", "inverse" or "off"


@dataclass
class Metrics:
    """A row of headline numbers (the app draws them as metric cards, the report as a table)."""

    values: list[Metric]
    title: str = ""


@dataclass
class Verdict:
    """A judgement in one sentence with its level: "good", "moderate" or "poor" (green, blue, amber)."""

    level: str
    text: str

    def __post_init__(self):
        if self.level not in VERDICT_LEVELS:
            raise ValueError(f"verdict level must be one of {VERDICT_LEVELS}, not {self.level!r}")


VERDICT_LEVELS = ("good", "moderate", "poor")
Item = Union[Figure, Table, Text, Metrics, Verdict]


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)
    intro: str = ""

    @property
    def n_figures(self) -> int:
        return sum(isinstance(item, Figure) for item in self.items)


@dataclass
class Report:
    title: str
    sections: list[Section]
    settings: dict = field(default_factory=dict)
    provenance: list[dict] = field(default_factory=list)  # one dict per model artifact involved
    created: str = ""
    subtitle: str = ""

    @property
    def n_figures(self) -> int:
        return sum(section.n_figures for section in self.sections)


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@functools.lru_cache(maxsize=1)
def project_version() -> dict:
    """interp_core's version and, in a git checkout, the commit (with "+changes" when the tree is dirty)."""
    out = {"interp_core": interp_core.__version__}
    root = Path(interp_core.__file__).resolve().parent.parent
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5)
            if commit.returncode == 0 and commit.stdout.strip():
                dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=5)
                out["commit"] = commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def _compact(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str, separators=(", ", ": "))
    return "" if value is None else str(value)


def provenance(manifest: dict, status: str | None = None) -> dict:
    """The model and data behind a report, read from an artifact's manifest (label -> text)."""
    dataset = manifest.get("dataset") or {}
    data_text = dataset.get("name", "?") if isinstance(dataset, dict) else str(dataset)
    if isinstance(dataset, dict):
        sizes = ", ".join(f"{dataset[k]} {k[2:]}" for k in ("n_train", "n_test") if k in dataset)
        data_text += "".join(f"; {part}" for part in (dataset.get("source"), sizes) if part)
    rows = {
        "recipe": manifest.get("recipe") or manifest.get("name"),
        "description": manifest.get("description"),
        "family": manifest.get("family"),
        "dataset": data_text,
        "architecture": f"{manifest.get('arch', '?')} {_compact(manifest.get('model_config', {}))}",
        "training settings": _compact(manifest.get("train_config")),
        "seed": manifest.get("seed"),
        "config hash": manifest.get("config_hash"),
        "device": manifest.get("device_name") or manifest.get("device"),
        "trained (UTC)": manifest.get("created"),
        "training seconds": manifest.get("train_seconds"),
        "artifact": status,
        "libraries": ", ".join(f"{k} {v}" for k, v in (manifest.get("versions") or {}).items()),
    }
    return {k: _compact(v) for k, v in rows.items() if v not in (None, "", {})}


def metrics_table(metrics: dict, title: str = "Metrics") -> Table:
    """A flat dict of numbers as a two-column table (nested values are written compactly)."""
    rows = [{"metric": str(k).replace("_", " "), "value": _cell(v) if not isinstance(v, (dict, list)) else _compact(v)} for k, v in metrics.items()]
    return Table(title, pd.DataFrame(rows, columns=["metric", "value"]))


# -- rendering -------------------------------------------------------------------------------------
_TAGS = re.compile(r"<[^>]+>")


def _plain(text) -> str:
    """A Plotly title without its markup (<br>, <b>) for headings and the contents list."""
    return re.sub(r"\s+", " ", _TAGS.sub(" ", str(text))).strip()


_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")


def _prose(text) -> str:
    """A page's Markdown sentence as HTML: escaped first, then its **bold**, *italics* and hard line
    breaks (two spaces before a newline) drawn as the app draws them."""
    out = _BOLD.sub(r"<b>\1</b>", html.escape(str(text)))
    return _ITALIC.sub(r"<i>\1</i>", out).replace("  \n", "<br>")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return _cell(int(value))  # 53,470,000 as for an int, not 53470000
        if abs(value) >= 1e-3 or value == 0:
            return f"{value:.3f}"
        return f"{value:.2g}" if abs(value) >= 1e-5 else f"{value:.1e}"  # 0.00033, not 3.29e-04
    if isinstance(value, str) and value in ("True", "False"):
        return "yes" if value == "True" else "no"  # a flag written as text (a view setting)
    return str(value)


_ACRONYMS = {"auc": "AUC", "auprc": "AUPRC", "aup": "AUP", "aur": "AUR", "sd": "SD", "id": "ID", "ig": "IG", "pca": "PCA", "umap": "UMAP",
             "tcav": "TCAV", "cace": "CaCE", "ci": "CI", "l0": "L0", "mse": "MSE", "cbm": "CBM"}
_SETTING_NAMES = {"v_cmp_family": "family", "v_cmp_a": "first recipe", "v_cmp_b": "second recipe"}  # Compare's view keys


def readable_header(name) -> str:
    """A column or setting name as a reader expects it: an analysis's snake_case key
    (``deletion_auc``, ``series_per_s``) or a page's view key (``v_depth``) in words
    ("deletion AUC", "series/s", "depth"); a name already in words is kept."""
    text = str(name)
    if text in _SETTING_NAMES:
        return _SETTING_NAMES[text]
    if " " in text or not re.fullmatch(r"[a-z0-9_]+", text):
        return text
    words = [_ACRONYMS.get(w, w) for w in text.removeprefix("v_").split("_")]
    if words[-2:] == ["per", "s"]:  # series_per_s -> series/s (a short header fits half a page)
        return " ".join(words[:-2]) + "/s"
    return " ".join(words)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "figure"


def _table_html(table: Table) -> str:
    frame = table.frame
    head = "".join(f"<th>{html.escape(readable_header(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    title = f"<h3>{html.escape(table.title)}</h3>" if table.title else ""
    note = f"<p class='note'>{html.escape(table.note)}</p>" if table.note else ""
    return f"<div class='table'>{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>"


_APP_ONLY = re.compile(r"(?:^|(?<=[.!?;:]\s))(?:Click|Double-click|Hover)[^.]*\.\s*")


def static_reading(text: str) -> str:
    """A how-to-read line for a page that cannot be clicked (the report): its sentences telling the
    user to click or hover ("Click a dot to open that series") are left out."""
    return _APP_ONLY.sub("", text).strip()


def _figure_html(item: Figure, index: int, include_plotlyjs: bool) -> str:
    div_id = f"figure-{index}"
    height = item.figure.layout.height or 420
    body = pio.to_html(
        item.figure, full_html=False, include_plotlyjs=include_plotlyjs, include_mathjax=False, config=FIGURE_CONFIG,
        div_id=div_id, default_width="100%", default_height=f"{height}px", validate=False,
    )
    how = static_reading(HOW_TO_READ.get(item.how_to_read, item.how_to_read))
    name = html.escape(_slug(item.title), quote=True)
    buttons = "".join(
        f"<button type='button' onclick=\"downloadFigure('{div_id}', '{fmt}', '{name}')\">{fmt.upper()}</button>" for fmt in ("png", "svg")
    )
    caption = f"<p class='how'><b>How to read this:</b> {html.escape(how)}</p>" if how else ""
    return f"<figure class='figure'>{body}<div class='downloads'>Download this figure: {buttons}</div>{caption}</figure>"


def _key_values(rows: dict, title: str) -> str:
    body = "".join(f"<tr><th>{html.escape(readable_header(k))}</th><td>{html.escape(_cell(v) if isinstance(v, (bool, np.bool_, str)) else _compact(v))}</td></tr>" for k, v in rows.items())
    return f"<div class='table'><h3>{html.escape(title)}</h3><table class='kv'><tbody>{body}</tbody></table></div>"


def _metrics_html(item: Metrics) -> str:
    cards = []
    for m in item.values:
        tip = f" title='{html.escape(m.help, quote=True)}'" if m.help else ""
        delta = f"<div class='delta'>{html.escape(str(m.delta))}</div>" if m.delta else ""
        cards.append(f"<div class='metric'{tip}><div class='label'>{html.escape(m.label)}</div><div class='value'>{html.escape(_cell(m.value))}</div>{delta}</div>")
    title = f"<h3>{html.escape(item.title)}</h3>" if item.title else ""
    return f"<div class='metrics'>{title}<div class='cards'>{''.join(cards)}</div></div>"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1.5rem;color:#1f2933;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #e4e7eb;padding-bottom:.3rem;margin-top:2.5rem}h3{margin:1.2rem 0 .4rem;font-size:1.05rem}
.meta{color:#52606d}.note,.how{color:#52606d;font-size:.92rem}
table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0 1rem}th,td{border:1px solid #d9dee3;padding:.25rem .6rem;text-align:left;vertical-align:top}
thead th{background:#f5f7fa}table.kv th{background:#f5f7fa;white-space:nowrap}td{max-width:46rem;overflow-wrap:anywhere}
figure.figure{margin:1.2rem 0 1.8rem}.downloads{font-size:.85rem;color:#52606d}.downloads button{margin-left:.3rem;cursor:pointer}
nav ol{columns:2;font-size:.92rem}
.cards{display:flex;flex-wrap:wrap;gap:.6rem 1.6rem;margin:.3rem 0 1rem}.metric .label{color:#52606d;font-size:.85rem}.metric .value{font-size:1.5rem}.metric .delta{color:#52606d;font-size:.85rem}
.verdict{padding:.5rem .8rem;border-radius:.4rem}.verdict.good{background:#e3f9e5}.verdict.moderate{background:#e6f0ff}.verdict.poor{background:#fff3c4}
"""

# Client-side image export with plotly.js itself: works from file:// with no network.
_SCRIPT = """
function downloadFigure(id, format, name) {
  var gd = document.getElementById(id);
  Plotly.downloadImage(gd, {format: format, filename: name, scale: format === 'png' ? 2 : 1,
                            width: gd.offsetWidth || 900, height: gd.offsetHeight || 450});
}
"""


def render_html(report: Report) -> str:
    """The report as one HTML document; plotly.js is inlined with the first figure only."""
    created = report.created or now_utc()
    version = project_version()
    parts, contents, index = [], [], 0
    for number, section in enumerate(report.sections, 1):
        anchor = f"section-{number}"
        count = section.n_figures
        contents.append(f"<li><a href='#{anchor}'>{html.escape(section.title)}</a> ({count} figure{'' if count == 1 else 's'})</li>")
        parts.append(f"<section id='{anchor}'><h2>{html.escape(section.title)}</h2>")
        if section.intro:
            parts.append(f"<p>{_prose(section.intro)}</p>")
        for item in section.items:
            if isinstance(item, Figure):
                parts.append(_figure_html(item, index, include_plotlyjs=index == 0))
                index += 1
            elif isinstance(item, Table):
                parts.append(_table_html(item))
            elif isinstance(item, Metrics):
                parts.append(_metrics_html(item))
            elif isinstance(item, Verdict):
                parts.append(f"<p class='verdict {item.level}'>{_prose(item.text)}</p>")
            else:
                parts.append(f"<p>{_prose(item.text)}</p>")
        parts.append("</section>")
    made = f"Made {html.escape(created)} with Interp Explorer {html.escape(version['interp_core'])}"
    if "commit" in version:
        made += f" (commit {html.escape(version['commit'])})"
    head_parts = [f"<h1>{html.escape(report.title)}</h1>"]
    if report.subtitle:
        head_parts.append(f"<p>{html.escape(report.subtitle)}</p>")
    head_parts.append(f"<p class='meta'>{made}. {index} interactive figures; hover for values, drag to zoom, double-click to reset. This file needs no network.</p>")
    about = []
    for rows in report.provenance:
        about.append(_key_values(rows, f"Model and data: {rows.get('recipe', '')}"))
    if report.settings:
        about.append(_key_values(report.settings, "Settings used"))
    if about:
        contents.insert(0, "<li><a href='#about'>Model, data and settings</a></li>")
    document = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(report.title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        *head_parts,
        f"<nav><ol>{''.join(contents)}</ol></nav>",
        (f"<section id='about'><h2>Model, data and settings</h2>{''.join(about)}</section>" if about else ""),
        *parts,
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(document)


def write_html(text: str, path: str | os.PathLike) -> int:
    """Write atomically (temp file, then rename); returns the size in bytes."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise ReportError(f"'{target}' is a folder; give a file name such as {target / 'report.html'}.")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ReportError(f"Cannot write the report to '{target}': the folder '{folder}' does not exist.")
    data = text.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ReportError(f"Cannot write the report to '{target}': {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"Cannot write the report to '{target}': {exc.strerror or exc}.") from None
    return len(data)


def external_references(text: str) -> list[str]:
    """Every src/href in the markup (outside the inlined scripts) that would reach the network."""
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.S | re.I)
    found = re.findall(r"""<[a-z][^>]*?\b(?:src|href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", markup, flags=re.I)
    found += re.findall(r"""<script\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)""", text, flags=re.I)
    found += re.findall(r"""@import\s+(?:url\()?["']?((?:https?:)?//[^"')\s]+)""", markup, flags=re.I)
    return found
