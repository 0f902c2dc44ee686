"""Figures about a trained model as a whole and about one example: training curve, embedding
map, the input itself, the predicted class probabilities."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.figures.common import class_color, density_layer, how_to_read, map_sample, sampled_note, scatter_type, styled

how_to_read("training_curve", "Loss per epoch on the training batches (left axis) and the validation metric (right axis); the dotted line marks the epoch whose weights were kept.")
how_to_read("embedding_map", "Each dot is a test example placed by the model's last hidden layer (nearby dots look alike to the model); colour is the true class, a cross marks a wrong prediction. Click a dot to select that example. Past 5,000 examples a sample is drawn (every wrong prediction kept) over grey cells that count them all.")
how_to_read("example_input", "The selected example as the model sees it, in the data's own units.")
how_to_read("example_input_scaled", "The selected example's measurements, each in standard deviations (SD) from its training mean, so features of very different units compare; the number at each bar is the value in the data's units.")
how_to_read("next_tokens", "The language model's most probable next tokens after the chosen text, most probable first: each bar is the probability the model gives that token as the very next one (the rest of its vocabulary shares what is left). One tall bar is a confident guess; several similar bars mean the model sees several plausible continuations.")
how_to_read("class_probabilities", "The model's predicted probability for each class on the selected example: the predicted class is green when it is the true class and red when it is not; the true class is outlined.")


def training_curve(history: dict, best_epoch: int | None = None, metric_name: str = "validation accuracy") -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    epochs = history.get("epoch", [])
    fig.add_trace(go.Scatter(x=epochs, y=history.get("train_loss", []), name="training loss", mode="lines", line={"color": class_color(0)}), secondary_y=False)
    if any(v == v for v in history.get("val_loss", [])):  # skip an all-NaN curve
        fig.add_trace(go.Scatter(x=epochs, y=history.get("val_loss", []), name="validation loss", mode="lines", line={"color": class_color(0), "dash": "dot"}), secondary_y=False)
    fig.add_trace(go.Scatter(x=epochs, y=history.get("val_metric", []), name=metric_name, mode="lines", line={"color": class_color(1)}), secondary_y=True)
    if best_epoch:
        fig.add_vline(x=best_epoch, line_dash="dot", line_color="grey", annotation_text="kept", annotation_position="top")
    styled(fig, "Training curve", "epoch", "loss", height=360)
    # The legend under the axis: above the plot, in half a page (Compare) or presenting, its three
    # entries wrapped onto three rows and covered the top of the curves.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0.0}, margin={"t": 50, "b": 100}, height=400)
    # Plotly syncs the second axis's ticks to the first by default, which gives labels like 0.213.
    fig.update_yaxes(title_text=metric_name, secondary_y=True, tickmode="auto", showgrid=False, range=[0, 1.02] if "accuracy" in metric_name else None)
    return fig


def embedding_map(
    coords: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    predictions: np.ndarray | None = None,
    selected: int | None = None,
    method: str = "PCA",
    layer: str | None = None,
) -> go.Figure:
    """Scatter of a 2-D map; customdata carries each point's example index for click selection.
    ``layer``: the layer the map is made from, when it is not the last hidden one (a user's model).

    A large map (a user's data) stays responsive: above ``WEBGL_POINTS`` it draws with WebGL, and
    above ``MAP_POINTS`` it draws a sample stratified by class (every wrong prediction kept, up to a
    quarter of the sample, and the selected example), over grey cells that count every example; the
    legend and the title give the true counts."""
    fig = go.Figure()
    coords = np.asarray(coords)
    labels = np.asarray(labels)
    n = len(labels)
    index = np.arange(n)
    wrong_all = np.asarray(predictions) != labels if predictions is not None else np.zeros(n, dtype=bool)
    drawn = np.zeros(n, dtype=bool)
    drawn[map_sample(labels, keep=np.flatnonzero(wrong_all), always=[selected])] = True
    sampled = not drawn.all()
    if sampled:
        fig.add_trace(density_layer(coords))
    trace = scatter_type(int(drawn.sum()))
    names = np.array([html.escape(str(c)) for c in class_names], dtype=object)
    for k, name in enumerate(class_names):
        total = int((labels == k).sum())
        label = f"{name} ({total:,})" if sampled else str(name)
        # Right and wrong predictions are two traces of one legend entry, each with one symbol (a
        # per-point symbol array cost Plotly seconds of validation on a large map).
        for wrong in (False, True):
            members = index[(labels == k) & drawn & (wrong_all == wrong)]
            if not len(members):
                continue
            if predictions is None:
                predicted, text = "", None
            elif wrong:
                predicted, text = "<br>predicted %{text}", names[np.asarray(predictions)[members]]
            else:
                predicted, text = f"<br>predicted {names[k]}", None
            fig.add_trace(trace(
                x=coords[members, 0], y=coords[members, 1], mode="markers", name=label, legendgroup=label,
                showlegend=not wrong or not (labels[drawn & ~wrong_all] == k).any(),
                marker={"color": class_color(k), "size": 6 if sampled else 8, "symbol": "x" if wrong else "circle", "line": {"width": 0.5, "color": "white"}},
                customdata=members, text=text, hovertemplate=f"example %{{customdata}}<br>class {names[k]}{predicted}<extra></extra>",
            ))
    if selected is not None and 0 <= selected < n:
        fig.add_trace(go.Scatter(
            x=[coords[selected, 0]], y=[coords[selected, 1]], mode="markers", name="selected",
            marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}},
            customdata=[selected], hoverinfo="skip",
        ))
    note = sampled_note(int(drawn.sum()), n, "examples")
    # the layer on a second, smaller line: in a half-width chart (Compare, 1024 px) one line was cut off
    where = f"layer {html.escape(layer)}" if layer else "last hidden layer"
    styled(fig, f"Embedding map ({method})<br><sup>{where}" + (f"; {note}" if note else "") + "</sup>", f"{method} 1", f"{method} 2", height=460)
    fig.update_layout(clickmode="event+select", dragmode="pan", margin={"t": 70})
    return fig


def example_input(x: np.ndarray, modality: str, feature_names: list[str] | None = None, title: str = "Selected example",
                  reference: np.ndarray | None = None) -> go.Figure:
    """The input as the model sees it. A table row with ``reference`` (the training rows) is drawn in
    standard deviations from each feature's training mean, the raw value on hover and at the bar's
    end, so one feature of large units (wine's proline, in the hundreds) does not flatten the rest;
    its how-to-read key is then "example_input_scaled"."""
    x = np.asarray(x)
    if modality == "image":
        image = x[0] if x.ndim == 3 else x
        fig = go.Figure(go.Heatmap(z=image[::-1], colorscale="Greys", showscale=True, colorbar={"title": "value"}))
        styled(fig, title, "column", "row", height=340)
        fig.update_yaxes(scaleanchor="x", tickvals=list(range(image.shape[0])), ticktext=[str(i) for i in range(image.shape[0])][::-1])
        return fig
    if modality == "series":
        fig = go.Figure()
        for c in range(x.shape[0]):
            name = feature_names[c] if feature_names and c < len(feature_names) else f"channel {c}"
            fig.add_trace(go.Scatter(y=x[c], mode="lines", name=name, line={"color": class_color(c)}))
        return styled(fig, title, "time step", "value", height=340)
    names = feature_names or [f"feature {i}" for i in range(len(x))]
    if reference is None:
        fig = go.Figure(go.Bar(x=list(x), y=names, orientation="h", marker_color=class_color(0)))
        styled(fig, title, "value", "feature", height=max(340, 18 * len(names) + 80))
    else:
        z = standard_scores(x, reference)
        fig = go.Figure(go.Bar(
            x=np.round(z, 3), y=names, orientation="h", marker_color=[class_color(3) if v > 0 else class_color(0) for v in z],
            customdata=[f"{v:.4g}" for v in x], text=[f"{v:.4g}" for v in x], textposition="outside", cliponaxis=False, textfont={"size": 10},
            hovertemplate="%{y}: %{customdata} (%{x:+.2f} SD from the training mean)<extra></extra>",
        ))
        limit = max(2.0, float(np.abs(z).max()) * 1.25)
        styled(fig, title, "SD from the training mean", "feature", height=max(340, 18 * len(names) + 80))
        fig.update_xaxes(range=[-limit, limit], zeroline=True, zerolinecolor="grey")
    fig.update_yaxes(autorange="reversed")
    return fig


def standard_scores(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``x`` (features,) in standard deviations of ``reference`` (n, features) from its mean; a
    constant feature counts as 0."""
    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    mean, std = reference.mean(axis=0), reference.std(axis=0)
    return np.where(std > 0, (np.asarray(x, dtype=np.float64).ravel() - mean) / np.where(std > 0, std, 1.0), 0.0)


def class_probabilities(probabilities: np.ndarray, class_names: list[str], true_class: int | None = None) -> go.Figure:
    """One bar per class. Colour says right or wrong, not which class: the predicted class is green
    when it is the true class and red when it is not, the others grey (a class palette would draw a
    correct class 3 in red)."""
    probabilities = np.asarray(probabilities)
    outline = [3 if k == true_class else 0 for k in range(len(class_names))]
    fig = go.Figure(go.Bar(
        x=probabilities, y=[str(c) for c in class_names], orientation="h",
        marker={"color": probability_colors(probabilities, true_class), "line": {"width": outline, "color": "black"}},
        text=[f"{p:.2f}" for p in probabilities], textposition="outside", cliponaxis=False,  # "1.00" stays readable in a narrow column
    ))
    styled(fig, "Predicted class probabilities", "probability", "class", height=max(260, 28 * len(class_names) + 100))
    fig.update_xaxes(range=[0, 1.12])
    fig.update_layout(margin={"r": 40})
    fig.update_yaxes(autorange="reversed")
    return fig


RIGHT, WRONG, OTHER = "#2ca02c", "#d62728", "#b8b8b8"


def probability_colors(probabilities: np.ndarray, true_class: int | None) -> list[str]:
    """Bar colours of a class-probability chart: the predicted class green if right, red if wrong
    (blue when the truth is unknown), every other class grey."""
    predicted = int(np.argmax(probabilities))
    top = class_color(0) if true_class is None else RIGHT if predicted == true_class else WRONG
    return [top if k == predicted else OTHER for k in range(len(probabilities))]


def next_tokens(rows: list[dict], title: str) -> go.Figure:
    """A causal language model's top next tokens (``rows``: {"label", "p"}, most probable first) as bars."""
    labels = [repr(r["label"])[1:-1] if r["label"].strip() != r["label"] or not r["label"] else r["label"] for r in rows]  # ' good' shows its space
    fig = go.Figure(go.Bar(x=labels, y=[r["p"] for r in rows], marker_color=class_color(0), text=[f"{r['p']:.2f}" for r in rows], textposition="outside",
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    styled(fig, title, "next token", "probability", height=340)
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.15])
    return fig
