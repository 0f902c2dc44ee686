"""Time series: which part of a signal drove a classification, by six attribution methods, each
scored against the ground truth (synthetic sets) and by deletion/insertion (every set).

The global views are the Time series sections (interp_core/families/timeseries/sections.py) that
the HTML report and Compare draw; this page adds the one-series view, the pickers and the map's clicks."""

import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.families.timeseries import sections as blocks
from interp_core.families.timeseries.figures import series_reading
from ui import cache, report_export, sidebar, state
from ui import uploads
from ui import timeseries as ts
from ui import causal_lm, components, token_attributions
from ui.components import chart, load_or_stop, show_error
from ui.sections import render_item

sidebar.render("timeseries")
st.title("Time series")
st.markdown(
    "Which part of a signal made the model decide? Six attribution methods colour each time step "
    "by how much it pushed the prediction. On the synthetic sets the truly decisive steps are known, "
    "so every method gets a **score against the ground truth** (AUPRC, as in TimeX); on every set, "
    "**deletion and insertion curves** check whether the steps a method points at really drive the model."
)

uploads.data_panel("timeseries")
causal_lm.timeseries_page_panel()  # a causal LM measured in Home's box: token attributions for its predicted next token
name = st.session_state["recipe"]
recipe = recipes.get_recipe(name)
if recipe.family != "timeseries":
    st.info(f"{name} is not a time-series recipe; pick one in the sidebar.")
    st.stop()
model = load_or_stop(name, cache.trained_model)
stamp = cache.artifact_stamp(name)
if token_attributions.is_text_model(model):  # a Hugging Face text classifier: token attributions instead of series
    token_attributions.render(name, model, stamp)
    st.stop()
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

# -- headline numbers -----------------------------------------------------------------------------
headline = ts.section(name, stamp, "headline")
st.caption(headline.intro)
render_item(headline.items[0])

# -- one series, explained by several methods -----------------------------------------------------
example = state.get_int("example", 0) or 0
true_class = int(dataset.y_test[example])
probabilities = cache.test_probabilities(name, stamp)[example]
predicted = int(probabilities.argmax())
all_methods = list(tsx.METHODS)
chosen = state.url_list("v_methods", all_methods, ["integrated_gradients", "occlusion"], limit=3)
components.heading(f"Series {example}: true class {dataset.class_names[true_class]}, predicted {dataset.class_names[predicted]} ({probabilities[predicted]:.2f})")


@st.fragment
@report_export.recorded("ts_series")
def series_view() -> None:
    """The methods, TSR and the explained class, with the series under each method: a change reruns
    this block only, and computes only the methods not seen yet for this series."""
    chosen = state.url_list("v_methods", all_methods, ["integrated_gradients", "occlusion"], limit=3)
    st.session_state.setdefault("ts_methods", chosen)
    if st.session_state["ts_methods"] != chosen:
        st.session_state["ts_methods"] = chosen
    picked = st.multiselect(
        "Methods side by side (up to 3)", all_methods, key="ts_methods", max_selections=3, format_func=tsx.method_label,
        on_change=lambda: st.session_state.update(v_methods=",".join(st.session_state["ts_methods"])),
    )
    mid, right = st.columns([1, 1.6], vertical_alignment="center")  # under the methods: room for their labels at 1024 px
    state.url_flag("v_tsr")
    mid.toggle("Rescale (TSR)", key="v_tsr", help="TSR (Ismail et al. 2020): rescale each method by how much each window of steps, then each channel, changes its map. Slower: it re-runs the method once per window.")
    explain_as = state.url_choice("v_target", ["predicted", "true"], "predicted")
    right.radio("Explain the", ["predicted", "true"], key="v_target", horizontal=True, format_func=lambda v: f"{v} class")
    if not picked:
        st.info("Pick at least one method to see its attribution.")
        state.write_url()
        return
    target_class = predicted if explain_as == "predicted" else true_class
    keys = [m + (tsx.TSR_SUFFIX if st.session_state["v_tsr"] else "") for m in picked]
    explained = {}
    try:
        for i, key in enumerate(keys):  # a method already computed for this series comes from the cache at once
            with st.spinner(f"Attributing series {example} with {tsx.method_label(key)} ({i + 1} of {len(keys)})..."):
                explained[key] = ts.explain_method(name, stamp, example, key, target_class)
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Computing attributions")
        st.stop()
    # Each method a full-width row on the same time axis: three side by side were 60 px wide at 1024 px.
    reading = series_reading(dataset.mask_test is not None)  # no green ground-truth bars to describe on a real set
    for key in keys:
        chart(ts.series_figure(name, stamp, example, key, target_class), reading, key=f"ts_series_{key}", explain=False)
    components.reading("series_attribution", reading)  # once for the methods' charts
    rows = []
    for key in keys:
        row = {"method": tsx.method_label(key)}
        row.update({k: explained[key].get(k) for k in ("auprc", "aup", "aur") if k in explained[key]})
        row.update(deletion_area=explained[key]["deletion_auc"], insertion_area=explained[key]["insertion_auc"])
        rows.append(row)
    components.table(pd.DataFrame(rows), hide_index=True, key="ts_series_scores", column_config={
        "method": "Method", "auprc": st.column_config.NumberColumn("AUPRC (this series)", format="%.3f"),
        "aup": st.column_config.NumberColumn("AUP", format="%.3f"), "aur": st.column_config.NumberColumn("AUR", format="%.3f"),
        "deletion_area": st.column_config.NumberColumn("Deletion area (lower is better)", format="%.3f"),
        "insertion_area": st.column_config.NumberColumn("Insertion area (higher is better)", format="%.3f"),
    })
    mask = dataset.mask_test[example] if dataset.mask_test is not None else None
    if mask is not None and not mask.any():
        st.caption("This series belongs to the class without a decisive pattern: it has no ground truth, so it gets no AUPRC.")
    state.write_url()


series_view()

# -- how the methods compare over many series ---------------------------------------------------
compare = ts.section(name, stamp, "comparison")
scores, *bars, curves = compare.items  # the AUPRC bars only where a ground truth exists
components.heading(compare.title)
st.caption(compare.intro)
render_item(scores, table_title=False, column_config={
    "method": "Method",
    "auprc": st.column_config.NumberColumn("AUPRC", format="%.3f"),
    "aup": st.column_config.NumberColumn("AUP", format="%.3f"),
    "aur": st.column_config.NumberColumn("AUR", format="%.3f"),
    "deletion_auc": st.column_config.NumberColumn("Deletion area (lower is better)", format="%.3f"),
    "insertion_auc": st.column_config.NumberColumn("Insertion area (higher is better)", format="%.3f"),
    "series_per_s": st.column_config.TextColumn("Series / s"),
})
# One above the other, each the page's width: side by side at 1024 px the two curve panels got
# about 200 px each and their titles and axis labels ran into each other.
if bars:
    render_item(bars[0], key="ts_auprc")
render_item(curves, key="ts_curves")

# -- class-average profile and explanation map ---------------------------------------------------
stored_methods = report.methods
map_methods = blocks.methods_with_map(report)
components.heading(blocks.WHERE)


@st.fragment
@report_export.recorded("ts_where")
def where_view() -> None:
    """The profile's and the map's method and colouring rerun this block only; a click on the map
    opens that series on the whole page."""
    profile_method = state.url_choice("v_profile", stored_methods, chosen[0] if chosen else stored_methods[0])
    map_method, colour = None, "class"
    if map_methods:
        map_method = state.url_choice("v_emap", map_methods, chosen[0] if chosen and chosen[0] in map_methods else map_methods[0])
        colour = state.url_choice("v_colour", ["class", "prediction"], "class")
    profile, *maps = ts.section(name, stamp, "where", profile_method, map_method, colour, example).items
    left, right = st.columns(2)
    with left:
        st.selectbox("Method for the class profile", stored_methods, key="v_profile", format_func=tsx.method_label)
        render_item(profile, key="ts_profile")
    with right:
        if not maps:
            st.info("This report has no explanation map.")
        else:
            a, b = st.columns(2)
            a.selectbox("Method for the map", map_methods, key="v_emap", format_func=tsx.method_label)
            b.radio("Colour by", ["class", "prediction"], key="v_colour", horizontal=True, format_func=lambda v: "true class" if v == "class" else "prediction")
            event = render_item(maps[0], key=f"ts_map_{name}_{map_method}_{colour}", on_select="rerun", selection_mode="points")
            chosen_index = components.clicked_index(event)
            if chosen_index is not None and chosen_index != example and st.session_state.get("_ts_last_click") != (name, map_method, chosen_index):
                st.session_state["_ts_last_click"] = (name, map_method, chosen_index)
                state.request(example=chosen_index)  # another series: the whole page follows
    state.write_url()


where_view()

# -- accuracy beside published results -----------------------------------------------------------
published = blocks.published_section(cache.catalog())
components.heading(published.title)
render_item(published.items[0], table_title=False, column_config={
    "recipe": "Recipe", "dataset": "Dataset", "architecture": "Architecture", "status": "Status",
    "test accuracy": st.column_config.NumberColumn("Test accuracy", format="%.3f"),
    "published FCN": st.column_config.TextColumn("Published FCN"),
    "published ResNet": st.column_config.TextColumn("Published ResNet"),
})
state.write_url()
