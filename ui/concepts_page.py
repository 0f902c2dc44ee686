"""The Concepts page's three views (TCAV, concept bottleneck, define a concept), drawn for one
recipe's model; views/concepts.py draws the header, picks the view and adds the example drill-down.
TCAV and Concept bottleneck draw the sections of interp_core/families/concepts/sections.py (the
same objects the HTML report and Compare draw) with their pickers, sliders and clicks around them;
Define a concept is the user's own concept and exists on the page only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from interp_core.families.concepts import PAIRS
from interp_core.families.concepts import figures as figs
from interp_core.families.concepts import sections as family_sections
from interp_core.families.concepts.explain import MIN_CONCEPT_EXAMPLES
from interp_core.report import Figure, Metrics, Table, Text
from ui import cache, components, state, uploads
from ui import concepts as adapters
from ui.components import chart, show_error
from ui.sections import render_item

SOURCES = ["by class", "by concept label", "on the map"]


@dataclass
class Page:
    """What every view of the page reads: the recipe, its model and data, the example in view."""

    name: str
    stamp: str
    model: object
    example: int
    truth: dict | None

    @property
    def dataset(self):
        return self.model.dataset

    @property
    def tcav(self):
        return self.model.extras.get("tcav")

    @property
    def is_cbm(self) -> bool:
        return self.model.extras.get("kind") == "cbm"


def pick_example(chosen: int) -> None:
    """Open another example on the coming run (from a click's callback, before that run: one run a click)."""
    if chosen != state.get_int("example", 0):
        state.queue(example=int(chosen))


def select_example(chosen: int | None, source: str) -> None:
    """Open another example once per distinct click (a chart or table keeps its selection across reruns)."""
    if chosen is not None and chosen != state.get_int("example", 0) and components.new_click("_concepts_last_click", (source, chosen)):
        state.request(example=chosen)


def map_coordinates(name: str, stamp: str):
    maps = cache.embedding_maps(name, stamp)
    method = "umap" if "umap" in maps else "pca"
    return maps[method], method.upper()


# -- TCAV --------------------------------------------------------------------------------------
def tcav_columns() -> dict:
    """Headers and number formats of a table of TCAV results (the page's and a user concept's): words,
    not column names; p-values with two significant digits (0.33, 1.2e-7), not 3.29e-1."""
    number = st.column_config.NumberColumn
    return {
        "concept": "Concept", "class": "Class", "layer": "Layer", "significant": "Significant",
        "score": number("TCAV score", format="%.3f"),
        "score_std": number("Std over runs", format="%.3f"),
        "random_score": number("Random vs random", format="%.3f"),
        "p_value": number("p-value", format="%.2g"),
        "p_value_adjusted": number("p-value (Holm)", format="%.2g"),
        "cav_accuracy": number("CAV accuracy", format="%.3f"),
    }


def render_tcav(p: Page) -> None:
    """The TCAV section (as in the report) for the class, concept and layer picked above it."""
    name, result = p.name, p.tcav
    if result is None:
        st.warning(f"{name} has no stored TCAV results; retrain it in the model hub to compute them.")
        return
    top = st.container()
    left, mid, right = st.columns(3)
    state.url_choice("v_class", result.class_names)
    left.selectbox("Class", result.class_names, key="v_class", help="TCAV asks whether this class's score is sensitive to each concept.")
    state.url_choice("v_concept", result.concept_names)
    mid.selectbox("Concept for the box plot", result.concept_names, key="v_concept")
    state.url_choice("v_layer", result.layer_names, result.layer_names[-1])
    right.selectbox("Layer for the overview", result.layer_names, key="v_layer")
    k = result.class_names.index(st.session_state["v_class"])
    c = result.concept_names.index(st.session_state["v_concept"])
    l = result.layer_names.index(st.session_state["v_layer"])
    section = adapters.tcav_section(name, p.stamp, k, c, l)
    components.heading(section.title, where=top)
    bars, significance, box, heatmap, *rest = section.items  # the builder's order for one class and one layer
    render_item(bars, key="tcav_bars")
    render_item(significance)
    left, right = st.columns(2)
    with left:
        render_item(box, key="tcav_box")
    with right:
        render_item(heatmap, key="tcav_heatmap")
    for item in rest:
        if isinstance(item, Table):
            with st.expander(f"{item.title} as a table"):
                render_item(item, table_title=False, column_config=tcav_columns())
                st.download_button("Download CSV", item.frame.to_csv(index=False).encode(), file_name=f"tcav-{name}.csv", mime="text/csv", key="tcav_csv")
        elif isinstance(item, Text):  # how the check works; the comparison with the dataset's ground truth
            st.markdown(item.text)
        else:  # the check against the concepts' effects: its numbers and chart
            render_item(item, key="cace_vs_tcav" if isinstance(item, Figure) else None)


# -- concept bottleneck ------------------------------------------------------------------------
def _whatif_key(p: Page, mode: str, j: int) -> str:
    return f"wi_{p.name}_{mode}_{p.example}_{j}"


def _set_sliders(p: Page, mode: str, values: np.ndarray) -> None:
    for j, value in enumerate(values):
        st.session_state[_whatif_key(p, mode, j)] = float(round(float(value), 2))


def _restore_whatif_from_url(p: Page, mode: str, predicted: np.ndarray) -> None:
    """Slider values for this example come from the URL (v_whatif = 'example:mode:j=v,...') once, else the model's."""
    example = p.example
    if _whatif_key(p, mode, 0) in st.session_state:
        return
    values = np.round(predicted, 2).astype(float)
    raw = str(st.session_state.get("v_whatif") or "")
    parts = raw.split(":", 2)
    if len(parts) == 3 and parts[0] == str(example) and parts[1] == mode:
        for item in parts[2].split(","):
            try:
                j, value = item.split("=")
                if 0 <= int(j) < len(values):
                    values[int(j)] = min(max(float(value), 0.0), 1.0)
            except ValueError:
                continue
    _set_sliders(p, mode, values)


@st.fragment
def whatif_panel(p: Page, mode: str) -> None:
    name, stamp, dataset, example = p.name, p.stamp, p.dataset, p.example
    concepts = dataset.concept_names
    predicted = adapters.test_concept_probabilities(name, stamp, mode)[example]
    true_values = dataset.concepts_test[example]
    true_class = int(dataset.y_test[example])
    _restore_whatif_from_url(p, mode, predicted)
    left, right = st.columns([1, 1])
    with left:
        st.markdown(f"**Set the concepts of example {example}** (true class **{dataset.class_names[true_class]}**)")
        b1, b2 = st.columns(2)
        b1.button("Use the model's concepts", key="wi_reset", on_click=_set_sliders, args=(p, mode, predicted), width="stretch")
        b2.button("Use the true concepts", key="wi_truth", on_click=_set_sliders, args=(p, mode, true_values), width="stretch")
        values = []
        slider_columns = st.columns(2)
        for j, concept in enumerate(concepts):
            with slider_columns[j % 2]:
                label = f"{concept} (model {predicted[j]:.2f}, true {int(true_values[j])})"
                values.append(st.slider(label, 0.0, 1.0, step=0.01, key=_whatif_key(p, mode, j), help="0 = absent, 1 = present; the head reads the value as the concept's probability."))
    values = np.asarray(values, dtype=np.float32)
    original = adapters.what_if(name, mode, predicted)
    modified = adapters.what_if(name, mode, values)
    with right:
        before, after = int(original.argmax()), int(modified.argmax())
        changed = [concepts[j] for j in range(len(concepts)) if abs(values[j] - round(float(predicted[j]), 2)) > 1e-6]
        st.markdown(
            f"Prediction from the model's concepts: **{dataset.class_names[before]}** ({original[before]:.2f})  \n"
            f"Prediction from your concepts: **{dataset.class_names[after]}** ({modified[after]:.2f})"
            + ("  \n*changed by your edits*" if before != after else "")
        )
        st.caption("Edited: " + (", ".join(changed) if changed else "nothing yet — move a slider."))
        chart(figs.whatif_probabilities(original, modified, dataset.class_names, true_class), "whatif_probabilities", key="whatif_chart")
    overrides = ",".join(f"{j}={values[j]:.2f}" for j in range(len(concepts)) if abs(values[j] - round(float(predicted[j]), 2)) > 1e-6)
    st.session_state["v_whatif"] = f"{example}:{mode}:{overrides}" if overrides else None
    state.write_url()


def render_cbm(p: Page) -> None:
    """The concept bottleneck section (as in the report) for the training mode picked above it, with
    the what-if sliders after its numbers and a click on a misclassified example opening it."""
    name, stamp, model = p.name, p.stamp, p.model
    if not p.is_cbm:
        pair = PAIRS.get(name) or uploads.pair_of(name)
        st.info(f"{name} is a plain classifier: it has no concept bottleneck to steer. Its bottleneck counterpart on the same data is **{pair}**.")
        if pair and st.button(f"Switch to {pair}", key="to_pair", type="primary"):
            state.request(recipe=pair, v_view="Concept bottleneck")
        return
    top = st.container()
    modes = list(model.extras["cbm_reports"])
    main_mode = model.extras["mode"]
    state.url_choice("v_mode", modes, main_mode)
    st.radio("Training mode", modes, key="v_mode", horizontal=True, format_func=lambda m: m + (" (this recipe's model)" if m == main_mode else ""),
             help="independent: x->c and c->y trained apart on true concepts; sequential: c->y trained on x->c's predictions; joint: end to end with a concept loss.")
    mode = st.session_state["v_mode"]
    section = adapters.cbm_section(name, stamp, mode)
    components.heading(section.title, where=top)
    items = {item.how_to_read if isinstance(item, Figure) else getattr(item, "title", ""): item for item in section.items}
    numbers = next(item for item in section.items if isinstance(item, Metrics))
    notes = [item for item in section.items if isinstance(item, Text)]  # when correcting concepts hurts a mode
    render_item(numbers)
    whatif_panel(p, mode)
    left, right = st.columns(2)
    with left:
        render_item(items["intervention_curve"], key="cbm_curve")
        for note in notes:
            render_item(note)
    with right:
        render_item(items["concept_accuracy"], key="cbm_concept_acc")
    left, right = st.columns(2)
    if "head_weights" in items:
        with left:
            render_item(items["head_weights"], key="cbm_head")
    wrong = items[family_sections.WRONG_TABLE]
    with right if "head_weights" in items else left:
        st.markdown(f"**{wrong.title}** (select a row to inspect it)")
        key = f"cbm_wrong_{mode}"
        render_item(wrong, key=key, table_title=False, on_select=components.on_row(key, lambda row: pick_example(int(wrong.frame["example"].iloc[row]))), height=320,
                    column_config={"probability": st.column_config.NumberColumn(format="%.2f")})
    modes_table = items[family_sections.MODES_TABLE]
    with st.expander(f"All {modes_table.title.lower()} as a table"):
        render_item(modes_table, table_title=False, column_config={c: st.column_config.NumberColumn(format="%.3f") for c in modes_table.frame.columns if c != "mode"})


# -- define a concept ----------------------------------------------------------------------------
def _clear_map_selection(name: str) -> None:
    st.session_state[f"uc_map_{name}"] = []
    st.session_state[f"uc_map_gen_{name}"] = st.session_state.get(f"uc_map_gen_{name}", 0) + 1


def render_define(p: Page) -> None:
    name, stamp, dataset, example, tcav_result = p.name, p.stamp, p.dataset, p.example, p.tcav
    if tcav_result is None:
        st.warning(f"{name} has no TCAV layers stored; retrain it in the model hub.")
        return
    st.markdown("Pick test examples that show an idea, name it, and get its TCAV score and significance for every class and layer at once.")
    left, right = st.columns([2, 3])
    if st.session_state.get("v_uc_name") in (None, ""):
        st.session_state["v_uc_name"] = "my concept"
    concept_name = left.text_input("Name of the concept", key="v_uc_name", max_chars=60)
    state.url_choice("v_uc_by", SOURCES)
    source = right.radio("Choose the examples", SOURCES, key="v_uc_by", horizontal=True)
    chosen = np.zeros(0, dtype=int)
    if source == "by class":
        classes = state.url_multiselect(st, "Classes", dataset.class_names, "v_uc_classes", dataset.class_names[:1])
        chosen = np.flatnonzero(np.isin(dataset.y_test, [dataset.class_names.index(c) for c in classes]))
    elif source == "by concept label":
        if not dataset.concept_names:
            st.warning("This dataset has no concept labels; choose examples by class or on the map.")
        else:
            a, b = st.columns(2)
            present = state.url_multiselect(a, "Concepts that must be present", dataset.concept_names, "v_uc_present", dataset.concept_names[:1])
            absent = state.url_multiselect(b, "Concepts that must be absent", dataset.concept_names, "v_uc_absent", [])
            labels = dataset.concepts_test > 0.5
            keep = np.ones(len(dataset.y_test), dtype=bool)
            for concept in present:
                keep &= labels[:, dataset.concept_names.index(concept)]
            for concept in absent:
                keep &= ~labels[:, dataset.concept_names.index(concept)]
            chosen = np.flatnonzero(keep)
    else:
        coords, method = map_coordinates(name, stamp)
        # The map's key carries a generation that "Clear" bumps: a new key drops the old lasso, which
        # Streamlit would otherwise hand back on every rerun and so undo the clearing.
        map_key = f"uc_map_chart_{name}_{st.session_state.get(f'uc_map_gen_{name}', 0)}"
        # Read the selection made on last run's map before drawing, so the chosen dots are circled at once.
        area = components.area_selection(st.session_state.get(map_key))
        if area is not None:
            st.session_state[f"uc_map_{name}"] = np.unique(area).tolist()
        if f"uc_map_{name}" not in st.session_state and st.session_state.get("v_uc_map"):  # a shared link's chosen dots
            from_url = [int(v) for v in str(st.session_state["v_uc_map"]).split(",") if v.strip().isdigit()]
            st.session_state[f"uc_map_{name}"] = sorted({i for i in from_url if 0 <= i < len(dataset.y_test)})
        stored = np.asarray(st.session_state.get(f"uc_map_{name}", []), dtype=int)
        st.session_state["v_uc_map"] = ",".join(map(str, stored.tolist())) or None
        fig = figs.concept_map(coords, dataset.y_test, dataset.class_names, "class", stored, example, method, dragmode="lasso")
        event = chart(fig, "concept_map_select", key=map_key, on_select="rerun", selection_mode=("points", "box", "lasso"))
        select_example(components.clicked_index(event, single=True), "define-map")  # a click, when the toolbar is switched to pan
        chosen = stored
        st.button("Clear the chosen examples", key="uc_clear", on_click=_clear_map_selection, args=(name,), disabled=not len(stored))
    chosen = np.asarray(chosen, dtype=int)
    state.url_choice("v_uc_runs", [10, 15, 20, 30], 10, parse=int)
    n_random = st.select_slider("Random runs", [10, 15, 20, 30], key="v_uc_runs", help="More random sets give the t-test more power and take longer.")
    st.caption(f"{len(chosen)} test examples chosen (at least {MIN_CONCEPT_EXAMPLES} needed; at most {tcav_result.concept_sizes and max(tcav_result.concept_sizes) or 50} are used per CAV, all others form the random sets).")
    if len(chosen):
        preview = chosen[:16]
        if dataset.modality == "image":
            titles = [f"#{i} {dataset.class_names[dataset.y_test[i]]}" for i in preview]
            chart(figs.concept_gallery(dataset.X_test[preview], titles, title=f"Examples of '{concept_name}' (first {len(preview)} of {len(chosen)})"), "concept_gallery", key="uc_gallery")
        else:
            frame = pd.DataFrame(dataset.X_test[preview], columns=dataset.feature_names)
            frame.insert(0, "class", [dataset.class_names[dataset.y_test[i]] for i in preview])
            frame.insert(0, "example", preview)
            components.table(frame, hide_index=True, height=240)
    result = adapters.user_concept_result(name, stamp, concept_name, chosen, n_random)
    if st.button("Score this concept", type="primary", key="uc_score", disabled=len(chosen) == 0):
        with st.status(f"Training CAVs for '{concept_name}' against {n_random} random sets...", expanded=True) as status:
            bar = st.progress(0.0, text="starting")

            def progress(done: int, total: int) -> None:
                bar.progress(done / max(total, 1), text=f"{done}/{total} CAVs trained")

            try:
                result = adapters.score_user_concept(name, stamp, concept_name, chosen, n_random, progress)
            except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
                status.update(label=f"Scoring '{concept_name}' failed", state="error")
                show_error(exc, f"Scoring '{concept_name}'")
                return
            status.update(label=f"Scored '{concept_name}' on {len(result.layer_names)} layers and {len(result.class_names)} classes", state="complete", expanded=False)
    if result is None:
        return
    table = result.table()
    best = table.loc[table["p_value"].fillna(1.0).idxmin()]
    st.success(
        f"**{concept_name}** — strongest result: class **{best['class']}** at layer **{best['layer']}**, TCAV score {best['score']:.2f} "
        f"± {best['score_std']:.2f}, p = {best['p_value']:.2g} ({'significant' if best['significant'] else 'not significant'}); "
        f"{int(table['significant'].sum())} of {len(table)} class-layer tests are significant."
    )
    state.url_choice("v_uc_class", result.class_names)
    st.selectbox("Class", result.class_names, key="v_uc_class")
    k = result.class_names.index(st.session_state["v_uc_class"])
    left, right = st.columns(2)
    with left:
        chart(figs.tcav_bars(result, k, title=f"'{concept_name}' for class '{result.class_names[k]}' by layer"), "tcav_bars", key="uc_bars")
    with right:
        chart(figs.tcav_box(result, 0, k), "tcav_box", key="uc_box")
    components.table(table, hide_index=True, column_config=tcav_columns())

