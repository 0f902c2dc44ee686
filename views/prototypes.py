"""Prototypes: a network that decides by similarity to learned cases ("this looks like that")."""

import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.errors import InterpError
from interp_core.families.prototypes import sections as proto_sections
from interp_core.families.prototypes.explain import FLAG_CLASS_FLIP, FLAG_TOP_CHANGE
from interp_core.report import Metrics, Table, Text
from ui import cache, passport, report_export, sections, sidebar, state
from ui import foreign_layers, uploads
from ui import prototypes as proto_cache
from ui import components
from ui.components import chart, load_or_stop, show_error

# Harmless belt and braces: app.py already does this (both calls are idempotent).
state.load_url_once()
state.apply_pending()
sidebar.render("prototypes")
st.title("Prototypes")
st.markdown(
    "A **prototype network** keeps a handful of learned example cases (prototypes) and classifies a new input by how "
    "close it is to each of them: *this looks like that*. Every prediction is exactly the sum of one contribution per "
    "prototype, so the explanation is the model's own reasoning, not an approximation of it."
)

uploads.data_panel("prototypes")
foreign_layers.prototypes_panel()  # the user's own model (Home's model box): a prototype head on a layer they pick
name = st.session_state["recipe"]
recipe = recipes.get_recipe(name)
st.caption(recipe.description)
model = load_or_stop(name, cache.trained_model)

stamp = cache.artifact_stamp(name)
dataset = model.dataset
class_names = dataset.class_names
probabilistic = bool(getattr(model.model, "probabilistic", False))

# -- view controls (all mirrored into the URL) ---------------------------------------------------
if st.session_state.get("v_push") not in ("learned", "pushed"):
    st.session_state["v_push"] = "learned"
left, mid, right = st.columns([2, 1, 1])
left.radio(
    "Prototypes shown", ["learned", "pushed"], key="v_push", horizontal=True,
    format_func={"learned": "Learned (decoded from latent space)", "pushed": "Pushed onto the nearest real case"}.get,
    help="ProtoPNet's push replaces every prototype by the encoded training example of its class nearest to it, so each prototype is a real case; accuracy before and after is in the quality panel.",
)
pushed = st.session_state["v_push"] == "pushed"
try:
    with st.spinner("Analysing the prototypes (once per model)..."):
        view = proto_cache.view(name, stamp, pushed)
except InterpError as exc:
    show_error(exc, f"Analysing {name}")
    st.stop()
report = view.report
m = len(report.prototype_class)
methods = proto_sections.map_methods(view)  # PCA first: linear, spread out, easy to click
state.url_choice("v_pmap", methods)
mid.radio("Latent map", methods, key="v_pmap", format_func=str.upper, horizontal=True)
max_k = min(5, m)
if state.get_int("v_topk") is None or not 1 <= state.get_int("v_topk") <= max_k:
    st.session_state["v_topk"] = min(3, max_k)
else:
    st.session_state["v_topk"] = state.get_int("v_topk")
right.slider("Prototypes per explanation", 1, max_k, key="v_topk")
top_k = int(st.session_state["v_topk"])
labels = proto_sections.prototype_labels(view, class_names)

example = state.get_int("example", 0) or 0
method = st.session_state["v_pmap"]

# -- Global: the family's sections (the report and Compare draw the same), with the page's clicks ----
# Built once per stored model and setting (ui/prototypes.py); the map is redrawn for the example and prototype.
overview = proto_cache.global_section(name, stamp, pushed, method)
numbers, gallery, details, weights, _ = overview.items
sections.render_item(numbers)
st.caption(overview.intro)
components.heading(overview.title, level="header", divider="grey")
sections.render_item(gallery, key="proto_gallery")
with st.expander("Prototype details: class, purity, distance to a real example, weight to every class", expanded=dataset.modality != "image"):
    sections.render_item(details, table_title=False, column_config={
        "purity": st.column_config.ProgressColumn("purity", min_value=0.0, max_value=1.0, format="%.1f"),
        "distance to nearest real example": st.column_config.NumberColumn(format="%.3f", help="RMS distance per input value (scaled units) from the decoded prototype to its nearest training example."),
        "latent distance moved": st.column_config.NumberColumn(format="%.3f", help="Squared latent distance from the learned prototype to the training case it was pushed onto."),
        **{f"weight to {c}": st.column_config.NumberColumn(format="%.2f") for c in class_names},
    })


def selected_prototype() -> int:
    """The prototype in view: the URL's, else the one pinned last on this recipe, else P0."""
    pinned = passport.pinned("prototype", name)  # the prototype picked last on this recipe (the passport's item)
    chosen = state.get_int("v_proto", pinned if pinned is not None else 0)
    chosen = chosen if chosen is not None and 0 <= chosen < m else 0
    st.session_state["v_proto"] = chosen
    return chosen


def pin_prototype(index: int) -> None:
    passport.pin("prototype", name, index, labels[index], "views/prototypes.py")


@st.fragment
@report_export.recorded("proto_map_and_neighbours")
def map_and_neighbours() -> None:
    """The weights, the latent map and the chosen prototype's nearest training examples: a click on a
    star or a new prototype in the box reruns these blocks only; a click on a test point opens that
    example in the whole page."""
    state.apply_pending()
    proto_selected = selected_prototype()
    latent = proto_cache.latent_map(name, stamp, pushed, method, example, proto_selected)
    left, right = components.columns([1, 2])
    with left:
        sections.render_item(weights, key="proto_weights")
    with right:
        event = sections.render_item(latent, key=f"proto_map_{name}_{method}_{pushed}", on_select="rerun", selection_mode="points")
        clicked = [point for point in components.clicked_points(event) if len(point) == 2]  # customdata [kind, index]
        if clicked and components.new_click(f"_proto_last_map_{name}_{method}_{pushed}", clicked[0]):
            kind, index = clicked[0]
            if kind == 0 and index != example:
                state.request(example=index)
            elif kind == 2 and index != proto_selected:
                pin_prototype(index)
                state.request(scope="fragment", v_proto=index)

    neighbours = proto_cache.neighbours(name, stamp, pushed, proto_selected)
    components.heading(neighbours.title)
    st.selectbox("Prototype", list(range(m)), key="v_proto", format_func=lambda j: labels[j], help="Or click a star on the latent map.",
                 on_change=lambda: pin_prototype(int(st.session_state["v_proto"])))
    st.caption(neighbours.intro)
    (figure,) = neighbours.items
    sections.render_item(figure, key="proto_neighbours")
    state.write_url()  # a fragment's own rerun: the address bar shows the new prototype too


map_and_neighbours()

# -- Local ------------------------------------------------------------------------------------------
components.heading(f"Local: this looks like that (test example {example})", level="header", divider="grey")
figures = proto_cache.local_figures(name, stamp, pushed, example, top_k)
local = figures.local
true_class = int(dataset.y_test[example])
predicted = local.predicted
verdict = "correct" if predicted == true_class else "**wrong**"
st.markdown(
    f"True class **{class_names[true_class]}**, predicted **{class_names[predicted]}** with probability "
    f"{local.probabilities[predicted]:.2f} ({verdict}). Most similar prototype: **{labels[int(local.order[0])]}**."
)
if probabilistic and report.sampled is not None:
    sampled = report.sampled
    if local.flagged:
        reasons = []
        if local.top_change_rate >= FLAG_TOP_CHANGE:
            reasons.append(f"the most similar prototype changes in {local.top_change_rate:.0%} of {sampled.n_samples} sampled prototype sets")
        if local.class_flip_rate >= FLAG_CLASS_FLIP:
            reasons.append(f"{local.class_flip_rate:.0%} of the sampled sets predict another class")
        st.warning("Uncertain explanation: " + " and ".join(reasons) + ". Treat this prediction and its reasons with care.", icon=":material/warning:")
    else:
        st.success(f"Confident explanation: the most similar prototype is the same in {1 - local.top_change_rate:.0%} of {sampled.n_samples} sampled prototype sets and the class in {1 - local.class_flip_rate:.0%}.", icon=":material/check_circle:")

top = figures.top
left, right = st.columns([2, 3]) if dataset.modality != "tabular" else (st.container(), st.container())
with left:
    chart(figures.probabilities, figures.probabilities_key, key="proto_probs")
with right:
    chart(figures.looks_like_that, "looks_like_that", key="proto_looks_like")

rows = pd.DataFrame({
    "rank": range(1, len(top) + 1),
    "prototype": [labels[j] for j in top],
    "similarity": local.similarities[top],
    "training average": report.similarity_baseline[top],
    f"weight to {class_names[predicted]}": report.weights[top, predicted],
    f"contribution to {class_names[predicted]}": local.contributions[top],
})
if local.similarity_std is not None:
    rows.insert(3, "similarity SD (sampled)", local.similarity_std[top])
components.table(rows, hide_index=True, column_config={c: st.column_config.NumberColumn(format="%.3f") for c in rows.columns if c not in ("rank", "prototype")})
kind = getattr(model.model, "similarity_kind", "neg_distance")
st.caption(
    ("Similarity is minus the squared latent distance (Li et al.). " if kind == "neg_distance" else "Similarity is log((d+1)/(d+0.0001)) of the squared latent distance d (ProtoPNet). ")
    + f"A logit is the sum over all {m} prototypes of similarity x weight; a contribution is (similarity - training average) x weight, so the "
    f"contributions add up exactly to how far the logit of {class_names[predicted]} sits above its training average. "
    "Prototypes of other classes vote too: being unusually far from them also counts."
)
left, right = st.columns(2)
with left:
    chart(figures.contributions, "prototype_contributions", key="proto_contrib")
with right:
    if figures.spread is not None:
        chart(figures.spread, "similarity_spread", key="proto_spread")
    else:
        st.markdown("**Why this is faithful.** The bars on the left add up exactly to the logit the network computed: "
                    "no approximation or surrogate is involved. Switch to *Pushed onto the nearest real case* above to see "
                    "every prototype as a real training example; the quality panel shows what that costs in accuracy.")

# -- Misclassified examples -----------------------------------------------------------------------
misclassified = proto_cache.misclassified(name, stamp, pushed)
components.heading(misclassified.title, level="header", divider="grey")
table = misclassified.items[0]
if not isinstance(table, Table):  # every test example is right: the section's verdict says so
    sections.render_item(table)
else:
    st.caption(f"{misclassified.intro} Select a row to explain it above.")
    selection = sections.render_item(table, key=f"proto_wrong_{name}_{pushed}", on_select="rerun", selection_mode="single-row", column_config={
        "confidence": st.column_config.NumberColumn(format="%.2f"),
        "flagged": st.column_config.CheckboxColumn("flagged", help="Flagged uncertain by the sampled prototype sets."),
        "top changes": st.column_config.NumberColumn(format="%.2f", help="Share of sampled prototype sets whose most similar prototype differs."),
    })
    chosen_rows = components.selected_rows(selection)
    if chosen_rows and components.new_click(f"_proto_last_wrong_{name}_{pushed}", chosen_rows[0]):
        chosen = int(table.frame["example"].iloc[int(chosen_rows[0])])
        if chosen != example:
            state.request(example=chosen)

# -- Quality ----------------------------------------------------------------------------------------
quality = proto_cache.quality(name, stamp, pushed)
components.heading(quality.title, level="header", divider="grey")
for index, item in enumerate(quality.items):
    previous = quality.items[index - 1] if index else None
    if isinstance(item, Metrics):  # a quality number: drawn with its reading, the next item
        continue
    if isinstance(item, Text) and isinstance(previous, Metrics):
        c1, c2 = st.columns([1.3, 3], vertical_alignment="center")
        with c1:
            sections.render_item(previous)
        c2.markdown(item.text)
    elif isinstance(item, Text):
        st.markdown(item.text)
    else:
        sections.render_item(item, key="proto_unc")
st.caption(quality.intro)
