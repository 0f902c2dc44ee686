"""Shared look of every chart: a title, labelled axes, readable fonts, a qualitative palette."""

from __future__ import annotations

import plotly.graph_objects as go

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
        template="plotly_white",
        legend={"title": {"text": ""}},
    )
    return fig


def class_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]
