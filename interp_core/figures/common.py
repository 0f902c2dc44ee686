"""Shared look of every chart: a title, labelled axes, readable fonts, a qualitative palette."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

# One line per figure builder: what the chart shows and how to read it (shown under each chart).
HOW_TO_READ: dict[str, str] = {}


def how_to_read(name: str, text: str) -> None:
    HOW_TO_READ[name] = text


def styled(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    """Apply the project's layout: title, axis labels, margins, font size."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        font={"size": 13},
        legend={"title": {"text": ""}},
    )
    _white_template(fig)
    return fig


def _white_template(fig: go.Figure) -> None:
    """Give the figure Plotly's "plotly_white" template without validating it again: validating the
    registered (already valid) template took about 25 ms of CPU per figure, most of a small figure's
    build time. Plotly assigns its default template the same way (BaseFigure._initialize_layout_template);
    the figure's JSON is the same as with ``update_layout(template="plotly_white")``."""
    layout = fig.layout
    validate = getattr(layout, "_validate", True)
    layout._validate = False
    try:
        layout.template = pio.templates["plotly_white"]
    finally:
        layout._validate = validate


def class_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]
