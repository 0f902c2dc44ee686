"""Figures of the Mechanisms page: grokking curves, the embedding spectrum, the neuron × irrep map,
one neuron's activation table, one pair's logit contributions, the equivariance check, the
verification panel and the pruning of memorising neurons.

Clickable grids are a Heatmap for the picture plus a transparent layer that Streamlit can select
from (it reports selected points of bars and scatters, not heatmap cells), whose customdata carries
what a click selects: the neuron map has one full-height bar per neuron (a click anywhere in a
column picks that neuron; 128-256 bars draw far faster than one marker per cell), the activation
table one marker per pair, drawn with WebGL above WEBGL_POINTS pairs (z113's 12,769 SVG markers
took seconds to draw).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.figures.common import PALETTE, how_to_read, styled

WEBGL_POINTS = 1000  # as plotly express: more markers than this are drawn with WebGL

how_to_read("group_training", "Top: accuracy on the training pairs and on the held-out pairs after each full-batch step, with the weight norm (dotted, right axis). Bottom: the two losses on a log scale. Grokking is the gap between the 'memorised' and 'generalised' lines: training pairs are fitted long before held-out ones.")
how_to_read("embedding_spectrum", "Each row is a group element; each column an irreducible representation (a frequency for Z_n). Colour is the share of that element's embedding lying in that irrep's component; the bar on top sums it over elements. Bold names are the key irreps. A Fourier-style algorithm shows a few bright columns.")
how_to_read("neuron_irrep_map", "Each column is a hidden neuron (sorted by the irrep it mostly uses); each row a non-trivial irrep. Colour is the share of the neuron's weights (input embeddings and output row together) in that irrep. Click a neuron's column to open that neuron's activation table below.")
how_to_read("neuron_activation", "The selected neuron's activation (after ReLU) for every pair: left element down, right element across. A regular pattern means the neuron reads one irrep (one frequency for Z_n) of x and of y; the output layer combines many such neurons into a function of x·y. Click a cell to explain that pair below; the outlined cell is the pair in view.")
how_to_read("pair_contributions", "How each irrep pushes the right answer above the strongest wrong answer for the selected pair: the network's logits split exactly into one part per irrep, so the bars add up to the margin. Positive bars help the right answer.")
how_to_read("pair_logits", "The network's logit for every possible answer on the selected pair (grey), and the same logits from the network restricted to its key irreps (orange line). The right answer is marked.")
how_to_read("equivariance", "For each group element g: how far f(g·x, y) is from f(x, y) with its answers relabelled by g (left), and the same on the right, relative to the size of the logits (0 = exactly equivariant). The grey markers are the same distance without relabelling: what an unrelated function would score.")
how_to_read("verification", "Accuracy over all |G|² pairs of the full network (brute force), of the network restricted to its key irreps, of the network with its key irreps removed, and the proved lower bound. The labels give each check's cost relative to brute force.")
how_to_read("bound_frontier", "Each point is one proof: the explanation plus r unexplained output directions computed exactly (labels). Higher is a stronger guarantee, further left is cheaper; the dashed lines mark brute force (its cost, and the accuracy it measures). A point left of the vertical line and near the horizontal one is an explanation that compresses the network.")
how_to_read("neuron_concentration", "How much of each live neuron's weight lies in the key irreps. Generalising neurons sit near 1; memorising neurons, which store individual (often corrupted) pairs, spread over many irreps and sit on the left. Neurons left of the dashed threshold are the ones pruned.")
how_to_read("pruning", "Accuracy before and after removing the memorising neurons (green), and with every weight outside the key irreps removed instead (orange). Where the memory lives shows here: the wrong labels are forgotten by whichever intervention removes it, while held-out pairs should hold.")


def _marks(fig: go.Figure, history: dict, memorise_step: int | None, grok_step: int | None) -> None:
    for step, text, colour in ((memorise_step, "memorised", PALETTE[0]), (grok_step, "generalised", PALETTE[2])):
        if step is not None:
            fig.add_vline(x=step, line_dash="dash", line_color=colour, row=1, col=1)
            fig.add_annotation(x=step, y=1.06, yref="y", text=f"{text} (step {step})", showarrow=False, font={"color": colour, "size": 12}, xanchor="left", row=1, col=1)


def training_curves(history: dict, memorise_step: int | None = None, grok_step: int | None = None, title: str = "Training: memorise, then generalise") -> go.Figure:
    steps = history["step"]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.06, specs=[[{"secondary_y": True}], [{}]])
    fig.add_trace(go.Scatter(x=steps, y=history["train_accuracy"], name="train accuracy", line={"color": PALETTE[0]}), row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=history["test_accuracy"], name="held-out accuracy", line={"color": PALETTE[2]}), row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=history["weight_norm"], name="weight norm", line={"color": PALETTE[7], "dash": "dot"}), row=1, col=1, secondary_y=True)
    fig.add_trace(go.Scatter(x=steps, y=np.maximum(history["train_loss"], 1e-8), name="train loss", line={"color": PALETTE[0], "width": 1.5}, showlegend=True), row=2, col=1)
    fig.add_trace(go.Scatter(x=steps, y=np.maximum(history["test_loss"], 1e-8), name="held-out loss", line={"color": PALETTE[2], "width": 1.5}), row=2, col=1)
    _marks(fig, history, memorise_step, grok_step)
    styled(fig, title, "", "accuracy", height=560)
    fig.update_yaxes(range=[0, 1.12], title_text="accuracy", row=1, col=1, secondary_y=False)
    fig.update_yaxes(title_text="weight norm", row=1, col=1, secondary_y=True, showgrid=False)
    fig.update_yaxes(type="log", title_text="loss (log)", exponentformat="power", row=2, col=1)  # 10⁻⁴, not Plotly's SI "100μ"
    fig.update_xaxes(title_text="full-batch training step", row=2, col=1)
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0.0}, margin={"t": 90})
    return fig


def _irrep_ticks(names: list[str], key: list[int], columns: list[int], most: int = 20) -> tuple[list[int], list[str]]:
    """Tick positions and labels for an irrep axis: every step-th irrep plus every key irrep (in bold);
    a plain label right next to a key one is left out, so labels do not overprint at 1024 px."""
    step = max(1, int(np.ceil(len(columns) / most)))
    keyed = [i for i, c in enumerate(columns) if c in key]
    plain = {c for i, c in enumerate(columns) if i % step == 0 and all(abs(i - k) > 1 for k in keyed)}
    shown = sorted(plain | {columns[i] for i in keyed})
    return shown, [f"<b>{names[c]}</b>" if c in key else names[c] for c in shown]


def embedding_spectrum(element_energy: np.ndarray, element_names: list[str], irrep_names: list[str], key_irreps: list[int], side: str = "left") -> go.Figure:
    """element_energy (|G|, n_irreps): squared norm of each element's embedding per irrep."""
    share = element_energy / np.maximum(element_energy.sum(axis=1, keepdims=True), 1e-30)
    total = element_energy.sum(axis=0) / max(element_energy.sum(), 1e-30)
    columns = list(range(len(irrep_names)))
    tick_values, tick_text = _irrep_ticks(irrep_names, key_irreps, columns)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.18, 0.82], vertical_spacing=0.03)
    fig.add_trace(go.Bar(x=columns, y=total, marker_color=[PALETTE[1] if c in key_irreps else PALETTE[7] for c in columns], name="share of all elements",
                         hovertext=[f"{irrep_names[c]}: {total[c]:.1%} of the embedding" for c in columns], hoverinfo="text", showlegend=False), row=1, col=1)
    fig.add_trace(go.Heatmap(
        z=share, x=columns, y=list(range(len(element_names))), colorscale="Viridis", zmin=0, zmax=max(float(share.max()), 1e-9),
        colorbar={"title": {"text": "share"}, "len": 0.8, "y": 0.4},
        customdata=np.broadcast_to(np.array(element_names, dtype=object)[:, None], share.shape),
        hovertemplate="element %{customdata}<br>irrep %{x}<br>share %{z:.1%}<extra></extra>",
    ), row=2, col=1)
    n = len(element_names)
    height = int(min(900, max(420, 7 * n + 220)))
    styled(fig, f"Embedding spectrum ({side} element)", "", "element", height=height)
    fig.update_xaxes(tickmode="array", tickvals=tick_values, ticktext=tick_text, tickangle=-60, title_text="irreducible representation (bold = key)", row=2, col=1)
    row_step = max(1, int(np.ceil(n / 30)))
    fig.update_yaxes(tickmode="array", tickvals=list(range(0, n, row_step)), ticktext=element_names[::row_step], autorange="reversed", row=2, col=1, title_text="element")
    fig.update_yaxes(title_text="share", row=1, col=1, tickformat=".0%")
    fig.update_layout(margin={"b": 110})
    return fig


def neuron_order(dominant: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Neurons sorted by dominant irrep (dead last), then by how concentrated they are."""
    strength = share[np.arange(len(dominant)), np.maximum(dominant, 0)]
    return np.lexsort((-strength, np.where(dominant < 0, 10**6, dominant)))


def neuron_irrep_map(neuron_share: np.ndarray, dominant: np.ndarray, irrep_names: list[str], key_irreps: list[int], selected: int | None = None) -> go.Figure:
    """neuron_share (m, n_irreps); the trivial irrep (column 0) is not drawn."""
    order = neuron_order(dominant, neuron_share)
    rows = list(range(1, len(irrep_names)))
    z = neuron_share[order][:, rows].T  # (irreps, neurons)
    positions = np.arange(len(order))
    fig = go.Figure(go.Heatmap(z=z, x=positions, y=rows, colorscale="Blues", zmin=0, zmax=1, colorbar={"title": {"text": "share"}}, hoverinfo="skip"))
    mostly = [irrep_names[d] if d >= 0 else "dead" for d in dominant[order]]
    strongest = neuron_share[order, np.maximum(dominant[order], 0)]
    hover = [f"neuron {j}<br>mostly {name} ({share:.0%})" if name != "dead" else f"neuron {j}<br>dead" for j, name, share in zip(order, mostly, strongest)]
    fig.add_trace(go.Bar(
        x=positions, y=np.full(len(order), len(rows)), base=rows[0] - 0.5, width=1.0, customdata=order, hovertext=hover, hoverinfo="text",
        marker={"color": "rgba(0,0,0,0)", "line": {"width": 0}}, selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
        showlegend=False, name="neurons",
    ))
    if selected is not None and 0 <= selected < len(order):
        where = int(np.flatnonzero(order == selected)[0])
        fig.add_vrect(x0=where - 0.5, x1=where + 0.5, line={"color": PALETTE[3], "width": 2})
    height = int(min(900, max(300, 13 * len(rows) + 170)))
    styled(fig, "Neurons × irreps: which irrep each neuron uses", "neuron (sorted by dominant irrep)", "irrep", height=height)
    tick_values, tick_text = _irrep_ticks(irrep_names, key_irreps, rows, most=30)
    fig.update_yaxes(tickmode="array", tickvals=tick_values, ticktext=tick_text, autorange="reversed")
    x_step = max(1, len(order) // 16)
    fig.update_xaxes(tickmode="array", tickvals=positions[::x_step], ticktext=[str(order[p]) for p in positions[::x_step]], showgrid=False)
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest")
    return fig


def neuron_activation(table: np.ndarray, element_names: list[str], neuron: int, dominant_name: str, selected_pair: tuple[int, int] | None = None, product_names: np.ndarray | None = None) -> go.Figure:
    """table (|G|, |G|): the neuron's activation on pair [x, y]."""
    n = table.shape[0]
    idx = np.arange(n)
    # Plasma, not Magma/Inferno: their first stop #000004 collides with the "#0000xx" placeholder colours Streamlit's theme rewrites.
    fig = go.Figure(go.Heatmap(z=table, x=idx, y=idx, colorscale="Plasma", zmin=0, colorbar={"title": {"text": "activation"}}, hoverinfo="skip"))
    gx, gy = np.meshgrid(idx, idx)  # gx = right element (column), gy = left element (row)
    names = np.array(element_names, dtype=object)
    products = product_names if product_names is not None else np.full((n, n), "", dtype=object)
    hover = [f"{names[y]} · {names[x]} = {products[y, x]}<br>activation {table[y, x]:.2f}" for y, x in zip(gy.ravel(), gx.ravel())]  # short: one per pair
    layer = go.Scattergl if n * n > WEBGL_POINTS else go.Scatter
    fig.add_trace(layer(
        x=gx.ravel(), y=gy.ravel(), mode="markers", customdata=np.stack([gy.ravel(), gx.ravel()], axis=1), hovertext=hover, hoverinfo="text",
        marker={"symbol": "square", "size": max(3, int(300 / n)), "color": "rgba(0,0,0,0)"}, selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
        showlegend=False, name="pairs",
    ))
    if selected_pair is not None:
        x, y = selected_pair
        fig.add_shape(type="rect", x0=y - 0.5, x1=y + 0.5, y0=x - 0.5, y1=x + 0.5, line={"color": "#00e5ff", "width": 3})
    styled(fig, f"Neuron {neuron} (mostly {dominant_name}): activation on every pair", "right element y", "left element x", height=640)
    step = max(1, int(np.ceil(n / 12)))  # the chart shares the row with the neuron's numbers: few labels fit
    ticks = {"tickmode": "array", "tickvals": list(idx[::step]), "ticktext": element_names[::step]}
    fig.update_xaxes(**ticks, tickangle=-60, constrain="domain", showgrid=False)
    fig.update_yaxes(**ticks, autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False)
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest", margin={"b": 90})
    return fig


def pair_contributions(frame: pd.DataFrame, title: str, top: int = 12) -> go.Figure:
    """frame: explain.pair_contributions (one row per irrep)."""
    data = frame.iloc[1:].copy()  # the trivial irrep moves every logit equally
    data["size"] = data["to_margin"].abs()
    data = data.sort_values("size", ascending=False)
    shown = data.head(top)
    rest = data.iloc[top:]
    labels, values = list(shown["irrep"]), list(shown["to_margin"])
    if len(rest):
        labels.append(f"{len(rest)} other irreps")
        values.append(float(rest["to_margin"].sum()))
    colours = [PALETTE[2] if v >= 0 else PALETTE[3] for v in values]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colours, text=[f"{v:+.2f}" for v in values], textposition="outside", cliponaxis=False))
    styled(fig, title, "margin (right − best wrong)", "irrep", height=max(280, 26 * len(labels) + 130))
    fig.update_yaxes(autorange="reversed")
    span = max(1e-9, max(abs(v) for v in values))
    fig.update_xaxes(range=[min(0, min(values)) - 0.25 * span, max(0, max(values)) + 0.25 * span], zeroline=True, zerolinecolor="#444")
    return fig


def pair_logits(logits: np.ndarray, explained: np.ndarray, element_names: list[str], truth: int, title: str) -> go.Figure:
    idx = np.arange(len(logits))
    fig = go.Figure()
    fig.add_trace(go.Bar(x=idx, y=logits, name="full network", marker_color=[PALETTE[2] if i == truth else "#b0b0b0" for i in idx],
                         hovertext=[f"answer {element_names[i]}: {logits[i]:.2f}" for i in idx], hoverinfo="text"))
    fig.add_trace(go.Scatter(x=idx, y=explained, name="key irreps only", mode="lines+markers" if len(idx) <= 40 else "lines", line={"color": PALETTE[1]},
                             hovertext=[f"answer {element_names[i]}: {explained[i]:.2f}" for i in idx], hoverinfo="text"))
    fig.add_annotation(x=truth, y=float(logits[truth]), text=f"right answer {element_names[truth]}", showarrow=True, arrowhead=2, ay=-30)
    styled(fig, title, "answer z", "logit", height=340)
    step = max(1, int(np.ceil(len(idx) / 12)))  # a half-width chart
    fig.update_xaxes(tickmode="array", tickvals=list(idx[::step]), ticktext=element_names[::step], tickangle=-60)
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0}, margin={"t": 100, "b": 90})  # a legend of two rows in a half-width chart
    return fig


def equivariance_chart(left: np.ndarray, right: np.ndarray, left_unpermuted: np.ndarray, right_unpermuted: np.ndarray, element_names: list[str]) -> go.Figure:
    idx = np.arange(1, len(left))
    names = [element_names[i] for i in idx]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=idx, y=left[1:], name="left: f(g·x, y) vs relabelled f(x, y)", marker_color=PALETTE[0], hovertext=names))
    fig.add_trace(go.Bar(x=idx, y=right[1:], name="right: f(x, y·g) vs relabelled f(x, y)", marker_color=PALETTE[1], hovertext=names))
    baseline = (left_unpermuted[1:] + right_unpermuted[1:]) / 2
    fig.add_trace(go.Scatter(x=idx, y=baseline, mode="markers", name="without relabelling (scale of a miss)", marker={"color": "#888", "symbol": "line-ew-open", "size": 10}))
    styled(fig, "Equivariance check: does moving the input move the answer the same way?", "group element g", "relative distance", height=380)
    step = max(1, int(np.ceil(len(idx) / 30)))
    fig.update_xaxes(tickmode="array", tickvals=list(idx[::step]), ticktext=names[::step], tickangle=-60)
    fig.update_layout(barmode="group", legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0}, margin={"t": 90, "b": 90})
    return fig


def verification_chart(report: dict) -> go.Figure:
    bound = report.get("bound")
    rows = [
        ("brute force (1×)", report["brute_force_accuracy"], PALETTE[0]),
        ("key irreps only (1×)", report["explained_accuracy"], PALETTE[1]),  # the ablated networks run as brute force does
        ("key irreps removed (1×)", report["without_key_accuracy"], PALETTE[7]),
    ]
    if bound:
        rows.append((f"proved bound ({bound['cost_ratio']:.2f}×)", bound["accuracy"], PALETTE[2]))
    fig = go.Figure(go.Bar(
        x=[r[1] for r in rows], y=[r[0] for r in rows], orientation="h", marker_color=[r[2] for r in rows],
        text=[f"{r[1]:.1%}" for r in rows], textposition="outside", cliponaxis=False,
    ))
    styled(fig, "Accuracy over all |G|² pairs", "accuracy", "", height=300)  # each label names its cost
    # few ticks, upright, and room on the right for the last bar's label: the chart is half a page wide
    fig.update_xaxes(range=[0, 1.18], tickformat=".0%", tickvals=[0, 0.5, 1.0], tickangle=0, title_font={"size": 12})
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(margin={"l": 150, "r": 45})
    return fig


def concentration_histogram(concentration: np.ndarray, alive: np.ndarray, threshold: float) -> go.Figure:
    values = concentration[alive]
    fig = go.Figure(go.Histogram(x=values, xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color=PALETTE[0], name="live neurons"))
    fig.add_vline(x=threshold, line_dash="dash", line_color=PALETTE[3], annotation_text=f"prune below {threshold:.2f}", annotation_position="top left")
    styled(fig, "How concentrated each neuron is on the key irreps", "share of the neuron's weight in the key irreps", "neurons", height=320)
    fig.update_xaxes(range=[0, 1.02])
    return fig


def pruning_chart(accuracies: pd.DataFrame) -> go.Figure:
    """accuracies: index = pair subsets, columns before / after (explain.Pruning.accuracies)."""
    fig = go.Figure()
    names = {"before": "before", "after": "memorising neurons pruned", "key irreps only": "all weights outside the key irreps removed"}
    for column, colour in (("before", "#9e9e9e"), ("after", PALETTE[2]), ("key irreps only", PALETTE[1])):
        if column not in accuracies.columns:
            continue
        fig.add_trace(go.Bar(y=list(accuracies.index), x=accuracies[column], orientation="h", name=names[column], marker_color=colour,
                             text=[f"{v:.1%}" for v in accuracies[column]], textposition="outside", cliponaxis=False))
    styled(fig, "Accuracy before and after pruning", "accuracy", "", height=400)
    fig.update_layout(barmode="group", margin={"l": 300}, legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0})
    fig.update_xaxes(range=[0, 1.15], tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return fig


def bound_frontier_chart(frontier: list[dict], brute_force_accuracy: float, chosen_rank: int | None = None) -> go.Figure:
    """frontier: dicts with unexplained_rank, accuracy, cost_ratio (explain.bound_frontier)."""
    costs = [f["cost_ratio"] for f in frontier]
    accuracies = [f["accuracy"] for f in frontier]
    labels = [f"r={f['unexplained_rank']}" for f in frontier]
    sizes = [16 if f["unexplained_rank"] == chosen_rank else 9 for f in frontier]
    # label the chosen proof and the two ends; the rest crowd together (their labels are in the hover)
    shown = [label if i in (0, len(frontier) - 1) or f["unexplained_rank"] == chosen_rank else "" for i, (label, f) in enumerate(zip(labels, frontier))]
    fig = go.Figure(go.Scatter(x=costs, y=accuracies, mode="lines+markers+text", text=shown, textposition="top left",
                               marker={"size": sizes, "color": PALETTE[2]}, line={"color": PALETTE[2]}, name="proved bound",
                               hovertext=[f"{l}: ≥ {a:.1%} at {c:.2f}× brute-force FLOPs" for l, a, c in zip(labels, accuracies, costs)], hoverinfo="text"))
    fig.add_vline(x=1.0, line_dash="dash", line_color="#666", annotation_text="brute-force cost", annotation_position="bottom right")
    fig.add_hline(y=brute_force_accuracy, line_dash="dash", line_color=PALETTE[0], annotation_text="brute-force accuracy", annotation_position="bottom right")
    styled(fig, "Proof strength against proof cost", "cost (FLOPs, relative to brute force)", "proved accuracy (lower bound)", height=360)
    fig.update_yaxes(range=[-0.03, 1.1], tickformat=".0%")
    fig.update_xaxes(range=[0, max(max(costs, default=1.0), 1.0) * 1.1])
    return fig


# -- populations (population.py) -----------------------------------------------------------------

how_to_read("population_bounds", "Each point is one trained network of the population: across, its accuracy on all pairs (brute force); up, the accuracy its explanation proves. A proof never claims more than is true, so points sit on or below the diagonal; points above the dashed line have a proved bound of at least 95% (Wu et al.'s criterion). The histogram on the right is the distribution of the bound. Click a point to open that network in the sections above.")
how_to_read("population_costs", "The proof's cost against brute force for each network: across in arithmetic (FLOPs), up in measured time (log scale). Points left of 1 are cheaper in FLOPs, points below 1 cheaper in time; the dotted line is Wu et al.'s 30% of brute-force time. Click a point to open that network.")
how_to_read("two_phase", "One corrupted-label run over training: the share of wrong labels the network answers with its wrong label (memorised, red), its accuracy on the clean training pairs and on held-out pairs, and overall training accuracy. The dashed line is 100(1−ξ)%: the training accuracy of a network that ignores every wrong label. Grokking then unlearning shows as held-out accuracy rising while the wrong labels are still memorised, then the red line falling.")


def _member_hover(rows: list[dict]) -> list[str]:
    return [f"model {r['index']} (seed {r['seed']}, {r['hidden']} neurons, weight decay {r['weight_decay']:g}, {r['train_fraction']:.0%} trained)<br>"
            f"brute force {r['brute_force_accuracy']:.1%}, proved ≥ {0 if r['bound'] is None else r['bound']:.1%}, held-out {r['test_accuracy']:.1%}" for r in rows]


def population_bounds(rows: list[dict], selected: int | None = None, good: float = 0.95) -> go.Figure:
    """rows: population rows (index, seed, settings, brute_force_accuracy, bound, test_accuracy)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.8, 0.2], shared_yaxes=True, horizontal_spacing=0.05)
    bounds = [0.0 if r["bound"] is None else r["bound"] for r in rows]
    colours = [PALETTE[2] if b >= good else PALETTE[3] for b in bounds]
    sizes = [16 if r["index"] == selected else 10 for r in rows]
    fig.add_trace(go.Scatter(x=[r["brute_force_accuracy"] for r in rows], y=bounds, mode="markers", customdata=[[r["index"]] for r in rows],
                             marker={"size": sizes, "color": colours, "line": {"width": [2 if r["index"] == selected else 0 for r in rows], "color": "#222"}},
                             hovertext=_member_hover(rows), hoverinfo="text", name="one network"), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, hoverinfo="skip", name="bound = brute force"), row=1, col=1)
    fig.add_trace(go.Histogram(y=bounds, ybins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color=PALETTE[0], name="networks", hovertemplate="%{x} network(s) with a bound in %{y}<extra></extra>"), row=1, col=2)
    fig.add_hline(y=good, line_dash="dash", line_color=PALETTE[2], annotation_text=f"{good:.0%}", annotation_position="top left", row=1, col=1)
    share = np.mean([b >= good for b in bounds]) if bounds else 0.0
    # the share on a second, smaller line: one line was cut off in a half-width chart
    styled(fig, f"Proved bound of each network<br><sup>≥ {good:.0%} for {share:.0%} of {len(rows)}</sup>", "brute-force accuracy", "proved accuracy (lower bound)", height=420)
    fig.update_layout(margin={"t": 70})
    fig.update_xaxes(range=[-0.02, 1.04], tickformat=".0%", row=1, col=1)
    # the histogram is the bound's distribution at a glance: counts in its hover, no axis of its own
    # (its ticks ran into the scatter's "100%" in a half-width chart)
    fig.update_xaxes(showticklabels=False, showgrid=False, row=1, col=2)
    fig.update_yaxes(range=[-0.03, 1.05], tickformat=".0%", row=1, col=1)
    fig.update_layout(showlegend=False)
    return fig


def population_costs(rows: list[dict], selected: int | None = None, paper: float = 0.3) -> go.Figure:
    shown = [r for r in rows if r["bound_time_ratio"] is not None and r["bound_flops_ratio"] is not None]
    fig = go.Figure(go.Scatter(
        x=[r["bound_flops_ratio"] for r in shown], y=[r["bound_time_ratio"] for r in shown], mode="markers", customdata=[[r["index"]] for r in shown],
        marker={"size": [16 if r["index"] == selected else 10 for r in shown], "color": PALETTE[1], "line": {"width": [2 if r["index"] == selected else 0 for r in shown], "color": "#222"}},
        hovertext=[f"{h}<br>time {r['bound_time_ratio']:.2f}×, FLOPs {r['bound_flops_ratio']:.2f}× brute force" for h, r in zip(_member_hover(shown), shown)],
        hoverinfo="text", name="one network",
    ))
    # On a log axis Plotly places a line's own annotation at 10^y, not at y: label the lines by hand, in log units.
    for value, dash, colour, text in ((1.0, "dash", "#666", "brute-force time"), (paper, "dot", PALETTE[2], f"Wu et al.: {paper:.0%}")):
        fig.add_hline(y=value, line_dash=dash, line_color=colour)
        fig.add_annotation(x=1, xref="paper", y=float(np.log10(value)), yref="y", text=text, showarrow=False, xanchor="right", yanchor="top", font={"color": colour})
    fig.add_vline(x=1.0, line_dash="dash", line_color="#666")
    styled(fig, "Cost of each proof against brute force", "FLOPs (bound ÷ brute force)", "measured time (bound ÷ brute force)", height=420)
    ticks = [0.03, 0.1, 0.3, 1, 3, 10, 30, 100]
    fig.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}×" for t in ticks])
    fig.update_xaxes(range=[0, max([1.1] + [1.1 * r["bound_flops_ratio"] for r in shown])])
    return fig


def two_phase_curve(history: dict, corrupt: float, title: str) -> go.Figure:
    """history of one corrupted-label run (train.fit_full_batch: corrupted_memorised, clean_train_accuracy, ...)."""
    steps = history["step"]
    fig = go.Figure()
    for key, name, colour, dash in (("corrupted_memorised", "wrong labels memorised", PALETTE[3], None),
                                    ("clean_train_accuracy", "clean training pairs", PALETTE[0], None),
                                    ("test_accuracy", "held-out pairs", PALETTE[2], None),
                                    ("train_accuracy", "all training pairs", "#777", "dot")):
        if key in history:
            fig.add_trace(go.Scatter(x=steps, y=history[key], name=name, line={"color": colour, "dash": dash}))
    fig.add_hline(y=1 - corrupt, line_dash="dash", line_color="#777", annotation_text=f"100(1−ξ) = {1 - corrupt:.0%}", annotation_position="bottom right")
    styled(fig, title, "full-batch training step", "accuracy", height=380)
    fig.update_yaxes(range=[-0.03, 1.08], tickformat=".0%")
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0}, margin={"t": 80})
    return fig
