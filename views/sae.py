"""SAE features: what has this layer learned? A sparse autoencoder splits a layer's activations
into features; explore them as a table and a map, open one feature's page, see which features fire
on an example, and check how faithful the SAE is."""

import streamlit as st

from interp_core import recipes
from interp_core.errors import InterpError
from interp_core.families.sae import sections as family_sections
from ui import cache, components, passport, sidebar, state
from ui import foreign_layers, uploads
from ui import sae as adapters
from ui import sae_page as tabs
from ui import sections
from ui.components import load_or_stop, show_error

VIEWS = tabs.VIEWS

state.apply_pending()  # app.py applies it first in the app; AppTest runs this page on its own after switch_page
sidebar.render("sae")
st.title("SAE features")
st.caption(
    "A sparse autoencoder (SAE) rewrites each activation vector of one layer as a sum of a few "
    "**features** out of many. Each feature is a direction in the layer; a good SAE reconstructs the "
    "layer well with few features at a time, and its features fire on examples that have something in common."
)

uploads.data_panel("sae")
foreign_layers.done_message()
text_model = foreign_layers.sae_panel()  # the user's own model (Home's model box): an SAE at a layer they pick; a causal LM: a block, its features, steering
name = st.session_state["recipe"]
recipe = recipes.get_recipe(name)
model = load_or_stop(name, adapters.model)
if text_model:  # two SAEs on one page: say which one this is
    components.heading(f"The recipe in use: {name}")
    st.caption("Your model's SAE is in the panel above; below is the recipe picked in the sidebar, as on every page.")

stamp = cache.artifact_stamp(name)
analysis = model.extras["analysis"]
kind = model.extras["source_kind"]
features = analysis.features
width = len(features)
n_examples = analysis.codes.n
n_train = model.manifest["source"]["n_train"]

st.markdown(f"**{recipe.description}**  \n{model.manifest['source']['description']}")
sections.render_item(family_sections.headline(model))  # the same key numbers as the report's
opened = model.manifest.get("model_config", {}).get("opened")  # an SAELens SAE opened on a user's model's layer, not trained here
st.caption(f"Opened from '{opened}' at {model.manifest.get('created')}; measured on {n_examples:,} examples ({n_examples - n_train:,} of them held out)." if opened else
           f"Trained on {model.manifest.get('device_name')} at {model.manifest.get('created')} ({model.status}); {n_examples:,} examples ({n_train:,} used for training).")
adapters.saelens_download(name, model)

# The example passport: arriving from another page with an example of this SAE's data opens it in the
# Example view (test examples follow the n_train training ones); picking a test example here updates it.
passport_index = passport.index_on(name, model) if kind != "text" else None
if passport_index is not None and passport.switched():
    st.session_state["v_example"] = n_train + passport_index
    if st.session_state.get("v_view") not in VIEWS:
        st.session_state["v_view"] = "Example"
state.url_choice("v_view", VIEWS)
live = features.index[~features["dead"]]
selected = state.url_int("v_feature", 0, width - 1, int(live[0]) if len(live) else 0)
example_in_url = state.get_int("v_example", None)
if "v_example" in st.session_state and (example_in_url is None or not 0 <= example_in_url < n_examples):
    del st.session_state["v_example"]
state.write_url({"v_example": st.session_state.get("v_example")})  # the sidebar wrote the URL before these checks
shown_example = (name, state.get_int("v_example", None))  # a URL gives a string
previous_example = st.session_state.get("_sae_shown_example")
st.session_state["_sae_shown_example"] = shown_example
if kind != "text" and shown_example[1] is not None and shown_example[1] >= n_train:
    # A test example the user picked here, or one a link named, becomes the passport.
    picked_here = previous_example is not None and previous_example[0] == name and previous_example[1] not in (None, shown_example[1])
    from_link = previous_example is None and passport.current() is None
    if (picked_here or from_link) and passport.picked_on(name, model, shown_example[1] - n_train):
        st.rerun()  # the sidebar drew the passport's card before this choice
view = st.segmented_control("View", VIEWS, key="v_view", help="Features: table and map. Feature: one feature's page. Example: what fires on one input. Quality: how faithful the SAE is.")
view = view or VIEWS[0]

page = tabs.Page(name, stamp, model, selected)
try:
    {"Features": tabs.features_view, "Feature": tabs.feature_view, "Example": tabs.example_view, "Quality": tabs.quality_view}[view](page)
except InterpError as exc:
    show_error(exc, f"The {view} view")
