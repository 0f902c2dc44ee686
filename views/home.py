"""Home: what the explorer is for, one card per family, the model hub, and the recipe in use."""

import streamlit as st

from interp_core import recipes
from interp_core import sections as core_sections
from interp_core.figures.models import class_probabilities, example_input
from ui import cache, home, sections, sidebar, state, training_panel, uploads
from ui.catalog import FAMILY_PAGES
from ui import components, token_attributions
from ui.components import chart, load_or_stop, presenting


sidebar.render()
st.title("Interp Explorer")
st.markdown(
    "See **how a neural network decides**, from the whole model down to one example. "
    "Each page explains a model in a different way, and every explanation comes with a number "
    "that says how faithful it is. No code needed: pick a recipe, click around, share the URL."
)

components.heading("Ways to look inside a model")
# One row of cards; presenting, rows of three: at the larger font six cards broke words mid-way ("counterfactual-s").
per_row = 3 if presenting() else len(FAMILY_PAGES)
for start in range(0, len(FAMILY_PAGES), per_row):
    for column, family in zip(st.columns(per_row), FAMILY_PAGES[start : start + per_row]):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{family.title}**")
            st.caption(family.pitch)
            if family.path:
                st.page_link(family.path, label="Open", help=f"Open the {family.title} page", icon=family.icon)
            else:
                st.caption(":grey[**Not built yet**: this page arrives in a later release.]")



components.heading("Model hub")
st.caption("Every recipe is a dataset, a model and its settings. Shipped models come with the app; train or retrain any of them here.")
rows = home.hub_rows()
components.table(home.hub_table(rows), hide_index=True, column_config=home.COLUMNS)
retrain = None
for row in rows.itertuples():
    if row.status == "corrupted":  # a damaged file or a wrong manifest field: its sentence, and a way out
        st.error(f"{row.recipe}: {row.message}")
        if not presenting() and st.button(f"Retrain {row.recipe}", key=f"hub_retrain_{row.recipe}"):
            retrain = row.recipe
if presenting():  # fewer controls while presenting: the hub's table stays, its forms go
    st.caption("Training and uploads are hidden while presenting; switch Presentation off in the sidebar to use them.")
else:
    training_panel.render(retrain)
    uploads.data_panel(None)
    uploads.model_panel()

name = st.session_state["recipe"]
components.heading(f"Recipe in use: {name}")
recipe = recipes.get_recipe(name)
st.caption(recipe.description)
model = load_or_stop(name, cache.trained_model, hub="above")
if not model.is_classifier:
    family_page = next((p for p in FAMILY_PAGES if p.family == recipe.family and p.path), None)
    st.info(f"{name} is not a plain classifier: explore it on its family's page.")
    if family_page:
        st.page_link(family_page.path, label=f"Open {family_page.title}", icon=family_page.icon)
    st.stop()

stamp = cache.artifact_stamp(name)
# The model's blocks are Home's section of the report (interp_core.sections), drawn at the page's
# settings: built once per stored model and map (cached), the map redrawn alone for the example.
methods = core_sections.map_methods(cache.embedding_maps(name, stamp))
probabilities = cache.test_probabilities(name, stamp)
example = state.get_int("example", 0)
method = state.url_choice("v_map", methods) if len(methods) > 1 else methods[0]
section = cache.model_section(name, stamp, method)
numbers, curve, _ = section.items
embedding = cache.embedding_figure(name, stamp, method, example)
sections.render_item(numbers)
st.caption(section.intro)

left, right = components.columns(2)
with left:
    sections.render_item(curve, key="home_curve")  # the training curve, or why an uploaded model has none
with right:
    if len(methods) > 1:
        st.radio("Map", methods, format_func=str.upper, horizontal=True, key="v_map")
    event = sections.render_item(embedding, key=f"home_map_{name}_{method}", on_select="rerun", selection_mode="points")
    chosen = components.clicked_index(event)
    if chosen is not None and chosen != example and components.new_click("_last_click", (name, method, chosen)):
        state.request(example=chosen)

components.heading(f"Example {example}")
x = model.dataset.X_test[example]
true_class = int(model.dataset.y_test[example])
left, right = components.columns(2)
with left:
    title = f"Example {example}: true class {model.dataset.class_names[true_class]}"
    text = token_attributions.example_text(model, example)
    if text is not None:  # a text classifier: the tokens it reads, not its token ids as numbers
        st.markdown(f"**{title}**")
        st.code(text, language=None, wrap_lines=True)
        st.caption("The text as the model reads it: its tokens, padding dropped. Which tokens drove the prediction: open Time series.")
    else:
        tabular = model.dataset.modality == "tabular"  # a table row in standard deviations, so one large feature does not flatten the rest
        figure = example_input(x, model.dataset.modality, model.dataset.feature_names, title, reference=model.dataset.X_train if tabular else None)
        chart(figure, "example_input_scaled" if tabular else "example_input", key="home_example")
with right:
    chart(class_probabilities(probabilities[example], model.dataset.class_names, true_class), "class_probabilities", key="home_probs")
