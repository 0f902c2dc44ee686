"""Rules: a black box explained by surrogate rules on its top-k features, how far to trust them,
and one example's path and nearest counterfactual."""

import numpy as np
import pandas as pd
import streamlit as st

from interp_core.errors import InterpError
from interp_core.families.rules import explain as rx
from interp_core.report import Figure, Table
from ui import cache, sections, sidebar, state
from ui import uploads
from ui import rules as cached
from ui import components
from ui.components import chart, load_or_stop, show_error

sidebar.render("rules")
st.title("Rules")
st.markdown(
    "A neural network (the **black box**) explained by **decision rules**: its features are ranked by how much it relies on them, "
    "a small tree is fitted to *the black box's own answers* on the top k features, and every leaf becomes a readable rule. "
    "**Fidelity** says how often the rules give the black box's answer on held-out data: the number that says how far to trust them."
)

uploads.data_panel("rules")
name = st.session_state["recipe"]
trained = load_or_stop(name, cache.trained_model)

stamp = cache.artifact_stamp(name)
try:
    data = cached.model_data(name, stamp)
    ranker = cached.ranker(name, stamp)
except InterpError as exc:
    show_error(exc, f"Explaining {name}")
    st.stop()
n_features = data.X_train.shape[1]
n_classes = len(data.class_names)


# -- settings --------------------------------------------------------------------------------
default_k, default_depth = rx.default_setting(name, n_features)
k_max = min(n_features, 40)
kinds = list(rx.SURROGATE_KINDS)
methods = ["combined", *ranker.importances_]
state.url_choice("v_surrogate", kinds, "tree")
state.url_choice("v_rank", methods, "combined")
state.url_int("v_k", 1, k_max, min(default_k, k_max))
state.url_int("v_depth", 1, 8, default_depth)
columns = st.columns([1.3, 1.3, 1, 1, 1.2] if n_classes > 2 else [1.3, 1.3, 1, 1])
kind = columns[0].selectbox("Surrogate", kinds, format_func=rx.SURROGATE_KINDS.get, key="v_surrogate",
                            help="A decision tree splits the data into boxes; a rule list is an ordered 'if ... else if ...' list (imodels' GreedyRuleList).")
method = columns[1].selectbox("Rank features by", methods, format_func=rx.RANKING_LABELS.get, key="v_rank",
                              help="Which importance picks the top k features. Combined averages integrated gradients and permutation importance.")
k = columns[2].slider("k (top features)", 1, k_max, key="v_k", help="How many of the top-ranked features the surrogate may split on.")
depth_label = "Depth" if kind == "tree" else "Rules (max)"
depth = columns[3].slider(depth_label, 1, 8, key="v_depth", help="The tree's maximum depth, or the rule list's maximum number of rules.")
positive_class = None
if n_classes > 2:
    state.url_choice("v_positive", [str(i) for i in range(n_classes)], str(n_classes - 1))
    positive = columns[4].selectbox("Rule list: class vs rest", [str(i) for i in range(n_classes)], format_func=lambda i: data.class_names[int(i)],
                                    key="v_positive", disabled=kind == "tree", help="A rule list answers a yes/no question: is it this class or not?")
    positive_class = int(positive) if kind == "rulelist" else None

setting = (kind, method, k, depth, positive_class)
try:
    report = cached.report(name, stamp, *setting)
except InterpError as exc:
    show_error(exc, "Fitting the surrogate")
    st.stop()
surrogate = report.surrogate
example = state.get_int("example", 0) or 0
example = example if 0 <= example < len(data.y_test) else 0
# A selected node belongs to one tree: another recipe or setting draws another tree, so it is dropped
# (a link's v_node is kept on the session's first run, where nothing was selected before).
owner = (name, *setting)
if st.session_state.get("_rules_node_owner", owner) != owner:
    st.session_state["v_node"] = None  # None, not absent: write_url then removes it from the address too
st.session_state["_rules_node_owner"] = owner

# -- how far to trust the rules --------------------------------------------------------------
# Every block is built once per stored model and setting (ui/rules.py); a click rebuilds what it changes.
trust = cached.trust_section(name, stamp, setting)
components.heading(trust.title)
for index, item in enumerate(trust.items):
    if isinstance(item, Table):
        sections.render_item(item, key="rules_truth", column_config={
            "true threshold": st.column_config.NumberColumn(format="%.4g"),
            "rules' threshold": st.column_config.NumberColumn(format="%.4g"),
            "gap (SD)": st.column_config.NumberColumn(format="%.3f", help="Distance between the thresholds in standard deviations of the feature.")})
    else:
        sections.render_item(item, key=f"rules_trust_{index}", table_title=False)

# -- which features the black box relies on ---------------------------------------------------
relies = cached.importance_section(name, stamp, setting)
components.heading(relies.title)
figures = [item for item in relies.items if isinstance(item, Figure)]
if len(figures) == 2:
    left, right = st.columns([3, 2])
    with left:
        sections.render_item(figures[0], key="rules_importance")
    with right:
        sections.render_item(figures[1], key="rules_importance_image")
else:
    sections.render_item(figures[0], key="rules_importance")
for item in relies.items:
    if not isinstance(item, Figure):
        sections.render_item(item)


# -- the rules -------------------------------------------------------------------------------
RULE_COLUMNS = {  # the rule after its class, wide and wrapped; the numbers narrow after it
    "rule_id": st.column_config.NumberColumn("#", width="small", help="Rule number (in list order for a rule list)"),
    "rule": st.column_config.TextColumn("Rule (if ...)", width="large"),
    "prediction": st.column_config.TextColumn("then", width="small"),
    "coverage": st.column_config.NumberColumn("Coverage", format="percent", width="small", help="Share of held-out examples the rule covers."),
    "support": st.column_config.NumberColumn("Support", width="small", help="Held-out examples the rule covers."),
    "precision": st.column_config.NumberColumn("Precision", format="percent", width="small",
                                               help="Against the black box: among covered examples, the share where the black box gives the rule's class (the rule's own fidelity)."),
    "accuracy": st.column_config.NumberColumn("Accuracy", format="percent", width="small", help="Against the true labels: among covered examples, the share whose true class is the rule's."),
}
RULE_WRAP = 60  # characters a line of the rule's column holds at 1024 px; a longer rule gets rows tall enough to wrap (Streamlit wraps text in rows over 64 px)


@st.fragment
def rules_block() -> None:
    """The tree, a clicked node's examples and the rules: a node click reruns only this block."""
    state.apply_pending()  # a node click queues v_node for this fragment's own rerun
    selected_node = state.get_int("v_node", None)
    if selected_node is not None and not 0 <= selected_node < len(report.nodes):
        selected_node = None
        st.session_state["v_node"] = None
    the_rules = cached.rules_section(name, stamp, setting, example, selected_node)
    tree, rules_listing, *disagreement = the_rules.items
    components.heading(the_rules.title)
    event = sections.render_item(tree, key=f"rules_tree_{name}_{kind}_{k}_{depth}_{method}_{positive_class}", on_select="rerun", selection_mode="points")
    node = components.clicked_index(event)
    if node is not None and node != selected_node and components.new_click("_rules_last_node", (stamp, *setting, node)):
        state.request("fragment", v_node=node)

    if selected_node is not None:
        row = report.nodes.iloc[selected_node]
        members = np.flatnonzero(cached.node_members(name, stamp, setting)[:, selected_node])
        what = f"rule leaf → {row['prediction']}" if row["is_leaf"] else f"split {row['split']}"
        st.markdown(f"**Node {selected_node}** ({what}): {len(members)} held-out examples. Select a row to explain that example.")
        shown_features = list(report.top_indices[: min(5, k)])
        node_rows = pd.DataFrame({
            "example": members,
            "black box": [data.class_names[c] for c in data.blackbox_test[members]],
            "rules": [report.class_names[c] for c in report.surrogate_test[members]],
            "agree": report.surrogate_test[members] == report.blackbox_test[members],
            "true class": [data.class_names[c] for c in data.y_test[members]],
            **{data.feature_names[f]: data.X_test[members, f] for f in shown_features},
        })
        picked = components.table(node_rows, hide_index=True, on_select="rerun", selection_mode="single-row", key=f"rules_node_rows_{selected_node}", height=240)
        rows = components.selected_rows(picked)
        if rows:
            chosen = int(node_rows["example"].iloc[rows[0]])
            if chosen != example and st.session_state.get("_rules_last_row") != (selected_node, chosen):
                st.session_state["_rules_last_row"] = (selected_node, chosen)
                state.request(example=chosen)  # the example changes the whole page: rerun it all

    st.markdown(f"**{rules_listing.title}**. {rules_listing.note}")
    longest = int(rules_listing.frame["rule"].str.len().max()) if len(rules_listing.frame) else 0
    sections.render_item(
        rules_listing,
        key="rules_table",
        table_title=False,
        # the rule in full beside its class (a narrow window scrolls to the numbers, it no longer cuts the rule)
        column_order=["rule_id", "prediction", "rule", "coverage", "precision", "accuracy", "support"],
        column_config=RULE_COLUMNS,
        row_height=max(68, 21 * min(5, -(-longest // RULE_WRAP)) + 14) if longest > RULE_WRAP else None,
    )
    with st.expander("Read the rules as text"):
        listing = report.rules.sort_values("rule_id")
        st.markdown("\n".join(
            f"{r.rule_id}. **if** {r.rule} **then {r.prediction}** (covers {r.coverage:.0%}; black box agrees on {r.precision:.0%})" if r.support else
            f"{r.rule_id}. **if** {r.rule} **then {r.prediction}** (covers no held-out example)"
            for r in listing.itertuples()))
    for item in disagreement:
        sections.render_item(item)
    state.write_url()  # a fragment's own rerun does not reach app.py, which mirrors the URL


rules_block()

# -- trade-offs ------------------------------------------------------------------------------
trade = cached.tradeoff_section(name, stamp, setting)
components.heading(trade.title)
for column, item, key in zip(st.columns(2), trade.items, ("rules_depth_curve", "rules_k_curve")):
    with column:
        sections.render_item(item, key=key)

# -- one example -----------------------------------------------------------------------------
components.heading(f"Example {example}")
path, counterfactual, example_figure = cached.example_block(name, stamp, setting, example)
bb_class = int(data.blackbox_test[example])
bb_label = report.class_names[int(report.blackbox_test[example])]
cols = st.columns(4)
components.metric(cols[0], "Black box says", data.class_names[bb_class], f"probability {data.blackbox_proba_test[example, bb_class]:.2f}", delta_color="off", delta_arrow="off")
agree = path.surrogate_class == bb_label
components.metric(cols[1], "Rules say", path.surrogate_class, "agree with the black box" if agree else "disagree with the black box",
               delta_color="green" if agree else "red", delta_arrow="off")
components.metric(cols[2], "True class", data.class_names[int(data.y_test[example])])
components.metric(cols[3], "Rule", f"#{int(report.rules.set_index('leaf').loc[path.leaf, 'rule_id'])}")
st.markdown(f"**Its rule:** if {path.rule} → **{path.surrogate_class}**")
if len(path.steps):
    steps = path.steps.assign(step=np.arange(1, len(path.steps) + 1))[["step", "feature", "value", "condition"]]
    components.table(steps, hide_index=True, key="rules_path",
                 column_config={"value": st.column_config.NumberColumn("its value", format="%.4g"), "condition": "so it goes"})

left, right = st.columns([1, 1] if trained.dataset.modality == "image" else [3, 2])
with left:
    st.markdown("**Nearest counterfactual**: the smallest change of the rules' features that changes the rules' answer.")
    if not counterfactual.found:
        st.info("The surrogate has a single rule, so no change of the features can change its answer; raise the depth.")
    else:
        if counterfactual.blackbox_flips:
            verdict = f"the black box **flips too**, to {counterfactual.blackbox_after} (probability {counterfactual.blackbox_proba_after.max():.2f})"
        elif counterfactual.blackbox_flip_scale is not None:
            verdict = (f"the black box **does not flip** (it still says {counterfactual.blackbox_after}); it flips when the same change is "
                       f"{counterfactual.blackbox_flip_scale:.2f}× as large, so its boundary lies a little beyond the rules' threshold")
        else:
            verdict = (f"the black box **does not flip**: it still says {counterfactual.blackbox_after}, even when the change is 3× as large, "
                       "so here the rules misjudge it")
        st.markdown(f"Changing {len(counterfactual.changes)} feature(s) by {counterfactual.distance:.2f} standard deviations in total moves the rules "
                    f"from {counterfactual.surrogate_before} to **{counterfactual.surrogate_after}**; {verdict}.")
        before_after = counterfactual.before_after(data.feature_names, report.top_indices).sort_values("changed", ascending=False, kind="stable")
        components.table(before_after, hide_index=True, key="rules_counterfactual",
                     column_config={"before": st.column_config.NumberColumn(format="%.4g"), "after": st.column_config.NumberColumn(format="%.4g"),
                                    "changed": st.column_config.CheckboxColumn("changed")})
        st.caption(f"New rule: if {counterfactual.rule_after} → {counterfactual.surrogate_after}. Only the top-{k} features may change; the others keep their values.")
with right:
    if trained.dataset.modality == "image":
        chart(example_figure, "rules_counterfactual_images", key="rules_cf_images")
    else:
        event = chart(example_figure, "rules_examples", key=f"rules_scatter_{name}_{kind}_{k}_{depth}_{method}", on_select="rerun", selection_mode="points")
        chosen = components.clicked_index(event)
        if chosen is not None and chosen != example and components.new_click("_rules_last_point", (stamp, chosen)):
            state.request(example=chosen)
