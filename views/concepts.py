"""Concepts: does the model use the concepts we care about (TCAV, with significance tests), and a
concept bottleneck model whose concepts you can set by hand and watch the prediction change."""

import streamlit as st

from interp_core import recipes
from interp_core.errors import InterpError
from interp_core.families.concepts import figures as figs
from interp_core.families.concepts import sections as family_sections
from interp_core.figures.models import class_probabilities, example_input
from ui import cache, sidebar, state
from ui import foreign_layers, uploads
from ui import concepts as adapters
from ui import concepts_page as tabs
from ui import components, sections
from ui.components import chart, load_or_stop, show_error

VIEWS = ["TCAV", "Concept bottleneck", "Define a concept"]

sidebar.render("concepts")
st.title("Concepts")
st.markdown(
    "Does the model use the **concepts people care about**? **TCAV** measures how often a class's score rises "
    "when a layer's activations move towards a concept, and tests that against random concepts. A **concept "
    "bottleneck model** predicts the concepts first and the class only from them, so you can set the concepts "
    "by hand and watch the prediction change."
)

uploads.data_panel("concepts")
foreign_layers.concepts_panel()  # the user's own model (Home's model box): TCAV at a layer they pick
name = st.session_state["recipe"]
recipe = recipes.get_recipe(name)
st.caption(recipe.description)
model = load_or_stop(name, adapters.trained)

stamp = cache.artifact_stamp(name)
dataset = model.dataset
tcav_result = model.extras.get("tcav")
is_cbm = model.extras.get("kind") == "cbm"
truth = family_sections.truth_of(dataset)
example = state.get_int("example", 0) or 0
example = min(max(example, 0), len(dataset.y_test) - 1)

headline, *notes = adapters.overview_section(name, stamp).items  # the same key numbers as the report's
sections.render_item(headline)
st.caption(f"{dataset.description} Trained on {model.manifest.get('device_name')} at {model.manifest.get('created')}, seed {model.manifest.get('seed')} ({model.status}).")
for note in notes:  # the dataset's ground truth, when it has one
    st.info(note.text, icon=":material/fact_check:")

view = state.url_choice("v_view", VIEWS, "TCAV")
st.segmented_control("View", VIEWS, key="v_view", label_visibility="collapsed")
view = st.session_state.get("v_view") or "TCAV"

page = tabs.Page(name, stamp, model, example, truth)
try:
    {"TCAV": tabs.render_tcav, "Concept bottleneck": tabs.render_cbm, "Define a concept": tabs.render_define}[view](page)
except InterpError as exc:
    show_error(exc, view)


# -- drill-down: one example -------------------------------------------------------------------
components.heading(f"Example {example}")
x = dataset.X_test[example]
true_class = int(dataset.y_test[example])
probabilities = cache.test_probabilities(name, stamp)[example]
predicted_class = int(probabilities.argmax())
st.caption(f"True class **{dataset.class_names[true_class]}**, predicted **{dataset.class_names[predicted_class]}** ({probabilities[predicted_class]:.2f}). Click a dot on the map or a row of a table to inspect another example.")
left, mid, right = st.columns(3)
with left:
    title = f"Example {example}: true class {dataset.class_names[true_class]}"
    if dataset.modality == "image":
        chart(figs.concept_image(x, title), "concept_image", key="ex_image")
    else:
        chart(example_input(x, dataset.modality, dataset.feature_names, title), "example_input", key="ex_input")
with mid:
    chart(class_probabilities(probabilities, dataset.class_names, true_class), "class_probabilities", key="ex_probs")
with right:
    predicted_concepts = adapters.test_concept_probabilities(name, stamp, model.extras["mode"])[example] if is_cbm else None
    true_concepts = dataset.concepts_test[example] if dataset.concepts_test is not None else None
    chart(figs.concept_values(dataset.concept_names, true_concepts, predicted_concepts), "concept_values", key="ex_concepts")

left, right = st.columns(2)
with left:
    if tcav_result is not None:
        layer = state.url_choice("v_layer", tcav_result.layer_names, tcav_result.layer_names[-1])
        values = adapters.sensitivities(name, stamp, layer, example, predicted_class)
        chart(figs.concept_sensitivity(values, tcav_result.concept_names, dataset.class_names[predicted_class], layer), "concept_sensitivity", key="ex_sensitivity")
with right:
    if not (view == "Define a concept" and st.session_state.get("v_uc_by") == "on the map"):
        coords, method = tabs.map_coordinates(name, stamp)
        options = ["class"] + list(dataset.concept_names or [])
        colour = state.url_choice("v_colour", options)
        st.selectbox("Colour the map by", options, key="v_colour")
        if colour == "class":
            values, names = dataset.y_test, dataset.class_names
        else:
            values, names = (dataset.concepts_test[:, dataset.concept_names.index(colour)] > 0.5).astype(int), [f"not {colour}", colour]
        key = f"ex_map_{name}_{colour}"
        chart(figs.concept_map(coords, values, names, colour, None, example, method, dragmode="pan"), "concept_map", key=key,
              on_select=components.on_click(key, lambda point: tabs.pick_example(point[0]), single=True), selection_mode="points")
