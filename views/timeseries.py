"""Time series: which part of a signal drove a classification, by six attribution methods, each
scored against the ground truth (synthetic sets) and by deletion/insertion (every set)."""

import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.families.timeseries.figures import auprc_bars, class_profile, explanation_map, faithfulness_curves, series_attribution
from ui import cache, sidebar, state
from ui import uploads
from ui import timeseries as ts
from ui import components
from ui.components import chart, load_or_stop, show_error

sidebar.render("timeseries")
st.title("Time series")
st.markdown(
    "Which part of a signal made the model decide? Six attribution methods colour each time step "
    "by how much it pushed the prediction. On the synthetic sets the truly decisive steps are known, "
    "so every method gets a **score against the ground truth** (AUPRC, as in TimeX); on every set, "
    "**deletion and insertion curves** check whether the steps a method points at really drive the model."
)

uploads.data_panel("timeseries")
name = st.session_state["recipe"]
recipe = recipes.get_recipe(name)
if recipe.family != "timeseries":
    st.info(f"{name} is not a time-series recipe; pick one in the sidebar.")
    st.stop()
model = load_or_stop(name, cache.trained_model)
stamp = cache.artifact_stamp(name)
dataset = model.dataset

report = ts.stored_report(name, stamp)
if report is None:
    with st.status(f"Scoring six attribution methods on {name} (first visit after training)...", expanded=True) as status:
        try:
            report = ts.compute_report(name, status)
        except Exception as exc:  # noqa: BLE001 - one sentence, the app keeps serving
            status.update(label="Scoring failed", state="error")
            show_error(exc, f"Scoring attributions for {name}")
            st.stop()
        status.update(label=f"Scored {len(report.methods)} methods on {len(report.example_index)} series", state="complete", expanded=False)
table = report.table()
has_truth = report.has_masks
published_acc = tsx.UCR_PUBLISHED.get(dataset.name)
published_auprc = tsx.TIMEX_PUBLISHED.get(dataset.name)

# -- headline numbers -----------------------------------------------------------------------------
st.caption(f"{recipe.description} {dataset.description}")
cols = st.columns(4)
components.metric(cols[0], "Test accuracy", f"{model.metrics['test_accuracy']:.3f}")
if published_acc:
    components.metric(cols[1], "Published FCN / ResNet", f"{published_acc[0]:.3f} / {published_acc[1]:.3f}", help="UCR/UEA test accuracy reported by dl-4-tsc (Ismail Fawaz et al. 2019).")
else:
    components.metric(cols[1], "Channels x steps", f"{dataset.input_shape[0]} x {dataset.input_shape[1]}")
scored = table[table["method"] != tsx.RANDOM]
if has_truth:
    best = scored.loc[scored["auprc"].idxmax()]
    components.metric(cols[2], "Best AUPRC", f"{best['auprc']:.3f}", help=f"{best['label']}; random attribution scores {table.set_index('method').loc[tsx.RANDOM, 'auprc']:.3f}.")
    if published_auprc:
        components.metric(cols[3], "TimeX published (IG / TimeX)", f"{published_auprc['integrated_gradients']:.3f} / {published_auprc['timex']:.3f}", help="AUPRC from the TimeX paper on its own version of this set (5000/1000 series, a transformer).")
else:
    best = scored.loc[scored["deletion_auc"].idxmin()]
    components.metric(cols[2], "Lowest deletion area", f"{best['deletion_auc']:.3f}", delta=best["label"], delta_color="off", delta_arrow="off", help="The most faithful method without ground truth: deleting the steps it points at first lowers the class probability fastest.")
    components.metric(cols[3], "Series scored", f"{len(report.example_index)}")

# -- one series, explained by several methods -----------------------------------------------------
example = state.get_int("example", 0) or 0
x = dataset.X_test[example]
true_class = int(dataset.y_test[example])
probabilities = cache.test_probabilities(name, stamp)[example]
predicted = int(probabilities.argmax())
components.heading(f"Series {example}: true class {dataset.class_names[true_class]}, predicted {dataset.class_names[predicted]} ({probabilities[predicted]:.2f})")
all_methods = list(tsx.METHODS)
left, mid, right = st.columns([3, 1.3, 1.5], vertical_alignment="bottom")
chosen = state.url_list("v_methods", all_methods, ["integrated_gradients", "occlusion"], limit=3)
st.session_state.setdefault("ts_methods", chosen)
if st.session_state["ts_methods"] != chosen:
    st.session_state["ts_methods"] = chosen
picked = left.multiselect(
    "Methods side by side (up to 3)", all_methods, key="ts_methods", max_selections=3, format_func=tsx.method_label,
    on_change=lambda: st.session_state.update(v_methods=",".join(st.session_state["ts_methods"])),
)
state.url_flag("v_tsr")
mid.toggle("Rescale (TSR)", key="v_tsr", help="TSR (Ismail et al. 2020): rescale each method by how much each window of steps, then each channel, changes its map. Slower: it re-runs the method once per window.")
explain_as = state.url_choice("v_target", ["predicted", "true"], "predicted")
right.radio("Explain the", ["predicted", "true"], key="v_target", horizontal=True, format_func=lambda v: f"{v} class")
if not picked:
    st.info("Pick at least one method to see its attribution.")
else:
    target_class = predicted if explain_as == "predicted" else true_class
    keys = tuple(m + (tsx.TSR_SUFFIX if st.session_state["v_tsr"] else "") for m in picked)
    try:
        with st.spinner(f"Attributing series {example} with {len(keys)} method(s)..."):
            explained = ts.explain_series(name, stamp, example, keys, target_class)
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Computing attributions")
        st.stop()
    mask = dataset.mask_test[example] if dataset.mask_test is not None else None
    for column, key in zip(st.columns(len(keys)), keys):
        with column:
            fig = series_attribution(
                x, explained[key]["attribution"], dataset.feature_names, mask,
                title=f"{tsx.method_label(key)} toward '{dataset.class_names[target_class]}'",
            )
            chart(fig, "series_attribution", key=f"ts_series_{key}")
    rows = []
    for key in keys:
        row = {"method": tsx.method_label(key)}
        row.update({k: explained[key].get(k) for k in ("auprc", "aup", "aur") if k in explained[key]})
        row.update(deletion_area=explained[key]["deletion_auc"], insertion_area=explained[key]["insertion_auc"])
        rows.append(row)
    components.table(pd.DataFrame(rows), hide_index=True, column_config={
        "method": "Method", "auprc": st.column_config.NumberColumn("AUPRC (this series)", format="%.3f"),
        "aup": st.column_config.NumberColumn("AUP", format="%.3f"), "aur": st.column_config.NumberColumn("AUR", format="%.3f"),
        "deletion_area": st.column_config.NumberColumn("Deletion area (lower is better)", format="%.3f"),
        "insertion_area": st.column_config.NumberColumn("Insertion area (higher is better)", format="%.3f"),
    })
    if mask is not None and not mask.any():
        st.caption("This series belongs to the class without a decisive pattern: it has no ground truth, so it gets no AUPRC.")

# -- how the methods compare over many series ---------------------------------------------------
components.heading("How the methods compare")
st.caption(
    f"Every method on {len(report.example_index)} test series, each explained toward its true class (as TimeX scores). "
    + ("AUPRC, AUP and AUR: agreement with the ground-truth mask after min-max scaling each map (1 is perfect). " if has_truth else "")
    + "Deletion and insertion areas: see the curves below. Series per second: attribution speed on "
    + f"{'a GPU' if report.device == 'cuda' else 'the CPU'} when the model was stored."
)
view = table.drop(columns=["method"]).rename(columns={"label": "method"})
components.table(view, hide_index=True, column_config={
    "method": "Method",
    "auprc": st.column_config.NumberColumn("AUPRC", format="%.3f"),
    "aup": st.column_config.NumberColumn("AUP", format="%.3f"),
    "aur": st.column_config.NumberColumn("AUR", format="%.3f"),
    "deletion_auc": st.column_config.NumberColumn("Deletion area (lower is better)", format="%.3f"),
    "insertion_auc": st.column_config.NumberColumn("Insertion area (higher is better)", format="%.3f"),
    "series_per_s": st.column_config.NumberColumn("Series / s", format="%.1f"),
})
left, right = st.columns([2, 3]) if has_truth else (None, st.container())  # bars need less width than the two curve panels
if has_truth:
    with left:
        published = {f"TimeX paper, {tsx.method_label(k) if k in tsx.METHODS else 'TimeX'}": v for k, v in (published_auprc or {}).items()}
        chart(auprc_bars(table, published), "auprc_bars", key="ts_auprc")
with right:
    curves = {row.label: (report.arrays[row.method]["deletion_curve"], report.arrays[row.method]["insertion_curve"]) for row in table.itertuples()}
    chart(faithfulness_curves(report.fractions, curves), "faithfulness_curves", key="ts_curves")

# -- class-average profile and explanation map ---------------------------------------------------
components.heading("Where each method looks, and which series it explains alike")
stored_methods = report.methods
left, right = st.columns(2)
with left:
    profile_method = state.url_choice("v_profile", stored_methods, picked[0] if picked else stored_methods[0])
    st.selectbox("Method for the class profile", stored_methods, key="v_profile", format_func=tsx.method_label)
    profile_fig = class_profile(report.arrays[profile_method]["profile"], dataset.class_names, dataset.feature_names, title=f"Class-average profile: {tsx.method_label(profile_method)}")
    chart(profile_fig, "class_profile", key="ts_profile")
with right:
    map_methods = [m for m in stored_methods if "map" in report.arrays[m]]
    if not map_methods:
        st.info("This report has no explanation map.")
    else:
        map_method = state.url_choice("v_emap", map_methods, picked[0] if picked and picked[0] in map_methods else map_methods[0])
        a, b = st.columns(2)
        a.selectbox("Method for the map", map_methods, key="v_emap", format_func=tsx.method_label)
        colour = state.url_choice("v_colour", ["class", "prediction"], "class")
        b.radio("Colour by", ["class", "prediction"], key="v_colour", horizontal=True, format_func=lambda v: "true class" if v == "class" else "prediction")
        fig = explanation_map(
            report.arrays[map_method]["map"], report.example_index, report.labels, report.predictions, dataset.class_names,
            color_by=colour, selected=example, title=f"Explanation map: {tsx.method_label(map_method)}", method=(report.map_method or "pca").upper(),
        )
        event = chart(fig, "explanation_map", key=f"ts_map_{name}_{map_method}_{colour}", on_select="rerun", selection_mode="points")
        chosen_index = components.clicked_index(event)
        if chosen_index is not None and chosen_index != example and st.session_state.get("_ts_last_click") != (name, map_method, chosen_index):
            st.session_state["_ts_last_click"] = (name, map_method, chosen_index)
            state.request(example=chosen_index)

# -- accuracy beside published results -----------------------------------------------------------
components.heading("Accuracy beside published results")
catalog = cache.catalog()
rows = []
for r in recipes.list_recipes("timeseries"):
    status_row = recipes.recipe_status(r, catalog)
    fcn, resnet = tsx.UCR_PUBLISHED.get(r.dataset, (None, None))
    rows.append({"recipe": r.name, "dataset": r.dataset, "model": r.arch, "test_accuracy": status_row["test_accuracy"], "published_fcn": fcn, "published_resnet": resnet, "status": status_row["status"]})
components.table(pd.DataFrame(rows), hide_index=True, column_config={
    "recipe": "Recipe", "dataset": "Dataset", "model": "Architecture", "status": "Status",
    "test_accuracy": st.column_config.NumberColumn("Test accuracy", format="%.3f"),
    "published_fcn": st.column_config.NumberColumn("Published FCN", format="%.3f"),
    "published_resnet": st.column_config.NumberColumn("Published ResNet", format="%.3f"),
})
st.caption("Published: UCR/UEA test accuracy from dl-4-tsc (Ismail Fawaz et al. 2019), same train/test split. Synthetic sets and BasicMotions have no published figure in our references. ArrowHead is measured by the benchmark (docs/timeseries.md), not shipped.")
state.write_url()
