"""Figures of the SAE features page: feature map, histograms, output effects, example galleries,
per-example contributions, quality (splicing, sweep, recovery) and the training curve.

Pure builders: arrays / DataFrames in, go.Figure (or an HTML string for text) out. Clickable
figures carry the feature or example index in ``customdata``.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.figures.common import class_color, density_layer, how_to_read, map_sample, sampled_note, scatter_type, styled

how_to_read("sae_feature_map", "Each dot is one SAE feature, placed by its decoder direction (nearby dots write similar directions into the layer); colour is how often it fires (log10 of the share of examples). Grey crosses never fire. Click a dot to open that feature. Past 5,000 features a sample is drawn over grey cells that count them all.")
how_to_read("sae_density_histogram", "How many features fire how often: log10 of each feature's firing rate over all examples. A healthy SAE has few dead features and few that fire on nearly everything.")
how_to_read("sae_activation_histogram", "Activations of this feature on the examples where it fires; the shaded bands are the 10 equal-width intervals the example lists below come from.")
how_to_read("sae_output_effects", "What one unit of this feature does to the model's outputs when pushed through the rest of the model: the outputs it raises most (left) and lowers most (right).")
how_to_read("sae_digit_gallery", "Digits on which this feature fires most, strongest first; the number above each is the feature's activation. Click one to see every feature that fires on it.")
how_to_read("sae_toy_examples", "Each row is an example where this feature fires, each column a true feature of the toy model (dark = on). The outlined column is the true feature this SAE feature matches best.")
how_to_read("sae_contributions", "The features that fire on this example, largest activation first; the label gives each one's share of the reconstruction. Click a bar to open that feature.")
how_to_read("sae_sweep", "Each dot is one SAE trained on the same activations: fewer active features per example (L0, left) usually means less of the layer explained (up). The ringed dot is the SAE on this page.")
how_to_read("sae_splice", "The model's accuracy with the layer's real activations (clean), with the SAE's reconstruction in their place, and with the layer zeroed out. SAE close to clean means the features capture what the model uses.")
how_to_read("sae_recovery", "For every true feature of the toy model, the best cosine similarity between its direction and any SAE decoder row, sorted. 1.0 = recovered exactly; the dashed line is the mean (MMCS).")
how_to_read("sae_training_curve", "Explained variance of the training batches (left axis) and mean active features per example, L0 (right axis), during training.")
how_to_read("sae_steer", "Each class's probability on this example before the edit (grey) and after it (colour), side by side, most probable class first. Bars that move show what the steered features do to the prediction; the title gives the KL divergence (after || before) and whether the top class changed.")
how_to_read("sae_arch_comparison", "Each group of bars is one SAE architecture trained the same way on two generated toys with known features. MMCS (higher is better) says how well it recovers the true directions; absorption (lower is better) is the share of examples with a parent and a child feature on where the parent's latent stays silent because a child's latent writes the parent's direction.")
how_to_read("sae_circuit", "Each row is an upstream transcoder feature, strongest connection first. Grey: how much one unit of it moves this feature's pre-activation, read from the weights alone (the same on every input). Colour: how much this feature's activation actually drops when the upstream feature is zeroed, averaged over the examples where both fire (n). Click a row to open that upstream feature.")
how_to_read("sae_per_text_loss", "Each dot is one held-out text: its loss with the layer's real output (across) and with the SAE's reconstruction spliced in (up). Dots on the dashed line lose nothing; dots above it are texts the SAE's reconstruction makes harder to predict.")
how_to_read("sae_splice_cosine", "The mean cosine between each held-out text's sentence embedding (the last layer, mean-pooled) with the block's real output (1 by definition), with the SAE's reconstruction in its place, and with the block zeroed. SAE close to 1 means the features keep what the embedding uses.")
how_to_read("sae_per_text_cosine", "Each dot is one held-out text: its sentence embedding's cosine with the clean one when the block is zeroed (across) and when the SAE's reconstruction is spliced in (up). Dots above the dashed line are texts the SAE keeps closer to the clean embedding than zeroing the block does; near the top, it loses almost nothing.")
how_to_read("sae_class_share", "Share of this feature's total activation that falls on examples of each class (or on examples whose strongest true feature is each one).")

_DEAD = "#b0b0b0"


def feature_map(coords: np.ndarray, density: np.ndarray, labels: list[str], selected: int | None = None, method: str = "UMAP",
                window: tuple[float, float, float, float] | None = None) -> go.Figure:
    """Each feature at its map position, coloured by how often it fires; customdata is the feature index.

    A large SAE stays responsive: above ``WEBGL_POINTS`` features the map draws with WebGL, and above
    ``MAP_POINTS`` it draws a sample (live and dead features in proportion, the selected one always)
    over grey cells that count every feature; the title gives the true counts. ``window`` (x0, x1,
    y0, y1) zooms in: the map shows that window only, sampled and counted again from its own features,
    so the closer the zoom the more of them are drawn."""
    coords = np.asarray(coords)
    density = np.asarray(density)
    n = len(coords)
    index = np.arange(n)
    live = density > 0
    inside = np.ones(n, dtype=bool)
    if window is not None:
        x0, x1, y0, y1 = window
        inside = (coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)
    members = index[inside]
    drawn = np.zeros(n, dtype=bool)
    drawn[members[map_sample(live[members], always=np.flatnonzero(members == selected) if selected is not None else None)]] = True
    sampled = drawn.sum() < len(members)
    trace = scatter_type(int(drawn.sum()))
    fig = go.Figure()
    if sampled:
        fig.add_trace(density_layer(coords[members]))
    if (~live).any():
        dead = index[~live & drawn]
        fig.add_trace(trace(
            x=coords[dead, 0], y=coords[dead, 1], mode="markers", name=f"never fires ({int((~live & inside).sum()):,})" if sampled else "never fires",
            marker={"color": _DEAD, "size": 7, "symbol": "x"}, customdata=dead,
            hovertemplate="feature %{customdata}<br>never fires<extra></extra>",
        ))
    alive = index[live & drawn]
    log_density = np.log10(density[alive]).astype(np.float32) if len(alive) else np.array([])
    fig.add_trace(trace(
        x=coords[alive, 0], y=coords[alive, 1], mode="markers", name=f"features ({int((live & inside).sum()):,})" if sampled else "features",
        marker={"color": log_density, "colorscale": "Viridis", "size": 6 if sampled else 9, "showscale": True,
                "colorbar": {"title": {"text": "log10 density"}, "thickness": 14}, "line": {"width": 0.5, "color": "white"}},
        customdata=alive,
        hovertext=[f"feature {j}<br>{html.escape(str(labels[j]))}<br>fires on {density[j]:.2%}" for j in alive], hoverinfo="text",
    ))
    if selected is not None and 0 <= selected < n and inside[selected]:
        fig.add_trace(go.Scatter(
            x=[coords[selected, 0]], y=[coords[selected, 1]], mode="markers", name=f"feature {selected}",
            marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#d62728"}}, customdata=[selected], hoverinfo="skip",
        ))
    note = sampled_note(int(drawn.sum()), len(members), "features")
    if window is not None:
        note = f"zoomed in: {len(members):,} of {n:,} features in this window" + (f", {int(drawn.sum()):,} drawn; grey cells count them all" if sampled else "")
    # what is mapped on a second, smaller line: a half-width chart at 1024 px cut one long line off
    styled(fig, f"Feature map ({method})<br><sup>of the decoder directions" + (f"; {note}" if note else "") + "</sup>", f"{method} 1", f"{method} 2", height=480)
    fig.update_layout(clickmode="event+select", dragmode="pan", legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0}, margin={"b": 110, "t": 70})
    if window is not None:
        fig.update_xaxes(range=[window[0], window[1]])
        fig.update_yaxes(range=[window[2], window[3]])
    return fig


def density_histogram(hist: dict, unit: str = "examples") -> go.Figure:
    """``unit``: what a feature fires on ("examples"; "tokens" for a token-level SAE)."""
    counts, edges = np.asarray(hist.get("counts", [])), np.asarray(hist.get("edges", []))
    fig = go.Figure()
    if len(counts):
        centres = (edges[:-1] + edges[1:]) / 2
        fig.add_trace(go.Bar(x=centres, y=counts, width=np.diff(edges), marker_color=class_color(0), name="live features",
                             hovertemplate="log10 density %{x:.2f}<br>%{y} features<extra></extra>"))
    dead = int(hist.get("dead", 0))
    styled(fig, f"Feature density ({dead} dead feature{'s' if dead != 1 else ''} not shown)", f"log10 share of {unit} a feature fires on", "features", height=340)
    return fig


def activation_histogram(counts: np.ndarray, edges: np.ndarray, interval_edges: np.ndarray | None = None, feature: int | None = None, unit: str = "examples") -> go.Figure:
    """``unit``: what was counted ("examples"; "tokens" for a token-level SAE)."""
    counts, edges = np.asarray(counts), np.asarray(edges)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=centres, y=counts, width=np.diff(edges), marker_color=class_color(0), name=unit,
                           hovertemplate=f"activation %{{x:.3f}}<br>%{{y}} {unit}<extra></extra>"))
    if interval_edges is not None:  # every other interval shaded, in one layout update
        fig.update_layout(shapes=[{"type": "rect", "xref": "x", "yref": "y domain", "x0": float(interval_edges[b]), "x1": float(interval_edges[b + 1]), "y0": 0, "y1": 1,
                                   "fillcolor": "grey", "opacity": 0.08, "line": {"width": 0}} for b in range(0, len(interval_edges) - 1, 2)])
    title = "Activation histogram" + (f" of feature {feature}" if feature is not None else "") + f" ({unit} where it fires)"
    return styled(fig, title, "activation", unit, height=320)


def per_text_loss(clean: list, spliced: list, names: list[str], what: str = "next-token loss") -> go.Figure:
    """Each held-out text's loss clean (x) against with the SAE spliced in (y) (``per_text_splice``)."""
    return per_text_splice(clean, spliced, names, what)


def per_text_splice(base: list, spliced: list, names: list[str], what: str, base_label: str = "clean", better: str = "lower") -> go.Figure:
    """Each held-out text's ``what`` with ``base_label`` (x: clean, or the block zeroed) against with the SAE spliced in
    (y), one dot per text (None: a text with no scored token, left out), with the line where they are equal; the title
    counts the texts the SAE leaves worse (``better``: "lower" for a loss, "higher" for a cosine)."""
    keep = [i for i, (a, b) in enumerate(zip(base, spliced)) if a is not None and b is not None]
    x, y = np.array([base[i] for i in keep], dtype=float), np.array([spliced[i] for i in keep], dtype=float)
    fig = go.Figure()
    if len(keep):
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"color": "#7f7f7f", "dash": "dash"}, name="no change", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", marker={"color": class_color(0), "size": 9}, name="held-out texts", text=[html.escape(names[i]) for i in keep],
                                 hovertemplate=f"%{{text}}<br>{base_label} %{{x:.3f}}<br>SAE spliced in %{{y:.3f}}<extra></extra>"))
    worse = int((y > x + 1e-9).sum() if better == "lower" else (y < x - 1e-9).sum())
    than = "" if base_label == "clean" else f" than with the {base_label}"
    styled(fig, f"Each held-out text's {what}<br><sup>{worse} of {len(keep)} worse with the SAE spliced in{than}</sup>", f"{what}, {base_label}", f"{what}, SAE spliced in", height=400)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0}, margin={"t": 70, "b": 90})
    return fig


def output_effects(promoted: list[str], promoted_values: np.ndarray, suppressed: list[str], suppressed_values: np.ndarray, what: str = "logit") -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("raises most", "lowers most"), horizontal_spacing=0.22)
    fig.add_trace(go.Bar(x=np.asarray(promoted_values), y=distinct(promoted), orientation="h", marker_color="#2ca02c", name="raises",
                         hovertemplate="%{y}: %{x:+.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=np.asarray(suppressed_values), y=distinct(suppressed), orientation="h", marker_color="#d62728", name="lowers",
                         hovertemplate="%{y}: %{x:+.3f}<extra></extra>"), row=1, col=2)
    styled(fig, "Effect on the outputs, per unit of activation", f"{what} change", "", height=max(320, 26 * max(len(promoted), len(suppressed)) + 110))
    fig.update_xaxes(title_text=f"{what} change")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(showlegend=False)
    return fig


def distinct(labels) -> list[str]:
    """Category labels that stay one bar each: a repeat (two byte-level tokens that both print as '\ufffd') gets zero-width
    spaces appended, so it reads the same but plotly does not stack it onto the first."""
    seen: dict[str, int] = {}
    out = []
    for label in map(str, labels):
        out.append(label + "\u200b" * seen.get(label, 0))
        seen[label] = seen.get(label, 0) + 1
    return out


def digit_gallery(images: np.ndarray, activations: np.ndarray, example_ids: np.ndarray, classes: list[str], columns: int = 10, title: str = "Top-activating digits") -> go.Figure:
    """A tiled grid of 8x8 images in one heatmap; every pixel's customdata is its example index."""
    images = np.asarray(images).reshape(len(images), 8, 8)
    n = len(images)
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    gap, caption = 1, 3  # blank pixels between tiles; rows leave room for a caption above each image
    tile_w, tile_h = 8 + gap, 8 + caption
    canvas = np.full((rows * tile_h, columns * tile_w - gap), np.nan)
    ids = np.full(canvas.shape, -1)
    for i in range(n):
        r, c = divmod(i, columns)
        top = r * tile_h + caption
        canvas[top : top + 8, c * tile_w : c * tile_w + 8] = images[i]
        ids[top : top + 8, c * tile_w : c * tile_w + 8] = example_ids[i]
    # A heatmap cannot be selected, so each digit carries a transparent marker at its centre: that is
    # what a click selects (customdata = the example). One layout update for all captions (one
    # add_annotation per image re-validated the growing list each time).
    fig = go.Figure(go.Heatmap(z=canvas.astype(np.float32), colorscale="Greys", showscale=False, hoverinfo="skip", xgap=0, ygap=0))
    rows_of, columns_of = np.divmod(np.arange(n), columns)
    fig.add_trace(_click_targets(columns_of * tile_w + 3.5, rows_of * tile_h + caption + 3.5, np.asarray(example_ids[:n]), size=36))
    captions = []
    for i in range(n):
        r, c = divmod(i, columns)
        captions.append({"x": c * tile_w + 3.5, "y": r * tile_h + 1.2, "text": f"{activations[i]:.2f} ({classes[i]})", "showarrow": False, "font": {"size": 11}})
    fig.update_layout(annotations=captions, showlegend=False)
    styled(fig, title, "", "", height=90 + rows * 125)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(clickmode="event+select", margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig


def toy_examples(X: np.ndarray, activations: np.ndarray, example_ids: np.ndarray, match: int | None, feature_names: list[str], title: str = "Top-activating examples") -> go.Figure:
    X = np.asarray(X)
    labels = [f"ex {i} ({a:.2f})" for i, a in zip(example_ids, activations)]
    fig = go.Figure(go.Heatmap(z=X, x=list(range(X.shape[1])), y=labels, colorscale="Blues", zmin=0, zmax=1,
                               colorbar={"title": {"text": "value"}, "thickness": 12}, hoverinfo="skip"))
    columns_of, rows_of = np.meshgrid(np.arange(X.shape[1]), np.arange(len(X)))  # a click target on every cell, which hovers the cell's value
    cells = [f"{labels[r]}<br>true feature {c}: {X[r, c]:.2f}" for r, c in zip(rows_of.ravel(), columns_of.ravel())]
    fig.add_trace(_click_targets(columns_of.ravel(), np.asarray(labels, dtype=object)[rows_of.ravel()], np.asarray(example_ids)[rows_of.ravel()], size=14, text=cells))
    if match is not None:
        fig.add_vrect(x0=match - 0.5, x1=match + 0.5, line={"color": "#d62728", "width": 2}, fillcolor="rgba(0,0,0,0)")
    styled(fig, title, "true feature of the toy model", "example (activation)", height=max(300, 22 * len(X) + 120))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(clickmode="event+select", showlegend=False)
    return fig


def _click_targets(x, y, example_ids: np.ndarray, size: int, text: list[str] | None = None) -> go.Scatter:
    """Invisible markers over a picture's examples: a heatmap cannot be selected, a marker can; a click
    selects the marker, whose customdata is the example to open. They carry the hover (``text``, or
    the example's number): the picture under them has none, since a trace without hover gets no clicks."""
    return go.Scatter(x=x, y=y, mode="markers", marker={"size": size, "color": "rgba(0,0,0,0)"}, customdata=example_ids, name="examples", text=text,
                      hovertemplate=("%{text}" if text is not None else "example %{customdata}") + "<br>click to open it<extra></extra>",
                      selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}})


def feature_contributions(frame: pd.DataFrame, labels: list[str], top: int = 20, title: str = "Features firing on this example") -> go.Figure:
    frame = frame.head(top)
    names = [f"#{int(f)} {labels[int(f)]}"[:48] for f in frame["feature"]]
    fig = go.Figure(go.Bar(
        x=frame["activation"], y=names, orientation="h", marker_color=class_color(0), customdata=frame["feature"].to_numpy(),
        text=[f"{s:.0%}" for s in frame["share"]], textposition="outside",
        hovertemplate="%{y}<br>activation %{x:.3f}<br>share of reconstruction %{text}<extra></extra>",
    ))
    styled(fig, title, "activation", "feature", height=max(300, 26 * len(frame) + 110))
    fig.update_xaxes(range=[0, float(frame["activation"].max()) * 1.18 if len(frame) else 1])
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(clickmode="event+select", margin={"l": 240})
    return fig


def sweep_chart(rows: list[dict]) -> go.Figure:
    frame = pd.DataFrame(rows)
    fig = go.Figure()
    for i, (group, part) in enumerate(frame.groupby("group", sort=False)):
        part = part.sort_values("l0")
        fig.add_trace(go.Scatter(
            x=part["l0"], y=part["explained_variance"], mode="lines+markers", name=str(group),
            marker={"size": 10, "color": class_color(i)}, line={"color": class_color(i), "width": 1},
            hovertext=[f"{r.get('label', '')}<br>L0 {r['l0']:.1f}, explained variance {r['explained_variance']:.3f}" for r in part.to_dict("records")], hoverinfo="text",
        ))
    current = frame[frame.get("this", False) == True] if "this" in frame else frame.iloc[:0]  # noqa: E712
    if len(current):
        fig.add_trace(go.Scatter(x=current["l0"], y=current["explained_variance"], mode="markers", name="this SAE",
                                 marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}}, hoverinfo="skip"))
    styled(fig, "Sparsity / quality sweep", "L0 (mean active features per example)", "explained variance (held-out)", height=380)
    if frame["l0"].min() > 0 and frame["l0"].max() / frame["l0"].min() > 8:
        fig.update_xaxes(type="log")
    return fig


def splice_chart(metrics: dict) -> go.Figure:
    modes = [("clean", "clean model"), ("sae", "SAE spliced in"), ("zero", "layer zeroed")]
    accuracy = [metrics.get(f"accuracy_{m}", np.nan) for m, _ in modes]
    loss = [metrics.get(f"loss_{m}", np.nan) for m, _ in modes]
    names = [label for _, label in modes]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", metrics.get("loss_kind", "loss")), horizontal_spacing=0.15)
    colors = ["#2ca02c", class_color(0), "#7f7f7f"]
    fig.add_trace(go.Bar(x=names, y=accuracy, marker_color=colors, text=[f"{a:.3f}" for a in accuracy], textposition="outside", name="accuracy"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=loss, marker_color=colors, text=[f"{v:.3f}" for v in loss], textposition="outside", name="loss"), row=1, col=2)
    score = metrics.get("loss_recovered")
    title = "The model with the SAE spliced in" + (f" (loss recovered {score:.1%})" if score == score and score is not None else "")
    styled(fig, title, "", "accuracy", height=360)
    fig.update_yaxes(title_text=metrics.get("loss_kind", "loss"), row=1, col=2)
    fig.update_yaxes(range=[0, 1.15], row=1, col=1)
    fig.update_yaxes(range=[0, max([v for v in loss if v == v] + [1e-6]) * 1.2], row=1, col=2)
    fig.update_layout(showlegend=False)
    return fig


def cosine_splice_chart(metrics: dict) -> go.Figure:
    """An encoder's splice: the mean cosine between the held-out texts' sentence embeddings clean and with the SAE's
    reconstruction spliced in (``cosine_sae``) or the layer zeroed (``cosine_zero``); clean is 1 by definition."""
    names = ["clean model", "SAE spliced in", "block zeroed"]
    values = [1.0, float(metrics["cosine_sae"]), float(metrics["cosine_zero"])]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=["#2ca02c", class_color(0), "#7f7f7f"], text=[f"{v:.3f}" for v in values], textposition="outside"))
    styled(fig, f"The sentence embedding with the SAE spliced in (cosine {values[1]:.3f})", "", "cosine with the clean embedding", height=360)
    fig.update_yaxes(range=[min(0.0, min(values) * 1.15), 1.15])
    fig.update_layout(showlegend=False)
    return fig


def recovery_chart(best_cosine: np.ndarray, mmcs: float) -> go.Figure:
    order = np.argsort(-np.asarray(best_cosine))
    values = np.asarray(best_cosine)[order]
    fig = go.Figure(go.Bar(x=list(range(len(values))), y=values, marker_color=class_color(2), customdata=order,
                           hovertemplate="true feature %{customdata}<br>best cosine %{y:.3f}<extra></extra>", name="best cosine"))
    fig.add_hline(y=mmcs, line_dash="dash", line_color="black")
    styled(fig, f"Recovery of the toy model's true features (MMCS {mmcs:.3f})", "true features, best recovered first", "best cosine with a decoder row", height=340)
    fig.update_yaxes(range=[0, 1.05])
    return fig


def training_curve(history: dict) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    steps = history.get("step", [])
    fig.add_trace(go.Scatter(x=steps, y=history.get("explained_variance", []), name="explained variance", mode="lines", line={"color": class_color(0)}), secondary_y=False)
    fig.add_trace(go.Scatter(x=steps, y=history.get("l0", []), name="L0", mode="lines", line={"color": class_color(1)}), secondary_y=True)
    styled(fig, "SAE training", "optimiser step", "explained variance (batch)", height=340)
    l0 = [v for v in history.get("l0", []) if v == v] or [1.0]
    top = max(l0) * 1.2
    fig.update_yaxes(title_text="L0", secondary_y=True, range=[0, top], tickmode="linear", tick0=0, dtick=max(1, int(np.ceil(top / 5))), showgrid=False)
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0}, margin={"t": 80})
    return fig


def class_share_chart(share: np.ndarray, names: list[str], top: int = 10) -> go.Figure:
    share = np.asarray(share)
    order = np.argsort(-share)[:top]
    fig = go.Figure(go.Bar(x=share[order], y=[str(names[i]) for i in order], orientation="h", marker_color=[class_color(int(i)) for i in order],
                           text=[f"{s:.0%}" for s in share[order]], textposition="outside"))
    styled(fig, "Where the activation falls, by class", "share of the feature's total activation", "class", height=max(280, 26 * len(order) + 110))
    fig.update_xaxes(range=[0, 1.15])
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def highlight_tokens_html(tokens: list[str], activations: np.ndarray, max_activation: float, focus: int | None = None) -> str:
    """Tokens as running text, each shaded by the feature's activation (0 = white, max = full orange);
    WordPiece continuations (##) are joined to the previous token; the focus token is underlined."""
    scale = max(float(max_activation), 1e-9)
    parts = []
    for i, (token, value) in enumerate(zip(tokens, np.asarray(activations, dtype=float))):
        text = token[2:] if token.startswith("##") else (" " + token if i else token)
        alpha = min(max(value / scale, 0.0), 1.0)
        style = f"background: rgba(255,140,0,{alpha:.2f}); border-radius: 3px; padding: 0 1px;"
        if i == focus:
            style += " border-bottom: 2px solid #d62728; font-weight: 600;"
        title = f"{token}: {value:.3f}" if value > 0 else token
        lead = " " if text.startswith(" ") else ""
        parts.append(f'{lead}<span style="{style}" title="{_escape(title)}">{_escape(text.strip())}</span>')
    return "".join(parts)


def _escape(text: str) -> str:
    """HTML-escape, and turn Markdown's special characters into entities (st.markdown reads the HTML too)."""
    return "".join(f"&#{ord(c)};" if c in "\\`*_{}[]()#+-!|~$" else html.escape(c) for c in text)


def steer_chart(labels: list[str], before: np.ndarray, after: np.ndarray, title: str, top: int = 10, x_title: str = "class") -> go.Figure:
    """Class probabilities before and after a steering edit as side-by-side bars, classes ordered by
    the larger of the two (at most ``top`` classes)."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    order = np.argsort(-np.maximum(before, after), kind="stable")[:top]
    names = [str(labels[i]) for i in order]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=before[order], name="before", marker_color="#9e9e9e", text=[f"{v:.2f}" for v in before[order]], textposition="outside",
                         hovertemplate="%{x}: %{y:.4f} before<extra></extra>"))
    fig.add_trace(go.Bar(x=names, y=after[order], name="after", marker_color=class_color(0), text=[f"{v:.2f}" for v in after[order]], textposition="outside",
                         hovertemplate="%{x}: %{y:.4f} after<extra></extra>"))
    styled(fig, title, x_title, "probability", height=360)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.15])
    return fig


def circuit_chart(edges: list[dict], labels: list[str], feature: int, upstream: str) -> go.Figure:
    """A downstream feature's top upstream features (``edges``: rows {upstream, weight, ablation_drop,
    n_examples}, strongest first) as paired horizontal bars: the weight-only connection and the mean
    drop of the feature's activation when the upstream feature is ablated. ``customdata`` holds the
    upstream feature (a click opens it)."""
    names = [f"{e['upstream']}" + (f" ({labels[e['upstream']][:18]})" if labels[e["upstream"]] else "") for e in edges]
    ids = [[e["upstream"]] for e in edges]
    drops = [0.0 if e["ablation_drop"] is None else e["ablation_drop"] for e in edges]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[e["weight"] for e in edges], orientation="h", name="weight (from the weights alone)", marker_color="#9e9e9e", customdata=ids,
                         hovertemplate="upstream %{customdata[0]}: weight %{x:.3f}<extra></extra>"))
    fig.add_trace(go.Bar(y=names, x=drops, orientation="h", name="ablation drop (on real examples)", marker_color=class_color(0), customdata=ids,
                         text=["never fire together" if e["ablation_drop"] is None else f"n={e['n_examples']}" for e in edges], textposition="outside",
                         hovertemplate="upstream %{customdata[0]}: activation drops by %{x:.3f} when it is zeroed<extra></extra>"))
    styled(fig, f"Upstream features of feature {feature} (in {upstream})", f"effect on feature {feature}", "upstream feature", height=max(320, 44 * len(edges) + 120))
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.18})
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def arch_comparison(rows: list[dict], titles: dict[str, str] | None = None) -> go.Figure:
    """All architectures on one chart: MMCS on the flat and on the hierarchical toy, and absorption on
    the hierarchical toy, one group of bars per architecture. ``rows``: {toy: "flat" | "hierarchical",
    arch, mmcs, absorption, l0, explained_variance}."""
    titles = titles or {}
    archs = list(dict.fromkeys(row["arch"] for row in rows))
    names = [titles.get(a, a) for a in archs]
    value = {(row["toy"], row["arch"]): row for row in rows}
    series = [("flat", "mmcs", "MMCS, flat toy (higher is better)", class_color(0)),
              ("hierarchical", "mmcs", "MMCS, hierarchical toy (higher is better)", class_color(2)),
              ("hierarchical", "absorption", "absorption, hierarchical toy (lower is better)", "#d62728")]
    fig = go.Figure()
    for toy, key, label, color in series:
        ys = [value.get((toy, a), {}).get(key) for a in archs]
        if all(y is None for y in ys):
            continue
        extra = [value.get((toy, a), {}) for a in archs]
        fig.add_trace(go.Bar(x=names, y=[np.nan if y is None else y for y in ys], name=label, marker_color=color,
                             text=["" if y is None else f"{y:.2f}" for y in ys], textposition="outside",
                             customdata=[[e.get("l0", np.nan), e.get("explained_variance", np.nan)] for e in extra],
                             hovertemplate="%{x}: %{y:.3f}<br>L0 %{customdata[0]:.2f}, explained variance %{customdata[1]:.3f}<extra>" + label + "</extra>"))
    styled(fig, "SAE architectures on a flat and a hierarchical toy", "architecture", "MMCS / absorption rate", height=400)
    fig.update_layout(barmode="group", legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0.0}, margin={"b": 110})
    fig.update_yaxes(range=[0, 1.12])
    fig.update_xaxes(type="category")
    return fig
