"""Figures about a trained model as a whole and about one example: training curve, embedding
map, the input itself, the predicted class probabilities."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.figures.common import class_color, how_to_read, styled

how_to_read("training_curve", "Loss per epoch on the training batches (left axis) and the validation metric (right axis); the dotted line marks the epoch whose weights were kept.")
how_to_read("embedding_map", "Each dot is a test example placed by the model's last hidden layer (nearby dots look alike to the model); colour is the true class, a cross marks a wrong prediction. Click a dot to select that example.")
how_to_read("example_input", "The selected example as the model sees it, in the data's own units.")
how_to_read("class_probabilities", "The model's predicted probability for each class on the selected example; the true class is outlined.")


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
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0}, margin={"t": 80})
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
) -> go.Figure:
    """Scatter of a 2-D map; customdata carries each point's example index for click selection."""
    fig = go.Figure()
    labels = np.asarray(labels)
    index = np.arange(len(labels))
    for k, name in enumerate(class_names):
        members = index[labels == k]
        if not len(members):
            continue
        wrong = predictions is not None and np.asarray(predictions)[members] != k
        symbols = np.where(wrong, "x", "circle") if predictions is not None else "circle"
        hover = [f"example {i}<br>class {name}" + (f"<br>predicted {class_names[int(predictions[i])]}" if predictions is not None else "") for i in members]
        fig.add_trace(go.Scatter(
            x=coords[members, 0], y=coords[members, 1], mode="markers", name=str(name),
            marker={"color": class_color(k), "size": 8, "symbol": symbols, "line": {"width": 0.5, "color": "white"}},
            customdata=members, hovertext=hover, hoverinfo="text",
        ))
    if selected is not None and 0 <= selected < len(coords):
        fig.add_trace(go.Scatter(
            x=[coords[selected, 0]], y=[coords[selected, 1]], mode="markers", name="selected",
            marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}},
            customdata=[selected], hoverinfo="skip",
        ))
    styled(fig, f"Embedding map ({method} of the last hidden layer, test set)", f"{method} 1", f"{method} 2", height=460)
    fig.update_layout(clickmode="event+select", dragmode="pan")
    return fig


def example_input(x: np.ndarray, modality: str, feature_names: list[str] | None = None, title: str = "Selected example") -> go.Figure:
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
    fig = go.Figure(go.Bar(x=list(x), y=names, orientation="h", marker_color=class_color(0)))
    styled(fig, title, "value", "feature", height=max(340, 18 * len(names) + 80))
    fig.update_yaxes(autorange="reversed")
    return fig


def class_probabilities(probabilities: np.ndarray, class_names: list[str], true_class: int | None = None) -> go.Figure:
    probabilities = np.asarray(probabilities)
    outline = [3 if k == true_class else 0 for k in range(len(class_names))]
    fig = go.Figure(go.Bar(
        x=probabilities, y=[str(c) for c in class_names], orientation="h",
        marker={"color": [class_color(k) for k in range(len(class_names))], "line": {"width": outline, "color": "black"}},
        text=[f"{p:.2f}" for p in probabilities], textposition="outside", cliponaxis=False,  # "1.00" stays readable in a narrow column
    ))
    styled(fig, "Predicted class probabilities", "probability", "class", height=max(260, 28 * len(class_names) + 100))
    fig.update_xaxes(range=[0, 1.12])
    fig.update_layout(margin={"r": 40})
    fig.update_yaxes(autorange="reversed")
    return fig
