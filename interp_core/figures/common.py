"""Shared look of every chart: a title, labelled axes, readable fonts, a qualitative palette."""

from __future__ import annotations

import numpy as np
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


# -- maps of many points ---------------------------------------------------------------------------
WEBGL_POINTS = 1_000  # above this many points a map draws with WebGL (Scattergl): SVG slows down past a few thousand
MAP_POINTS = 5_000  # above this many a map draws a sample of about this many (as UMAP explorers do) and counts every point in grey cells


def scatter_type(n_points: int):
    """The scatter trace class for a map of ``n_points``: SVG for small maps, WebGL for large ones."""
    return go.Scattergl if n_points > WEBGL_POINTS else go.Scatter


def map_sample(groups: np.ndarray, limit: int = MAP_POINTS, keep=None, always=None, seed: int = 0) -> np.ndarray:
    """Sorted indices of the points a map draws: all of them when there are at most ``limit``; else a
    seeded random sample of ``limit`` stratified by ``groups`` (each group keeps its share of the
    points, and a small group at least ``limit / (4 * groups)`` of them, so it stays visible), plus
    the points of ``keep`` (ones a reader looks for, such as wrong predictions; at most a quarter of
    ``limit`` of them) and of ``always`` (the selected point). The sample does not depend on
    ``always``, so selecting another point does not move the others."""
    groups = np.asarray(groups)
    n = len(groups)
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    values, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    base = np.minimum(counts, limit // (4 * len(values)))
    extra = counts - base
    quota = base + np.floor((limit - base.sum()) * extra / max(extra.sum(), 1)).astype(int)
    chosen = [rng.choice(np.flatnonzero(inverse == g), size=int(q), replace=False) for g, q in enumerate(quota) if q]
    keep = _indices(keep, n)
    if len(keep) > limit // 4:
        keep = np.random.default_rng(seed + 1).choice(keep, size=limit // 4, replace=False)
    chosen += [keep, _indices(always, n)]
    return np.unique(np.concatenate(chosen)) if chosen else np.arange(0)


def _indices(values, n: int) -> np.ndarray:
    """Distinct valid indices (0 <= i < n) among ``values`` (None or a list; None entries dropped)."""
    values = np.asarray([v for v in (values if values is not None else []) if v is not None], dtype=int)
    return np.unique(values[(values >= 0) & (values < n)])


def density_layer(coords: np.ndarray, bins: int = 90) -> go.Heatmap:
    """Every point of a sampled map counted in a grid of grey cells (darker = more points), drawn under
    the sample; hovering a cell gives its true count. It carries no customdata, so a click on a cell
    selects nothing."""
    coords = np.asarray(coords, dtype=float)
    finite = np.isfinite(coords).all(axis=1)
    x, y = coords[finite, 0], coords[finite, 1]
    counts, x_edges, y_edges = np.histogram2d(x, y, bins=bins)
    z = np.where(counts > 0, counts, np.nan).T.astype(np.float32)  # rows are y
    top = float(np.nanpercentile(z, 95)) if np.isfinite(z).any() else 1.0
    return go.Heatmap(
        x=np.round((x_edges[:-1] + x_edges[1:]) / 2, 4), y=np.round((y_edges[:-1] + y_edges[1:]) / 2, 4), z=z,
        zmin=0, zmax=max(top, 1.0), colorscale=[[0.0, "#f2f2f2"], [1.0, "#8c8c8c"]], showscale=False,
        hovertemplate="%{z:,.0f} points in this cell<extra></extra>", name="every point, counted", hoverongaps=False,
    )


def sampled_note(drawn: int, total: int, what: str = "points") -> str:
    """The title's note on a sampled map: how many points are drawn of how many (empty when all are)."""
    return "" if drawn >= total else f"{drawn:,} of {total:,} {what} drawn; grey cells count all of them"


def thumbnail_pixels(x: np.ndarray, shape, size: int = 64) -> np.ndarray:
    """An image example as uint8 pixels for a small picture: three channels in colour as they are
    (values in [0, 1]), one channel as dark ink on white scaled to its range (as the pages' charts
    draw it); each pixel repeated so the picture is at least ``size`` pixels wide and a browser
    shows sharp pixels instead of blurring a tiny image."""
    image = np.asarray(x, dtype=float).reshape(shape)
    if image.ndim == 3 and image.shape[0] == 3:
        rgb = np.clip(image.transpose(1, 2, 0), 0.0, 1.0)
    else:
        grey = image.mean(axis=0) if image.ndim == 3 else image
        span = float(grey.max() - grey.min()) or 1.0
        rgb = np.repeat((1.0 - (grey - grey.min()) / span)[:, :, None], 3, axis=2)
    factor = max(1, -(-size // rgb.shape[1]))
    return np.kron((rgb * 255).round().astype(np.uint8), np.ones((factor, factor, 1), dtype=np.uint8))
