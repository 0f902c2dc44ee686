"""Figures of the Concepts page: TCAV bars, concept-vs-random boxes and an overview heatmap; the
concept bottleneck's what-if probabilities, intervention curves, per-concept accuracy and head
weights; images, galleries and a selectable map of examples. Results in, go.Figure out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.figures.common import PALETTE, class_color, how_to_read, styled

how_to_read("tcav_bars", "Bar height is the TCAV score, written over the bar: the share of this class's test examples whose class score rises when the layer's activations move towards the concept (0.5 = no preference). Whiskers span one standard deviation over the random runs; hatched, pale bars failed the t-test against random concepts (not significant; on the page, after Holm's adjustment for all the run's tests). The strip below gives each bar's CAV accuracy: how well a line separates the concept from random examples in that layer (0.5 = chance, so a score built on it means little).")
how_to_read("cace_vs_tcav", "Each bar is a concept's causal effect on this class (CaCE): the mean change of the class logit when only that concept is switched on in otherwise identical pictures drawn by the generator (red raises the class, blue lowers it, grey is no material effect); the whisker is its 95% interval. Below, one marker per layer gives TCAV's verdict after Holm's adjustment (+ pushes towards the class, − away, · not significant): green where it agrees with the effect, orange where it does not. Without a generator the bar is an observed difference matched on the other concepts, which is not causal.")
how_to_read("tcav_box", "Each box holds the TCAV scores of one layer: the concept against each random set (coloured) and random-vs-random pairs (grey, the null). The p-value of a two-sided t-test is written above; * marks p < 0.05. Far-apart boxes mean the model is consistently sensitive to the concept.")
how_to_read("tcav_heatmap", "TCAV score of every concept (rows) for every class (columns) at one layer: red above 0.5 (the concept pushes towards the class), blue below (it pushes away); cells marked n.s. failed the significance test.")
how_to_read("whatif_probabilities", "Class probabilities of the concept bottleneck model from its own predicted concepts (grey) and from the concept values you set with the sliders (blue).")
how_to_read("intervention_curve", "Test accuracy when the model's predicted concepts are replaced by the true labels, 0 to all of them: solid lines correct concepts in random order (band: spread over 20 orders), dotted lines correct the least certain concepts first. A rising line means the classes really go through the concepts.")
how_to_read("concept_accuracy", "Test accuracy of each predicted concept (probability above 0.5 vs the label); the black tick is the accuracy of always answering the commonest label, the bar to beat.")
how_to_read("head_weights", "Weights of the linear head from each concept (rows) to each class (columns): red raises the class when the concept is present, blue lowers it.")
how_to_read("concept_image", "The selected example as the model sees it.")
how_to_read("concept_gallery", "A sample of the examples chosen for the concept.")
how_to_read("concept_map", "Each dot is a test example placed by the model's internal representation; colour shows the chosen concept or class. Click a dot to inspect that example.")
how_to_read("concept_map_select", "Each dot is a test example placed by the model's internal representation, coloured by class. Drag a lasso around the examples that show your concept (or pick box select in the chart's toolbar); circled dots are the ones chosen.")
how_to_read("concept_sensitivity", "For the selected example: the gradient of the class score at this layer, dotted with each concept's mean CAV. Positive bars: moving the example towards the concept would raise the class score; this is the per-example quantity whose sign TCAV counts.")
how_to_read("concept_values", "The example's concepts: the true label (outline) and the bottleneck model's predicted probability (bar).")

# One meaning per colour on the page: red pushes towards the class and blue away from it (as on the
# heatmaps' red-blue scale); the check's verdict markers are green (agrees) and orange (does not).
RAISES, LOWERS = PALETTE[3], PALETTE[0]
AGREES, DISAGREES = "#2e8540", "#b85c00"
LAYER_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d"]


def _concept_ticks(concepts: list[str], truth: dict | None) -> list[str]:
    if not truth:
        return list(concepts)
    marks = {c: "decides the class" for c in truth.get("determining", [])} | {c: "unrelated to the class" for c in truth.get("unrelated", [])}
    return [f"{c}<br><sup>{marks[c]}</sup>" if c in marks else c for c in concepts]


def tcav_bars(result, class_index: int, truth: dict | None = None, title: str | None = None) -> go.Figure:
    """Bars of TCAV score per concept for one class, one bar per layer (hatched: not significant), and
    under each bar, in a strip of its own, the accuracy of the CAVs behind it."""
    scores, runs = result.scores, result.run_scores
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.76, 0.24], vertical_spacing=0.04)
    ticks = _concept_ticks(result.concept_names, truth)
    for l, layer in enumerate(result.layer_names):
        significant = result.significant[:, class_index, l]
        accuracy = result.cav_accuracy[:, l].mean(axis=1)
        color = LAYER_COLORS[l % len(LAYER_COLORS)]
        hover = [
            f"<b>{concept}</b> at {layer}<br>TCAV score {scores[c, class_index, l]:.3f} ± {runs[c, class_index, l].std():.3f}"
            f"<br>random-vs-random {result.null_scores[class_index, l].mean():.3f}<br>p = {_p_text(result.p_values[c, class_index, l] if result.raw_p_values is None else result.raw_p_values[c, class_index, l])}"
            + (f", {result.adjustment}-adjusted {_p_text(result.p_values[c, class_index, l])}" if result.adjustment else "")
            + 
            f" ({'significant' if significant[c] else 'not significant'})<br>CAV accuracy {accuracy[c]:.2f}"
            for c, concept in enumerate(result.concept_names)
        ]
        fig.add_trace(go.Bar(
            x=ticks, y=scores[:, class_index, l], name=layer, legendgroup=layer,
            text=[f"{v:.2f}" for v in scores[:, class_index, l]], textposition="outside", textfont={"size": 9}, cliponaxis=False,  # a score of 0 draws no bar: its number says it is there
            error_y={"type": "data", "array": runs[:, class_index, l].std(axis=1), "visible": True, "thickness": 1.2, "width": 3, "color": "#444"},
            marker={
                "color": color,
                "opacity": [1.0 if s else 0.4 for s in significant],
                "pattern": {"shape": ["" if s else "/" for s in significant], "fgcolor": "#222", "size": 6, "solidity": 0.35},
                "line": {"color": color, "width": 1},
            },
            hovertext=hover, hoverinfo="text",
        ), row=1, col=1)
        fig.add_trace(go.Bar(
            x=ticks, y=accuracy, name=layer, legendgroup=layer, showlegend=False, marker={"color": color, "opacity": 0.75},
            text=[f"{a:.2f}" for a in accuracy], textposition="outside", textfont={"size": 9}, cliponaxis=False,
            hovertext=[f"<b>{concept}</b> at {layer}: CAV accuracy {a:.3f} (0.5 = chance)" for concept, a in zip(result.concept_names, accuracy)], hoverinfo="text",
        ), row=2, col=1)
    fig.add_trace(go.Bar(x=[ticks[0]], y=[None], name="hatched = not significant", marker={"color": "white", "pattern": {"shape": "/", "fgcolor": "#222"}, "line": {"color": "#222", "width": 1}}, hoverinfo="skip"), row=1, col=1)
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey", annotation_text="0.5: no preference", annotation_position="top right", row=1, col=1)
    name = result.class_names[class_index]
    styled(fig, title or f"TCAV scores for class '{name}', grouped by layer", "", "TCAV score", height=600)
    fig.update_layout(barmode="group", bargap=0.18, legend={"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0.0, "title": {"text": "layer: "}}, margin={"t": 50, "b": 130})
    fig.update_yaxes(range=[0, 1.08], row=1, col=1)
    fig.update_yaxes(title_text="CAV accuracy", range=[0.4, 1.12], dtick=0.25, row=2, col=1)
    fig.update_xaxes(title_text="concept", row=2, col=1)
    return fig


def cace_vs_tcav(check, result, class_index: int, truth: dict | None = None) -> go.Figure:
    """One class: each concept's effect on the class logit (CaCE, or the matched observed difference)
    with its 95% interval, and TCAV's adjusted verdict at every layer, marked by whether it agrees."""
    effect = check.effect
    ticks = _concept_ticks(result.concept_names, truth)
    values = effect.effect[:, class_index]
    low, high = effect.ci[:, class_index, 0], effect.ci[:, class_index, 1]
    material = effect.material()[:, class_index]
    colors = [LOWERS if m < 0 else RAISES if m > 0 else "#b0b0b0" for m in material]
    kind = "CaCE" if effect.causal else "observed difference (not causal)"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.05)
    fig.add_trace(go.Bar(
        x=ticks, y=values, marker={"color": colors}, name=kind, showlegend=False,
        error_y={"type": "data", "symmetric": False, "array": high - values, "arrayminus": values - low, "visible": True, "thickness": 1.2, "width": 4, "color": "#444"},
        hovertext=[f"<b>{c}</b>: {kind} {v:+.2f} [{a:+.2f}, {b:+.2f}]<br>{'a material effect' if m else 'no material effect'} (n = {n})"
                   for c, v, a, b, m, n in zip(result.concept_names, values, low, high, material, effect.n)], hoverinfo="text",
    ), row=1, col=1)
    fig.add_hline(y=0, line_color="grey", line_width=1, row=1, col=1)
    symbols = {1: "+", -1: "−", 0: "·"}
    for l, layer in enumerate(result.layer_names):
        says = np.where(check.significant_adjusted[:, class_index, l], np.where(result.scores[:, class_index, l] > 0.5, 1, -1), 0)
        agrees = check.agrees[:, class_index, l]
        fig.add_trace(go.Scatter(
            x=ticks, y=[layer] * len(ticks), mode="markers+text", text=[symbols[int(v)] for v in says], textfont={"size": 15, "color": "white"},
            marker={"size": 20, "symbol": "square", "color": [AGREES if a else DISAGREES for a in agrees]}, showlegend=False,
            hovertext=[f"<b>{c}</b> at {layer}: TCAV {result.scores[i, class_index, l]:.2f}, "
                       f"{'significant' if says[i] else 'not significant'} after {check.adjustment}; {'agrees' if agrees[i] else 'disagrees'} with the effect"
                       for i, c in enumerate(result.concept_names)], hoverinfo="text",
        ), row=2, col=1)
    share = check.agrees[:, class_index, :].mean()
    styled(fig, f"Effect of each concept on class '{result.class_names[class_index]}' beside TCAV's verdicts ({share:.0%} agree)", "", "change of the class logit", height=560)
    fig.update_yaxes(title_text="TCAV by layer", autorange="reversed", row=2, col=1)
    fig.update_xaxes(title_text="concept", row=2, col=1)
    fig.update_layout(margin={"t": 50, "b": 60})
    return fig


def _p_text(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def tcav_box(result, concept_index: int, class_index: int) -> go.Figure:
    """Concept-vs-random TCAV scores per layer as side-by-side boxes, with each layer's p-value."""
    concept = result.concept_names[concept_index]
    fig = go.Figure()
    layers = result.layer_names
    xs_c = [layer for layer in layers for _ in range(result.run_scores.shape[-1])]
    fig.add_trace(go.Box(x=xs_c, y=result.run_scores[concept_index, class_index].ravel(), name=f"'{concept}' vs random", marker_color=PALETTE[0], boxpoints="all", jitter=0.4, pointpos=0))
    xs_n = [layer for layer in layers for _ in range(result.null_scores.shape[-1])]
    fig.add_trace(go.Box(x=xs_n, y=result.null_scores[class_index].ravel(), name="random vs random (null)", marker_color="#888", boxpoints="all", jitter=0.4, pointpos=0))
    for l, layer in enumerate(layers):
        p = result.p_values[concept_index, class_index, l]
        star = " *" if result.significant[concept_index, class_index, l] else " (n.s.)"
        fig.add_annotation(x=layer, y=1.1, text=f"p = {_p_text(p)}{star}", showarrow=False, font={"size": 12})
    styled(fig, f"'{concept}' vs random concepts, class '{result.class_names[class_index]}'", "layer", "TCAV score", height=420)
    fig.update_layout(boxmode="group", legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0.0}, margin={"t": 100})
    fig.update_yaxes(range=[-0.05, 1.18])
    return fig


def tcav_heatmap(result, layer_index: int, truth: dict | None = None) -> go.Figure:
    """Concepts x classes TCAV scores at one layer; non-significant cells are labelled n.s."""
    scores = result.scores[:, :, layer_index]
    significant = result.significant[:, :, layer_index]
    text = [[f"{scores[c, k]:.2f}{'' if significant[c, k] else ' n.s.'}" for k in range(scores.shape[1])] for c in range(scores.shape[0])]
    marks = {c: " (decides)" for c in (truth or {}).get("determining", [])} | {c: " (unrelated)" for c in (truth or {}).get("unrelated", [])}
    ticks = [c + marks.get(c, "") for c in result.concept_names]
    fig = go.Figure(go.Heatmap(
        z=scores, x=[str(c) for c in result.class_names], y=ticks, zmin=0, zmax=1, zmid=0.5, colorscale="RdBu_r",
        text=text, texttemplate="%{text}", textfont={"size": 11}, colorbar={"title": "TCAV"},
        hovertemplate="%{y}<br>class %{x}<br>score %{z:.3f}<extra></extra>",
    ))
    styled(fig, f"All concepts and classes at layer '{result.layer_names[layer_index]}'", "class", "concept", height=max(320, 34 * len(ticks) + 120))
    fig.update_yaxes(autorange="reversed")
    return fig


def whatif_probabilities(original: np.ndarray, modified: np.ndarray, class_names: list[str], true_class: int | None = None) -> go.Figure:
    names = [str(c) for c in class_names]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=original, orientation="h", name="from the model's concepts", marker_color="#bbbbbb", text=[f"{p:.2f}" for p in original], textposition="outside"))
    fig.add_trace(go.Bar(y=names, x=modified, orientation="h", name="from your concepts", marker_color=PALETTE[0], text=[f"{p:.2f}" for p in modified], textposition="outside"))
    title = "Class probabilities" + (f" (true class: {names[true_class]})" if true_class is not None else "")
    styled(fig, title, "probability", "class", height=max(320, 60 * len(names) + 180))
    # legend pinned to the figure's bottom edge (container coordinates): below the axis title at any height
    fig.update_layout(barmode="group", legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "x": 0.0}, margin={"b": 100})
    fig.update_xaxes(range=[0, 1.15])
    fig.update_yaxes(autorange="reversed")
    return fig


def intervention_curves(reports: dict, main_mode: str | None = None) -> go.Figure:
    """Task accuracy vs number of corrected concepts, one colour per training mode."""
    fig = go.Figure()
    lowest = 1.0
    for i, (mode, report) in enumerate(reports.items()):
        color = PALETTE[i % len(PALETTE)]
        rand = report.curves["random"]
        label = mode + (" (this recipe)" if mode == main_mode else "")
        upper, lower = np.minimum(rand.accuracy + rand.accuracy_std, 1.0), rand.accuracy - rand.accuracy_std
        fig.add_trace(go.Scatter(x=np.r_[rand.n_corrected, rand.n_corrected[::-1]], y=np.r_[upper, lower[::-1]], fill="toself", fillcolor=color, opacity=0.15, line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=mode))
        fig.add_trace(go.Scatter(x=rand.n_corrected, y=rand.accuracy, mode="lines+markers", name=f"{label}: random order", line={"color": color, "width": 3 if mode == main_mode else 2}, legendgroup=mode))
        if "uncertain" in report.curves:
            unc = report.curves["uncertain"]
            fig.add_trace(go.Scatter(x=unc.n_corrected, y=unc.accuracy, mode="lines", name=f"{label}: least certain first", line={"color": color, "dash": "dot"}, legendgroup=mode))
            lowest = min(lowest, float(unc.accuracy.min()))
        lowest = min(lowest, float(lower.min()))
    styled(fig, "Test-time intervention: accuracy as concepts are corrected", "concepts replaced by their true value", "test accuracy", height=520)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0.0, "font": {"size": 11}}, margin={"b": 170})
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(range=[max(0.0, lowest - 0.05), 1.01])
    return fig


def concept_accuracy(names: list[str], accuracy: np.ndarray, baseline: np.ndarray, mode: str = "") -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Bar(y=list(names), x=accuracy, orientation="h", name="predicted concept", marker_color=PALETTE[0], text=[f"{a:.3f}" for a in accuracy], textposition="outside"))
    fig.add_trace(go.Scatter(y=list(names), x=baseline, mode="markers", name="always the commonest label", marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": "black"}}))
    styled(fig, "Concept accuracy on the test set" + (f" ({mode})" if mode else ""), "accuracy", "concept", height=max(320, 34 * len(names) + 170))
    fig.update_layout(legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "x": 0.0}, margin={"b": 100})
    fig.update_xaxes(range=[0, 1.12])
    fig.update_yaxes(autorange="reversed")
    return fig


def head_weights(weights: np.ndarray, concept_names: list[str], class_names: list[str]) -> go.Figure:
    """Heatmap of a linear c -> y head's weights, (classes, concepts) as stored by nn.Linear."""
    z = np.asarray(weights).T
    limit = float(np.abs(z).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in class_names], y=list(concept_names), zmid=0, zmin=-limit, zmax=limit, colorscale="RdBu_r",
                               texttemplate="%{z:.2f}", colorbar={"title": "weight"}, hovertemplate="%{y} -> %{x}: %{z:.2f}<extra></extra>"))
    styled(fig, "How the head turns concepts into classes", "class", "concept", height=max(300, 34 * len(concept_names) + 120))
    fig.update_yaxes(autorange="reversed")
    return fig


def _rgb(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3 and x.shape[0] == 3:
        image = x.transpose(1, 2, 0)
    else:
        grey = x[0] if x.ndim == 3 else x
        span = float(grey.max() - grey.min()) or 1.0
        grey = (grey - grey.min()) / span
        image = np.repeat(grey[:, :, None], 3, axis=2)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def concept_image(x: np.ndarray, title: str) -> go.Figure:
    """An image example in colour (3 channels) or grey (any other channel count: the first channel)."""
    fig = go.Figure(go.Image(z=_rgb(x), hoverinfo="skip"))
    styled(fig, title, "column (pixel)", "row (pixel)", height=340)
    fig.update_layout(margin={"l": 50, "r": 10, "t": 50, "b": 40})
    return fig


def concept_gallery(X: np.ndarray, titles: list[str], columns: int = 8, title: str = "Examples") -> go.Figure:
    n = len(X)
    rows = max(1, -(-n // columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.08)
    for i, x in enumerate(X):
        fig.add_trace(go.Image(z=_rgb(x), hoverinfo="skip"), row=i // columns + 1, col=i % columns + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    styled(fig, title, "", "", height=150 * rows + 70)
    fig.update_annotations(font_size=10)
    return fig


def concept_map(coords: np.ndarray, colour_values: np.ndarray, colour_names: list[str], colour_title: str, chosen: np.ndarray | None = None, selected: int | None = None, method: str = "PCA", dragmode: str = "pan") -> go.Figure:
    """Scatter of the test set; ``colour_values`` are indices into ``colour_names``; customdata holds example indices.

    ``dragmode="pan"`` (default) lets a click on a dot select it; in "lasso" or "select" mode a
    drag chooses a group but Streamlit receives no click selection, so use those only where
    choosing a group is the point.
    """
    fig = go.Figure()
    colour_values = np.asarray(colour_values).astype(int)
    index = np.arange(len(coords))
    for v, name in enumerate(colour_names):
        members = index[colour_values == v]
        if not len(members):
            continue
        fig.add_trace(go.Scatter(
            x=coords[members, 0], y=coords[members, 1], mode="markers", name=str(name), customdata=members,
            marker={"color": class_color(v), "size": 7, "line": {"width": 0.5, "color": "white"}},
            hovertext=[f"example {i}<br>{colour_title}: {name}" for i in members], hoverinfo="text",
        ))
    if chosen is not None and len(chosen):
        chosen = np.asarray(chosen, dtype=int)
        fig.add_trace(go.Scatter(x=coords[chosen, 0], y=coords[chosen, 1], mode="markers", name="chosen for the concept", customdata=chosen,
                                 marker={"size": 11, "color": "rgba(0,0,0,0)", "line": {"width": 1.5, "color": "black"}}, hoverinfo="skip"))
    if selected is not None and 0 <= selected < len(coords):
        fig.add_trace(go.Scatter(x=[coords[selected, 0]], y=[coords[selected, 1]], mode="markers", name="selected example", customdata=[selected],
                                 marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}, "symbol": "diamond-open"}, hoverinfo="skip"))
    styled(fig, f"Test set map ({method}), coloured by {colour_title}", f"{method} 1", f"{method} 2", height=500)
    fig.update_layout(clickmode="event+select", dragmode=dragmode, legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0.0}, margin={"b": 110})
    return fig


def concept_sensitivity(values: np.ndarray, concept_names: list[str], class_name: str, layer: str) -> go.Figure:
    values = np.asarray(values, dtype=float)
    colors = [RAISES if v > 0 else LOWERS for v in values]
    span = float(np.abs(values).max()) or 1.0
    decimals = max(0, 2 - int(np.floor(np.log10(span))))  # three significant digits on the largest bar, as many decimals on every bar
    fig = go.Figure(go.Bar(y=list(concept_names), x=values, orientation="h", marker_color=colors, text=[f"{v:+.{decimals}f}" for v in values], textposition="outside"))
    styled(fig, f"Concept sensitivity of '{class_name}' at layer {layer}", "directional derivative (gradient · mean CAV)", "concept", height=max(300, 34 * len(concept_names) + 120))
    fig.update_xaxes(range=[-1.35 * span, 1.35 * span], zeroline=True, zerolinecolor="#444")
    fig.update_yaxes(autorange="reversed")
    return fig


def concept_values(concept_names: list[str], true_values: np.ndarray | None, predicted: np.ndarray | None) -> go.Figure:
    fig = go.Figure()
    names = list(concept_names)
    if predicted is not None:
        fig.add_trace(go.Bar(y=names, x=predicted, orientation="h", name="predicted probability", marker_color=PALETTE[0], text=[f"{p:.2f}" for p in predicted], textposition="outside"))
    if true_values is not None:
        fig.add_trace(go.Scatter(y=names, x=true_values, mode="markers", name="true label (0 or 1)", marker={"symbol": "diamond", "size": 12, "color": "black"}))
    styled(fig, "Concepts of this example", "value", "concept", height=max(320, 34 * len(names) + 150))
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0.0}, margin={"b": 100})
    fig.update_xaxes(range=[-0.05, 1.22])
    fig.update_yaxes(autorange="reversed")
    return fig
