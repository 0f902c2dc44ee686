"""Figures of the Rules page: feature importance with error bars, the surrogate tree (clickable
nodes, one example's path highlighted), fidelity trade-off curves, and held-out examples on the
two top features with the surrogate's thresholds. Results in, go.Figure out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from interp_core.figures.common import class_color, how_to_read, styled

how_to_read("rules_importance", "Each bar is how much the black box relies on a feature (mean over the training data); the whisker is ±1 standard deviation over 5 repeats. Coloured bars are the top k the surrogate may use.")
how_to_read("rules_tree", "The surrogate read top-down: each round node is a split (left branch: ≤, right: >), each square a rule's leaf. Size = held-out examples reaching it, colour = the black box's majority class there (a split's label gives its share; a leaf's, how often the black box agrees with the rule; hover for the full mix). The thick black line is the selected example's path. Click a node to list its examples.")
how_to_read("rules_tradeoff", "Held-out fidelity (agreement with the black box) and accuracy (against the true labels) when the surrogate is refitted at each setting; the star marks the setting in use. Higher is better, fewer rules are easier to read.")
how_to_read("rules_examples", "Held-out examples on the two most important features, coloured by the black box's class; a cross marks an example where the rules disagree with the black box. Dashed lines are the surrogate's thresholds on these features. Click a point to select that example.")
how_to_read("rules_counterfactual_images", "The selected image before and after the counterfactual change; red squares mark the pixels the change touched (only the top-k pixels may change).")
how_to_read("rules_importance_image", "Importance of each pixel for the black box (combined ranking), on the image grid; outlined squares are the top k pixels the rules may use.")

METHOD_AXES = {
    "combined": "share of total importance (IG and permutation averaged)",
    "integrated_gradients": "mean |integrated gradients| (logit units)",
    "feature_ablation": "mean |change of logit| when set to the mean",
    "permutation": "share of predictions that change when shuffled",
}
GREY = "#b8b8b8"


def importance_chart(table: pd.DataFrame, method: str, k: int, top_n: int = 20, label: str | None = None) -> go.Figure:
    """Horizontal bars of the ``top_n`` most important features with ±1 SD whiskers; the top k in colour.

    ``table``: FeatureImportance.table() (rank, feature, importance, spread), most important first.
    """
    shown = table.head(max(top_n, k)).iloc[::-1]
    colours = [class_color(0) if rank <= k else GREY for rank in shown["rank"]]
    fig = go.Figure(go.Bar(
        x=shown["importance"], y=shown["feature"], orientation="h", marker_color=colours,
        error_x={"type": "data", "array": shown["spread"], "visible": True, "color": "#444", "thickness": 1.2},
        customdata=shown["rank"], hovertemplate="%{y}: %{x:.4g} ± %{error_x.array:.2g}<br>rank %{customdata}<extra></extra>",
    ))
    title = f"Top features by {label or method} (top {k} in colour)"
    styled(fig, title, METHOD_AXES.get(method, "importance"), "feature", height=max(320, 22 * len(shown) + 110))
    fig.update_layout(margin={"l": 140})
    return fig


def importance_image(importance: np.ndarray, shape: tuple[int, int], top_indices, title: str = "Pixel importance") -> go.Figure:
    """An image-shaped heatmap of importances with the top-k pixels outlined."""
    h, w = shape
    grid = np.asarray(importance, dtype=float).reshape(h, w)
    fig = go.Figure(go.Heatmap(z=grid, colorscale="Blues", colorbar={"title": "importance"}, hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>"))
    for i in top_indices:
        r, c = divmod(int(i), w)
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line={"color": "#d62728", "width": 2})
    styled(fig, title, "column", "row", height=360)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", dtick=1)
    fig.update_xaxes(dtick=1)
    return fig


def _tree_layout(nodes: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """Leaves evenly spaced left to right (in-order), a split centred over its children, y = -depth."""
    by_id = nodes.set_index("node")
    position: dict[int, tuple[float, float]] = {}
    counter = [0]

    def place(i: int) -> float:
        row = by_id.loc[i]
        if row["is_leaf"]:
            x = float(counter[0])
            counter[0] += 1
        else:
            x = (place(int(row["left"])) + place(int(row["right"]))) / 2
        position[i] = (x, -float(row["depth"]))
        return x

    place(int(nodes["node"].iloc[0]))
    return position


TREE_WIDTH_PX = 560  # about the width a full-width tree's plot gets in a 1024-wide window; labels are sized to fit it
CHAR_PX = 5.5  # about the width of one character at the compact labels' font size


def _label_room(nodes: pd.DataFrame, n_leaves: int) -> dict[int, float]:
    """Pixels of width each node's label may take: its share of the leaves below it (a leaf: one)."""
    by_id = nodes.set_index("node")
    under: dict[int, int] = {}

    def count(i: int) -> int:
        row = by_id.loc[i]
        under[i] = 1 if row["is_leaf"] else count(int(row["left"])) + count(int(row["right"]))
        return under[i]

    count(int(nodes["node"].iloc[0]))
    return {i: under[i] * TREE_WIDTH_PX / max(n_leaves, 1) for i in under}


def _compact_label(row, room: float) -> str:
    """A large tree's node label when it fits its room: a leaf's class, a split's feature over its
    threshold; nothing where even that would overlap its neighbours (the hover still says it all)."""
    if row["is_leaf"]:
        lines = [f"→ {row['prediction']}"]  # its size and agreement are in the hover
    else:
        feature, _, threshold = str(row["split"]).rpartition(" ")
        lines = [feature.rsplit(" ", 1)[0], f"≤ {threshold}"]  # "pixel 4,4 ≤ 0.03125" -> "pixel 4,4" / "≤ 0.03125"
    if max(len(line) for line in lines) * CHAR_PX > room * 0.9:
        return ""
    return "<br>".join(lines)


def surrogate_tree(nodes: pd.DataFrame, class_names: list[str], path: list[int] | None = None, selected_node: int | None = None, title: str = "Surrogate tree") -> go.Figure:
    """The surrogate as a node-link diagram; ``nodes``: RuleSurrogate.node_table(). customdata = node id."""
    position = _tree_layout(nodes)
    path = list(path or [])
    on_path = set(zip(path[:-1], path[1:]))
    n_leaves = int(nodes["is_leaf"].sum())
    fig = go.Figure()
    # edges: normal ones in grey, the selected example's path in black on top
    for highlight in (False, True):
        xs, ys = [], []
        for row in nodes[nodes["parent"] >= 0].itertuples():
            if ((row.parent, row.node) in on_path) != highlight:
                continue
            (x0, y0), (x1, y1) = position[row.parent], position[row.node]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                     line={"color": "black" if highlight else "#c9c9c9", "width": 5 if highlight else 1.5},
                                     name="selected example's path" if highlight else "branches"))
    # edge labels (the condition that leads into a node), when there is room
    if n_leaves <= 16:
        labels = nodes[nodes["parent"] >= 0]
        left_child = nodes.set_index("node")["left"]
        fig.add_trace(go.Scatter(
            x=[(position[r.parent][0] + position[r.node][0]) / 2 for r in labels.itertuples()],
            y=[(position[r.parent][1] + position[r.node][1]) / 2 for r in labels.itertuples()],
            text=[" ".join(r.edge.rsplit(" ", 2)[-2:]) for r in labels.itertuples()],
            # beside the branch, away from it: left branches' labels to the left, right ones' to the right
            textposition=["top left" if left_child[r.parent] == r.node else "top right" for r in labels.itertuples()],
            mode="text", textfont={"size": 11, "color": "#555"}, hoverinfo="skip", showlegend=False,
        ))
    class_cols = [f"n_{c}" for c in class_names]
    room = _label_room(nodes, n_leaves)
    samples = nodes["samples"].to_numpy()
    size = 14 + 26 * np.sqrt(samples / max(samples.max(), 1))
    hover, text = [], []
    for row in nodes.to_dict("records"):
        counts = ", ".join(f"{c}: {row[col]}" for c, col in zip(class_names, class_cols))
        what = f"rule leaf → <b>{row['prediction']}</b>" if row["is_leaf"] else f"split: <b>{row['split']}</b>"
        hover.append(f"node {row['node']}<br>{what}<br>{row['samples']} held-out examples<br>black box says: {counts}")
        if n_leaves <= 16 and row["is_leaf"]:
            # a leaf: its class and how often the black box agrees there (the rule's precision)
            agree = row[f"n_{row['prediction']}"] / row["samples"] if row["samples"] else None
            text.append(f"→ {row['prediction']}<br>n={row['samples']}" + (f", {agree:.0%} agree" if agree is not None else ""))
        elif n_leaves <= 16:
            # a split: the black box's class mix, summarised as its majority share
            mix = f", {row[class_cols[row['majority']]] / row['samples']:.0%} {class_names[row['majority']]}" if row["samples"] else ""
            text.append(f"{row['split']}<br>n={row['samples']}{mix}")
        else:
            text.append(_compact_label(row, room[int(row["node"])]))
    colours = [class_color(int(m)) if m >= 0 else GREY for m in nodes["majority"]]
    outline_width = [4 if int(n) in path else 1 for n in nodes["node"]]
    outline_colour = ["black" if int(n) in path else "white" for n in nodes["node"]]
    fig.add_trace(go.Scatter(
        x=[position[int(n)][0] for n in nodes["node"]], y=[position[int(n)][1] for n in nodes["node"]],
        mode="markers+text", text=text, textposition=["bottom center" if leaf else "top center" for leaf in nodes["is_leaf"]],
        textfont={"size": 11 if n_leaves <= 8 else 10 if n_leaves <= 16 else 9}, hovertext=hover, hoverinfo="text", customdata=nodes["node"].to_numpy(), showlegend=False,
        marker={"size": size, "color": colours, "symbol": ["square" if leaf else "circle" for leaf in nodes["is_leaf"]],
                "line": {"width": outline_width, "color": outline_colour}, "opacity": 0.9},
        name="nodes",
    ))
    if selected_node is not None and selected_node in position:
        x, y = position[selected_node]
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", hoverinfo="skip", showlegend=False,
                                 marker={"size": 44, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#d62728"}}, name="selected node"))
    # a legend of the class colours
    for k, name in enumerate(class_names):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"size": 12, "color": class_color(k)}, name=f"black box: {name}"))
    depth = int(nodes["depth"].max())
    styled(fig, title, "", "depth", height=max(360, 120 * (depth + 1) + 120))
    fig.update_xaxes(visible=False, range=[-0.8, n_leaves - 0.2])
    fig.update_yaxes(tickvals=[-d for d in range(depth + 1)], ticktext=[str(d) for d in range(depth + 1)], range=[-depth - 0.7, 0.6], zeroline=False)
    fig.update_layout(clickmode="event+select", dragmode="pan")
    _legend_below(fig, y=-0.02)
    return fig


def tradeoff_chart(values, fidelity, accuracy, n_rules, chosen: int, parameter: str) -> go.Figure:
    """Fidelity and accuracy against depth or k, the chosen setting starred."""
    values = np.asarray(values)
    label = {"depth": "maximum depth of the surrogate", "k": "k (top-ranked features the surrogate may use)"}.get(parameter, parameter)
    hover = [f"{parameter} = {v}<br>{r} rules" for v, r in zip(values, n_rules)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=values, y=fidelity, mode="lines+markers", name="fidelity (vs black box)", line={"color": class_color(0)}, hovertext=hover, hovertemplate="%{hovertext}<br>fidelity %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=values, y=accuracy, mode="lines+markers", name="accuracy (vs true labels)", line={"color": class_color(1), "dash": "dot"}, hovertext=hover, hovertemplate="%{hovertext}<br>accuracy %{y:.3f}<extra></extra>"))
    at = np.flatnonzero(values == chosen)
    if len(at):
        i = int(at[0])
        fig.add_trace(go.Scatter(x=[chosen], y=[fidelity[i]], mode="markers+text", name="in use", text=[f"in use: {fidelity[i]:.3f}"], textposition="bottom right",
                                 marker={"symbol": "star", "size": 18, "color": "#d62728", "line": {"width": 1, "color": "black"}}))
    fig.add_vline(x=chosen, line_dash="dot", line_color="#d62728")
    low = float(np.nanmin(np.concatenate([fidelity, accuracy]))) if len(values) else 0.0
    styled(fig, f"Fidelity against {'depth' if parameter == 'depth' else 'k'}", label, "share of held-out examples", height=430)
    fig.update_yaxes(range=[max(0.0, low - 0.05), 1.01])
    if parameter == "k" and len(values) and values.max() > 20:
        ticks = sorted({v for v in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if v < values.max()} | {int(values.max())})
        fig.update_xaxes(type="log", tickvals=ticks, ticktext=[str(v) for v in ticks])
    else:
        fig.update_xaxes(tickvals=values)
    _legend_below(fig)
    return fig


def _legend_below(fig: go.Figure, y: float = -0.28) -> None:
    """Legends under the x-axis title: above the plot they collide with the title in narrow columns."""
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": y, "x": 0.0}, margin={"b": 120})


def examples_scatter(
    X2: np.ndarray,
    blackbox: np.ndarray,
    surrogate: np.ndarray,
    class_names: list[str],
    axis_names: tuple[str, str],
    thresholds: tuple[list[float], list[float]] = ([], []),
    selected: int | None = None,
) -> go.Figure:
    """Held-out examples on two features; colour = black-box class, cross = the rules disagree; customdata = example index."""
    fig = go.Figure()
    index = np.arange(len(X2))
    for k, name in enumerate(class_names):
        members = index[blackbox == k]
        if not len(members):
            continue
        disagree = surrogate[members] != k
        fig.add_trace(go.Scatter(
            x=X2[members, 0], y=X2[members, 1], mode="markers", name=f"black box: {name}",
            marker={"color": class_color(k), "size": np.where(disagree, 11, 7), "symbol": np.where(disagree, "x", "circle"), "line": {"width": 0.4, "color": "white"}},
            customdata=members,
            hovertext=[f"example {i}<br>black box: {name}<br>rules: {class_names[surrogate[i]]}" for i in members], hoverinfo="text",
        ))
    # the thresholds as one list of shapes (add_vline/add_hline re-validate every shape so far: 0.3 s for a deep tree)
    line = {"dash": "dash", "color": "#555", "width": 1}
    fig.update_layout(shapes=[{"type": "line", "xref": "x", "yref": "y domain", "x0": t, "x1": t, "y0": 0, "y1": 1, "line": line} for t in thresholds[0]]
                      + [{"type": "line", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": t, "y1": t, "line": line} for t in thresholds[1]])
    if selected is not None and 0 <= selected < len(X2):
        fig.add_trace(go.Scatter(x=[X2[selected, 0]], y=[X2[selected, 1]], mode="markers", name="selected",
                                 marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "black"}}, customdata=[selected], hoverinfo="skip"))
    styled(fig, "Held-out examples on the two top features", axis_names[0], axis_names[1], height=500)
    fig.update_layout(clickmode="event+select", dragmode="pan")
    _legend_below(fig)
    return fig


def counterfactual_images(before: np.ndarray, after: np.ndarray, shape: tuple[int, int], title: str = "Counterfactual") -> go.Figure:
    """Before and after side by side for image inputs, the changed pixels outlined in red."""
    from plotly.subplots import make_subplots

    h, w = shape
    before, after = np.asarray(before, dtype=float).reshape(h, w), np.asarray(after, dtype=float).reshape(h, w)
    low, high = float(min(before.min(), after.min())), float(max(before.max(), after.max()))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("before", "after"), horizontal_spacing=0.12)
    for col, image in ((1, before), (2, after)):
        fig.add_trace(go.Heatmap(z=image, colorscale="Greys", zmin=low, zmax=high, showscale=col == 2, colorbar={"title": "value"},
                                 hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>"), row=1, col=col)
        fig.update_yaxes(range=[h - 0.5, -0.5], constrain="domain", row=1, col=col)
        fig.update_xaxes(range=[-0.5, w - 0.5], constrain="domain", row=1, col=col)
    for r, c in zip(*np.nonzero(before != after)):
        for col in (1, 2):
            fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line={"color": "#d62728", "width": 3}, row=1, col=col)
    styled(fig, title, "column", "row", height=380)
    fig.update_xaxes(title_text="column")
    return fig
