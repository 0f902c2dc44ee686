"""Figures of the Time-series page: a series with its attribution as a heatmap behind it (one row
per channel), a text's tokens coloured by each method (token_attribution), method scores beside TimeX's published numbers, deletion/insertion curves, the
class-average attribution profile and the explanation map. Builders only draw what they are given."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.figures.common import class_color, how_to_read, styled

_SERIES_READING = "The series (black line) over its attribution: red steps pushed the model toward the explained class, blue steps against it, white did not matter; colours are scaled to the largest |attribution| of this method on this series."
_TRUTH_READING = " Green bars above a channel mark the ground truth (the steps that decide the class), where it is known."
how_to_read("series_attribution", _SERIES_READING + _TRUTH_READING)
how_to_read("auprc_bars", "Mean AUPRC of each method against the ground-truth masks (1 = the most attributed steps are exactly the true ones; the grey bar is random attribution). Dashed lines: TimeX's published AUPRC for Integrated Gradients and for TimeX on this synthetic set.")
how_to_read("faithfulness_curves", "Probability of the explained class as the most attributed steps are replaced by the channel mean (deletion, left: a faithful method makes it fall fast, small area) or restored into a mean-only series (insertion, right: it rises fast, large area). The dashed grey line deletes in random order.")
how_to_read("token_attribution", "One row per method, one cell per token of the text, in reading order: red tokens pushed the model toward the predicted class, blue tokens against it, white ones did not matter. Each row's colours are scaled to that method's largest |attribution| on this text; hover a cell for its value.")
how_to_read("token_faithfulness", "Probability of the predicted class as the text's most attributed tokens are replaced by the mask token (deletion, left: a faithful method makes it fall fast, small area) or put back into a fully masked text (insertion, right: it rises fast, large area), averaged over the test texts. The dashed grey line uses a random order.")
how_to_read("class_profile", "Where each method looks, per true class: the mean normalised |attribution| of every step (0 = never attributed, 1 = always the most attributed step), one line per class, one panel per channel.")
how_to_read("explanation_map", "Each dot is a test series placed by UMAP of its attribution map: nearby dots were explained alike. Colour is the true or the predicted class, a cross marks a wrong prediction. Click a dot to open that series with its heatmap.")


def series_reading(has_truth: bool) -> str:
    """series_attribution's how-to-read line for a set with or without ground truth (no green bars to describe)."""
    return _SERIES_READING + (_TRUTH_READING if has_truth else "")


def _channel_names(names: list[str] | None, c: int) -> list[str]:
    return [names[i] if names and i < len(names) else f"channel {i}" for i in range(c)]


def series_attribution(
    x: np.ndarray,
    attribution: np.ndarray,
    channel_names: list[str] | None = None,
    mask: np.ndarray | None = None,
    title: str = "Attribution",
    colorbar_title: str = "attribution",
    row_height: int | None = None,
) -> go.Figure:
    """x and attribution (c, t); mask (c, t) or None. One subplot per channel, shared time axis."""
    x, attribution = np.asarray(x, dtype=float), np.asarray(attribution, dtype=float)
    c, t = x.shape
    names = _channel_names(channel_names, c)
    steps = np.arange(t)
    scale = float(np.abs(attribution).max()) or 1.0
    row_height = row_height or (150 if c == 1 else 110 if c <= 4 else 80)
    # make_subplots only for several channels: it costs about 0.1 s per figure
    fig = make_subplots(rows=c, cols=1, shared_xaxes=True, vertical_spacing=min(0.04, 0.3 / c), subplot_titles=names) if c > 1 else go.Figure()
    for ch in range(c):
        cell = {"row": ch + 1, "col": 1} if c > 1 else {}
        lo, hi = float(x[ch].min()), float(x[ch].max())
        pad = 0.08 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
        fig.add_trace(go.Heatmap(
            z=[attribution[ch]], x=steps, y=[lo, hi], zmin=-scale, zmax=scale, zmid=0, colorscale="RdBu_r",
            showscale=ch == 0, colorbar={"title": {"text": colorbar_title, "side": "right"}, "len": 0.9, "thickness": 10},
            hovertemplate=f"{names[ch]}<br>step %{{x}}<br>attribution %{{z:.3g}}<extra></extra>",
        ), **cell)
        fig.add_trace(go.Scatter(
            x=steps, y=x[ch], mode="lines", line={"color": "black", "width": 1.6}, name="series", showlegend=ch == 0,
            hovertemplate=f"{names[ch]}<br>step %{{x}}<br>value %{{y:.3g}}<extra></extra>",
        ), **cell)
        if mask is not None and np.asarray(mask)[ch].any():
            on = np.asarray(mask)[ch] > 0.5
            fig.add_trace(go.Scatter(
                x=steps, y=np.where(on, hi, np.nan), mode="lines", line={"color": "#2ca02c", "width": 6}, name="ground truth",
                showlegend=not any(tr.name == "ground truth" for tr in fig.data), connectgaps=False, hoverinfo="skip",
            ), **cell)
        fig.update_yaxes(range=[lo, hi + 0.04 * (hi - lo)], title_text="value" if c == 1 else None, **cell)
    styled(fig, title, "", "value", height=row_height * c + 130)
    fig.update_xaxes(title_text="time step", **({"row": c, "col": 1} if c > 1 else {}))
    # The title on top, the legend under it from the left: in a narrow chart they no longer overlap.
    fig.update_layout(title={"y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 8}},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0 if c == 1 else 1.02, "x": 0.0, "xanchor": "left"}, margin={"t": 80, "r": 10})
    if c > 1:
        fig.update_annotations(font_size=11, x=0.0, xanchor="left")
    return fig


def auprc_bars(table, published: dict[str, float] | None = None, title: str = "Agreement with the ground truth (AUPRC)") -> go.Figure:
    """Bars of mean AUPRC per method (table rows: label, auprc); published: {name: value} drawn as dashed lines."""
    labels = list(table["label"])
    values = [float(v) for v in table["auprc"]]
    colours = ["#b0b0b0" if "Random" in label else class_color(0) for label in labels]
    fig = go.Figure(go.Bar(
        x=values, y=labels, orientation="h", marker_color=colours, text=[f"{v:.3f}" for v in values],
        textposition=["inside" if v > 0.3 else "outside" for v in values], insidetextanchor="end", cliponaxis=False,
        textfont={"color": ["white" if v > 0.3 else "black" for v in values]}, name="this model", showlegend=False, hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    ))
    dashes = ["dash", "dot", "dashdot"]
    for i, (name, value) in enumerate((published or {}).items()):
        fig.add_trace(go.Scatter(
            x=[value, value], y=[labels[0], labels[-1]], mode="lines", name=f"{name}: {value:.3f}",
            line={"dash": dashes[i % 3], "color": class_color(1 + i), "width": 2.5}, hovertemplate=f"{name}: {value:.3f}<extra></extra>",
        ))
    styled(fig, title, "mean AUPRC", "", height=max(320, 30 * len(labels) + 170))
    fig.update_xaxes(range=[0, 1.0])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0.0}, margin={"b": 100, "l": 150})
    return fig


def faithfulness_curves(fractions: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "Deletion and insertion curves", unit: str = "steps") -> go.Figure:
    """curves: {method label: (deletion (s,), insertion (s,))}; a label containing 'Random' is drawn dashed grey. ``unit``: what is removed ("steps", "tokens")."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"Deletion: most attributed {unit} removed first", f"Insertion: most attributed {unit} restored first"), horizontal_spacing=0.08)
    for i, (label, (deletion, insertion)) in enumerate(curves.items()):
        is_random = "Random" in label
        line = {"color": "#7f7f7f", "dash": "dash"} if is_random else {"color": class_color(i)}
        area_d, area_i = np.trapezoid(deletion, fractions), np.trapezoid(insertion, fractions)
        fig.add_trace(go.Scatter(x=fractions, y=deletion, mode="lines", name=label, legendgroup=label, line=line, hovertemplate=f"{label}<br>%{{x:.0%}} removed<br>p = %{{y:.3f}}<br>area {area_d:.3f}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(x=fractions, y=insertion, mode="lines", name=label, legendgroup=label, showlegend=False, line=line, hovertemplate=f"{label}<br>%{{x:.0%}} restored<br>p = %{{y:.3f}}<br>area {area_i:.3f}<extra></extra>"), row=1, col=2)
    styled(fig, title, "", "probability of the explained class", height=420)
    fig.update_xaxes(title_text=f"share of {unit} removed", tickformat=".0%", row=1, col=1)
    fig.update_xaxes(title_text=f"share of {unit} restored", tickformat=".0%", row=1, col=2)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_annotations(font_size=12)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0}, margin={"b": 110, "t": 70})
    return fig


def token_attribution(tokens: list[str], rows: dict[str, np.ndarray], title: str = "Token attributions") -> go.Figure:
    """A text's tokens (T,) coloured by each method's attribution: ``rows`` {method label: (T,)}, one heat-map row
    per method, each scaled to its own largest |attribution| (the raw values in the hover)."""
    labels = list(rows)
    values = np.array([np.asarray(rows[m], dtype=float)[: len(tokens)] for m in labels]).reshape(len(labels), len(tokens))
    scale = np.abs(values).max(axis=1, keepdims=True)
    scaled = values / np.where(scale > 0, scale, 1.0)
    positions = list(range(len(tokens)))
    fig = go.Figure(go.Heatmap(
        z=scaled, x=positions, y=labels, zmin=-1, zmax=1, zmid=0, colorscale="RdBu_r", customdata=values,
        text=[list(tokens)] * len(labels), texttemplate="%{text}", textfont={"size": 12}, xgap=2, ygap=4,
        colorbar={"title": {"text": "attribution / row max", "side": "right"}, "thickness": 10, "len": 0.9},
        hovertemplate="%{y}<br>token %{x}: %{text}<br>attribution %{customdata:.3g}<extra></extra>",
    ))
    styled(fig, title, "token (in reading order)", "method", height=120 + 60 * len(labels))
    fig.update_xaxes(tickmode="array", tickvals=positions, ticktext=[str(p) for p in positions], showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig


def class_profile(profiles: np.ndarray, class_names: list[str], channel_names: list[str] | None = None, title: str = "Class-average attribution profile") -> go.Figure:
    """profiles (k, c, t): one line per class, one panel per channel."""
    k, c, t = profiles.shape
    names = _channel_names(channel_names, c)
    fig = make_subplots(rows=c, cols=1, shared_xaxes=True, vertical_spacing=min(0.05, 0.3 / c), subplot_titles=names if c > 1 else None)
    steps = np.arange(t)
    for ch in range(c):
        for cls in range(k):
            if np.isnan(profiles[cls, ch]).all():
                continue
            fig.add_trace(go.Scatter(x=steps, y=profiles[cls, ch], mode="lines", name=str(class_names[cls]), legendgroup=str(cls), showlegend=ch == 0, line={"color": class_color(cls)}, hovertemplate=f"class {class_names[cls]}<br>{names[ch]}<br>step %{{x}}<br>mean %{{y:.3f}}<extra></extra>"), row=ch + 1, col=1)
    row_height = 200 if c == 1 else 110 if c <= 4 else 70
    styled(fig, title, "", "mean normalised |attribution|" if c == 1 else "", height=row_height * c + 190)
    fig.update_xaxes(title_text="time step", row=c, col=1)
    if c > 1:
        fig.update_annotations(font_size=11, x=0.0, xanchor="left")
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.5 / c - 0.08, "x": 0.0, "title": {"text": "true class "}}, margin={"t": 60, "b": 110})
    return fig


def explanation_map(
    coords: np.ndarray,
    example_index: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    class_names: list[str],
    color_by: str = "class",
    selected: int | None = None,
    title: str = "Explanation map",
    method: str = "UMAP",
) -> go.Figure:
    """Scatter of a map of attribution maps; customdata is each point's test-set index (for clicks)."""
    coords, example_index = np.asarray(coords), np.asarray(example_index)
    colour = np.asarray(labels if color_by == "class" else predictions)
    wrong = np.asarray(labels) != np.asarray(predictions)
    fig = go.Figure()
    for k, name in enumerate(class_names):
        members = np.flatnonzero(colour == k)
        if not len(members):
            continue
        hover = [f"series {example_index[i]}<br>class {class_names[labels[i]]}<br>predicted {class_names[predictions[i]]}" for i in members]
        fig.add_trace(go.Scatter(
            x=coords[members, 0], y=coords[members, 1], mode="markers", name=str(name),
            marker={"color": class_color(k), "size": 9, "symbol": np.where(wrong[members], "x", "circle"), "line": {"width": 0.5, "color": "white"}},
            customdata=example_index[members], hovertext=hover, hoverinfo="text",
        ))
    where = np.flatnonzero(example_index == selected) if selected is not None else []
    if len(where):
        i = int(where[0])
        fig.add_trace(go.Scatter(x=[coords[i, 0]], y=[coords[i, 1]], mode="markers", name="selected", marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}}, customdata=[int(selected)], hoverinfo="skip"))
    styled(fig, title, f"{method} 1", f"{method} 2", height=480)
    fig.update_layout(clickmode="event+select", dragmode="pan", legend={"title": {"text": "true class" if color_by == "class" else "predicted class"}})
    return fig
