"""Figures of the Prototypes page: gallery, weights, latent map, "this looks like that", uncertainty.

Pictures follow the data's modality: images as grey heatmaps, series as curves, table rows as a
heatmap of z-scores (colour) with the raw values on hover. Builders take arrays from
``interp_core.families.prototypes.explain`` and compute nothing but layout.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from interp_core.figures.common import class_color, how_to_read, styled

how_to_read("prototype_gallery", "Each tile is one prototype decoded back into the input space, titled with its number, its class and its purity (share of its 10 nearest training examples in that class); hover for its weight to every class. Series show the nearest real training curve dotted.")
how_to_read("prototype_gallery_pushed", "Each tile is the real training example a prototype was pushed onto, titled with the prototype's number, class and purity (share of its 10 nearest training examples in that class); hover for its weight to every class.")
how_to_read("prototype_profiles", "Each row is one prototype decoded back into the 30 measurements: colour is the value in standard deviations from the training mean (red high, blue low); hover for the value in the data's units.")
how_to_read("prototype_weights", "The last layer: the weight from each prototype (row) to each class (column), red positive and blue negative. A class's logit is the sum over prototypes of similarity x weight, so a large weight means 'close to this prototype counts for this class'.")
how_to_read("latent_map", "Encoded test examples (solid) over training examples (faint; at most 400 of them) in 2-D, coloured by true class, crosses for wrong predictions; stars are the prototypes. Click a test point to explain it below; click a star to see that prototype's nearest training examples.")
how_to_read("looks_like_that", "The selected example beside its most similar prototypes (decoded), each titled with its class, similarity and contribution to the predicted class's logit.")
how_to_read("prototype_contributions", "Every prototype's contribution to the predicted class's logit: (similarity - its average over the training set) x weight. The bars add up exactly to how far this logit sits above its training average, so the longest positive bars are the reasons for the decision.")
how_to_read("similarity_spread", "Similarity to each of the most similar prototypes across sampled prototype sets: the dot is the mean, the bar one standard deviation either side. Overlapping bars mean the ranking of prototypes is uncertain.")
how_to_read("predictive_distribution", "Class probabilities averaged over sampled prototype sets, with one standard deviation as error bars: the predicted class is green when it is the true class and red when it is not; the true class is outlined.")
how_to_read("nearest_training_examples", "The selected prototype (first tile) and its 10 nearest encoded training examples, nearest first, each with its class and latent distance: a pure prototype's neighbours all share its class.")
how_to_read("uncertainty_by_correctness", "Predictive entropy of the sampled model for test examples it classifies correctly vs wrongly; the more the wrong ones sit to the right, the better uncertainty flags errors (that is what the AUROC measures).")


def prototype_label(j: int, prototype_class: np.ndarray, class_names: list[str]) -> str:
    return f"P{j} ({class_names[int(prototype_class[j])]})"


def _grid(n: int, columns: int) -> tuple[int, int]:
    columns = max(1, min(columns, n))
    return math.ceil(n / columns), columns


def _subplot_grid(rows: int, cols: int, titles: list[str], horizontal_spacing: float, vertical_spacing: float) -> tuple[dict, list[dict]]:
    """The layout make_subplots(rows, cols, subplot_titles=titles) builds (axes domains, anchors and
    title annotations, row 1 on top), as plain dicts: make_subplots and per-axis updates took about a
    second of Plotly's validation for a gallery of 20 tiles; a figure built from dicts takes a tenth."""
    width = (1 - horizontal_spacing * (cols - 1)) / cols
    height = (1 - vertical_spacing * (rows - 1)) / rows
    layout: dict = {}
    annotations = []
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        suffix = "" if i == 0 else str(i + 1)
        x0 = c * (width + horizontal_spacing)
        y1 = 1 - r * (height + vertical_spacing)
        clip = lambda v: min(1.0, max(0.0, round(v, 6)))  # noqa: E731 - float sums may leave [0, 1] by 1e-16
        layout[f"xaxis{suffix}"] = {"domain": [clip(x0), clip(x0 + width)], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"domain": [clip(y1 - height), clip(y1)], "anchor": f"x{suffix}"}
        if i < len(titles):
            annotations.append({"text": titles[i], "x": x0 + width / 2, "y": y1, "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                                "showarrow": False, "font": {"size": 10}})
    return layout, annotations


def picture_grid(
    pictures: np.ndarray,
    titles: list[str],
    modality: str,
    title: str,
    columns: int = 10,
    references: np.ndarray | None = None,
    colors: list[str] | None = None,
    tile_height: int = 120,
    overlay: np.ndarray | None = None,
    overlay_name: str = "selected example",
    notes: list[str] | None = None,
) -> go.Figure:
    """Small multiples of images (n, c, h, w) or series (n, channels, t), one titled tile each.

    ``references`` (n, ...) adds a dotted comparison curve per series tile; ``overlay`` (channels, t)
    draws the same curve (e.g. the example being explained) in every series tile; ``notes`` adds a line
    per tile to its hover text (e.g. the prototype's weight to every class)."""
    pictures = np.asarray(pictures)
    n = len(pictures)
    rows, cols = _grid(n, columns)
    hover_notes = [f"<br>{note}" for note in notes] if notes else [""] * n
    lines = max((t.count("<br>") + 1 for t in titles), default=1)  # subplot titles may span lines
    height = max(260, rows * (tile_height + 14 * lines) + 90)
    gap = 14 * lines + (30 if modality == "image" else 60)  # series tiles need room for their tick labels
    height += (rows - 1) * (gap - 44) if modality != "image" else 0
    spacing = min(0.3, gap / height) if rows > 1 else 0.1
    layout, annotations = _subplot_grid(rows, cols, titles, 0.02 if modality == "image" else 0.04, spacing)
    axis = lambda i: "" if i == 0 else str(i + 1)  # noqa: E731
    data = []
    if modality == "image":
        lo, hi = float(pictures.min()), float(pictures.max())
        for i, picture in enumerate(pictures):
            image = picture[0] if picture.ndim == 3 else picture
            trace = {
                "type": "heatmap", "z": np.round(image[::-1], 3), "colorscale": "Greys", "zmin": lo, "zmax": hi, "showscale": i == 0,
                "hovertemplate": f"{titles[i]}<br>row %{{customdata}}, column %{{x}}<br>value %{{z:.2f}}{hover_notes[i]}<extra></extra>",
                "customdata": np.repeat(np.arange(image.shape[0])[::-1, None], image.shape[1], axis=1), "xaxis": f"x{axis(i)}", "yaxis": f"y{axis(i)}",
            }
            if i == 0:
                trace["colorbar"] = {"title": {"text": "value"}, "len": 0.6}
            data.append(trace)
        for i in range(rows * cols):  # no ticks, no grid; keep every tile square
            layout[f"xaxis{axis(i)}"].update(showticklabels=False, showgrid=False, zeroline=False)
            layout[f"yaxis{axis(i)}"].update(showticklabels=False, showgrid=False, zeroline=False, scaleanchor=f"x{axis(i)}", constrain="domain")
    else:
        for i, picture in enumerate(pictures):
            color = (colors or [class_color(0)] * n)[i]
            where = {"xaxis": f"x{axis(i)}", "yaxis": f"y{axis(i)}"}
            for c in range(picture.shape[0]):
                if overlay is not None:
                    data.append({"type": "scatter", "y": np.round(overlay[c], 4), "mode": "lines", "line": {"color": "black", "width": 1.5}, "name": overlay_name, "legendgroup": "overlay", "showlegend": i == 0 and c == 0, **where})
                data.append({"type": "scatter", "y": np.round(picture[c], 4), "mode": "lines", "line": {"color": color, "width": 2}, "name": titles[i], "showlegend": False,
                             "hovertemplate": f"{titles[i]}<br>step %{{x}}: %{{y:.2f}}{hover_notes[i]}<extra></extra>", **where})
                if references is not None:
                    data.append({"type": "scatter", "y": np.round(references[i][c], 4), "mode": "lines", "line": {"color": "grey", "width": 1, "dash": "dot"}, "name": "nearest training example",
                                 "legendgroup": "ref", "showlegend": i == 0 and c == 0, "hovertemplate": "nearest training example<br>step %{x}: %{y:.2f}<extra></extra>", **where})
    fig = go.Figure({"data": data, "layout": {**layout, "annotations": annotations}})
    styled(fig, title, "", "", height=height)
    if modality != "image":
        titles_layout = {f"yaxis{axis(r * cols)}": {"title": {"text": "value"}} for r in range(rows)}
        titles_layout[f"xaxis{axis((rows - 1) * cols)}"] = {"title": {"text": "time step"}}
        fig.update_layout(titles_layout)
        fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0 + (40 + 14 * lines) / height, "x": 1.0, "xanchor": "right"}, margin={"t": 90 + 14 * lines})
    else:
        fig.update_layout(margin={"l": 20, "r": 20, "t": 60 + 14 * lines, "b": 20})
    return fig


def profile_heatmap(scaled: np.ndarray, raw: np.ndarray, row_labels: list[str], feature_names: list[str], title: str) -> go.Figure:
    """Table rows as a heatmap: colour = z-score (scaled units), hover = value in the data's units."""
    scaled, raw = np.asarray(scaled).reshape(len(row_labels), -1), np.asarray(raw).reshape(len(row_labels), -1)
    limit = float(max(1.0, np.nanpercentile(np.abs(scaled), 98)))
    fig = go.Figure(go.Heatmap(
        z=scaled, x=feature_names, y=row_labels, colorscale="RdBu_r", zmid=0, zmin=-limit, zmax=limit,
        customdata=raw, colorbar={"title": "z-score"},
        hovertemplate="%{y}<br>%{x}: %{customdata:.4g}<br>%{z:.2f} SD from the mean<extra></extra>",
    ))
    styled(fig, title, "feature", "", height=max(260, 32 * len(row_labels) + 230))
    fig.update_xaxes(tickangle=-45, tickfont={"size": 10}, tickmode="array", tickvals=list(feature_names))  # every feature named
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(margin={"b": 170})
    return fig


def weight_heatmap(weights: np.ndarray, prototype_class: np.ndarray, class_names: list[str]) -> go.Figure:
    """weights (m, K): prototype -> class weights of the last layer, diverging colours centred on 0."""
    weights = np.asarray(weights)
    labels = [prototype_label(j, prototype_class, class_names) for j in range(len(weights))]
    limit = float(np.abs(weights).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=weights, x=[str(c) for c in class_names], y=labels, colorscale="RdBu_r", zmid=0, zmin=-limit, zmax=limit,  # red positive, as the profiles' red is high
        texttemplate="%{z:.2f}" if weights.size <= 60 else None, textfont={"size": 10},
        # a slim bar, its title turned on its side: the chart sits in a narrow column, where the ticks of
        # a default bar were cut off
        colorbar={"title": {"text": "weight", "side": "right"}, "thickness": 10, "nticks": 5, "xpad": 4},
        hovertemplate="%{y} -> class %{x}: weight %{z:.3f}<extra></extra>",
    ))
    styled(fig, "Last-layer weights", "class", "prototype", height=max(300, 22 * len(labels) + 120))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


TRAIN_SHOWN = 400  # training examples drawn faintly behind a latent map


def latent_map(
    coords: np.ndarray,
    n_train: int,
    y_train: np.ndarray,
    y_test: np.ndarray,
    predictions: np.ndarray,
    prototype_class: np.ndarray,
    class_names: list[str],
    selected_example: int | None = None,
    selected_prototype: int | None = None,
    method: str = "PCA",
    show_train: bool = True,
) -> go.Figure:
    """coords rows: n_train training points, then the test points, then the prototypes.

    customdata is [kind, index] with kind 0 = test example, 1 = training example, 2 = prototype."""
    coords = np.asarray(coords)
    n_test = len(y_test)
    train_xy, test_xy, proto_xy = coords[:n_train], coords[n_train : n_train + n_test], coords[n_train + n_test :]
    fig = go.Figure()
    if show_train and n_train:
        # Context only, redrawn by the browser on every click that moves a highlight: at most
        # TRAIN_SHOWN of them (an even sample, the same every time; digits has 1,347), coloured by
        # class through a stepped colour scale (a colour string per point cost 0.2 s of validation).
        shown = np.sort(np.random.default_rng(0).choice(n_train, TRAIN_SHOWN, replace=False)) if n_train > TRAIN_SHOWN else np.arange(n_train)
        n_classes = len(class_names)
        steps = [[edge, class_color(k)] for k in range(n_classes) for edge in (k / n_classes, (k + 1) / n_classes)]
        fig.add_trace(go.Scatter(
            x=train_xy[shown, 0], y=train_xy[shown, 1], mode="markers", name="training examples" if len(shown) == n_train else f"training examples ({len(shown)} of {n_train:,})",
            marker={"color": np.asarray(y_train)[shown], "colorscale": steps, "cmin": -0.5, "cmax": n_classes - 0.5, "showscale": False, "size": 5, "opacity": 0.25},
            customdata=np.stack([np.ones(len(shown), dtype=int), shown], axis=1),
            hoverinfo="skip",  # context only: a click lands on the test point or prototype under it
        ))
    index = np.arange(n_test)
    for k, name in enumerate(class_names):
        members = index[np.asarray(y_test) == k]
        if not len(members):
            continue
        wrong = np.asarray(predictions)[members] != k
        fig.add_trace(go.Scatter(
            x=test_xy[members, 0], y=test_xy[members, 1], mode="markers", name=f"class {name}",
            marker={"color": class_color(k), "size": 8, "symbol": np.where(wrong, "x", "circle"), "line": {"width": 0.5, "color": "white"}},
            customdata=np.stack([np.zeros(len(members), dtype=int), members], axis=1),
            hovertext=[f"test example {i}<br>class {name}<br>predicted {class_names[int(predictions[i])]}" for i in members], hoverinfo="text",
        ))
    m = len(proto_xy)
    fig.add_trace(go.Scatter(
        x=proto_xy[:, 0], y=proto_xy[:, 1], mode="markers+text", name="prototypes",
        marker={"symbol": "star", "size": 22, "color": [class_color(int(c)) for c in prototype_class], "line": {"width": 1.5, "color": "black"}},
        text=[f"P{j}" for j in range(m)], textposition="top center", textfont={"size": 11},
        customdata=np.stack([np.full(m, 2), np.arange(m)], axis=1),
        hovertext=[f"prototype P{j}<br>class {class_names[int(c)]}<br>click for its nearest training examples" for j, c in enumerate(prototype_class)], hoverinfo="text",
    ))
    # Plotly gives a click to the nearest marker, but a large marker never scores below 1 - 3/radius:
    # small invisible markers on the prototypes make a click near a star's centre always open it.
    fig.add_trace(go.Scatter(
        x=proto_xy[:, 0], y=proto_xy[:, 1], mode="markers", name="prototype centres", showlegend=False,
        marker={"size": 6, "color": "rgba(0,0,0,0)"}, customdata=np.stack([np.full(m, 2), np.arange(m)], axis=1),
        hovertext=[f"prototype P{j}<br>class {class_names[int(c)]}<br>click for its nearest training examples" for j, c in enumerate(prototype_class)], hoverinfo="text",
    ))
    if selected_example is not None and 0 <= selected_example < n_test:
        fig.add_trace(go.Scatter(
            x=[test_xy[selected_example, 0]], y=[test_xy[selected_example, 1]], mode="markers", name=f"example {selected_example}",
            marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}},
            customdata=[[0, selected_example]], hoverinfo="skip",
        ))
    if selected_prototype is not None and 0 <= selected_prototype < m:
        fig.add_trace(go.Scatter(
            x=[proto_xy[selected_prototype, 0]], y=[proto_xy[selected_prototype, 1]], mode="markers", name=f"P{selected_prototype}",
            marker={"size": 34, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "black"}, "symbol": "circle"},
            customdata=[[2, selected_prototype]], hoverinfo="skip",
        ))
    styled(fig, f"Latent map ({method})", f"{method} 1", f"{method} 2", height=620)
    # legend under the plot so the map keeps the column's full width for clicking
    fig.update_layout(clickmode="event+select", dragmode="pan", legend={"itemsizing": "constant", "orientation": "h", "yanchor": "top", "y": -0.17, "x": 0.0})  # below the axis title
    return fig


def looks_like_that(
    example: np.ndarray,
    pictures: np.ndarray,
    titles: list[str],
    modality: str,
    example_title: str,
    colors: list[str],
    feature_names: list[str] | None = None,
    example_scaled: np.ndarray | None = None,
    pictures_scaled: np.ndarray | None = None,
) -> go.Figure:
    """The example beside its top prototypes: image tiles, series overlays, or table-row heatmap."""
    title = "This looks like that"
    if modality == "image":
        return picture_grid(np.concatenate([np.asarray(example)[None], np.asarray(pictures)]), [example_title, *titles], "image", title, columns=len(titles) + 1, tile_height=230)
    if modality == "series":
        return picture_grid(np.asarray(pictures), titles, "series", title, columns=len(titles), colors=colors, overlay=np.asarray(example), overlay_name=example_title, tile_height=240)
    names = feature_names or [f"feature {i}" for i in range(np.asarray(example).size)]
    title += "<br><sup>the example, then its most similar prototypes with their contribution</sup>"
    scaled = np.concatenate([np.asarray(example_scaled).reshape(1, -1), np.asarray(pictures_scaled).reshape(len(titles), -1)])
    raw = np.concatenate([np.asarray(example).reshape(1, -1), np.asarray(pictures).reshape(len(titles), -1)])
    fig = profile_heatmap(scaled, raw, [example_title, *[t.split("<br>")[0] + (": " + t.rsplit(" ", 1)[-1] if "<br>" in t else "") for t in titles]], names, title)
    fig.update_layout(margin={"t": 75})
    return fig


def prototype_contributions(
    contributions: np.ndarray,
    similarities: np.ndarray,
    prototype_class: np.ndarray,
    class_names: list[str],
    predicted: int,
    logit: float,
    highlight: list[int] | None = None,
    baseline_logit: float = 0.0,
) -> go.Figure:
    """Horizontal bars: every prototype's contribution to the predicted class's logit, largest on top."""
    contributions = np.asarray(contributions)
    order = np.argsort(-contributions, kind="stable")
    labels = [prototype_label(int(j), prototype_class, class_names) for j in order]
    highlight = set(highlight or [])
    fig = go.Figure(go.Bar(
        x=contributions[order], y=labels, orientation="h",
        marker={"color": [class_color(int(prototype_class[j])) for j in order], "line": {"width": [2.5 if j in highlight else 0 for j in order], "color": "black"}},
        customdata=np.asarray(similarities)[order],
        hovertemplate="%{y}<br>contribution %{x:.3f}<br>similarity %{customdata:.3f}<extra></extra>",
    ))
    fig.add_vline(x=0, line_color="grey", line_width=1)
    title = f"Why class {class_names[predicted]}?<br><sup>bars add up to {logit - baseline_logit:+.2f} = logit {logit:.2f} - training average {baseline_logit:.2f}</sup>"
    styled(fig, title, f"contribution to the logit of class {class_names[predicted]}", "prototype", height=max(300, 20 * len(labels) + 140))
    fig.update_layout(margin={"t": 75})
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def similarity_spread(means: np.ndarray, stds: np.ndarray, labels: list[str], colors: list[str]) -> go.Figure:
    """Mean similarity with one standard deviation across sampled prototype sets, for a few prototypes."""
    fig = go.Figure(go.Scatter(
        x=np.asarray(means), y=labels, mode="markers", error_x={"type": "data", "array": np.asarray(stds), "thickness": 2, "width": 6},
        marker={"size": 11, "color": colors}, hovertemplate="%{y}<br>similarity %{x:.3f}<extra></extra>",
    ))
    styled(fig, "Similarity spread<br><sup>across sampled prototype sets, mean +/- 1 SD</sup>", "similarity", "prototype", height=max(240, 34 * len(labels) + 130))
    fig.update_layout(margin={"t": 75})
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def predictive_distribution(mean: np.ndarray, std: np.ndarray, class_names: list[str], true_class: int | None = None) -> go.Figure:
    from interp_core.figures.models import probability_colors

    mean, std = np.asarray(mean), np.asarray(std)
    outline = [3 if k == true_class else 0 for k in range(len(class_names))]
    fig = go.Figure(go.Bar(
        x=mean, y=[str(c) for c in class_names], orientation="h", error_x={"type": "data", "array": std},
        marker={"color": probability_colors(mean, true_class), "line": {"width": outline, "color": "black"}},
        text=[f"{p:.2f}" for p in mean], textposition="outside",
    ))
    styled(fig, "Predictive distribution", "probability", "class", height=max(260, 28 * len(class_names) + 100))
    fig.update_xaxes(range=[0, 1.15])
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def uncertainty_by_correctness(uncertainty: np.ndarray, wrong: np.ndarray, label: str = "predictive entropy (nats)") -> go.Figure:
    uncertainty, wrong = np.asarray(uncertainty), np.asarray(wrong, dtype=bool)
    fig = go.Figure()
    for name, members, color in (("right", ~wrong, class_color(2)), ("wrong", wrong, class_color(3))):
        fig.add_trace(go.Box(x=uncertainty[members], name=f"{name} ({int(members.sum())})", marker_color=color, boxpoints="all", jitter=0.4, pointpos=0, orientation="h"))
    styled(fig, "Uncertainty of right vs wrong test predictions", label, "test predictions", height=280)
    fig.update_layout(showlegend=False)
    return fig
