"""Prototypes: a network that decides by similarity to learned cases ("this looks like that")."""

import numpy as np
import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.errors import InterpError
from interp_core.families.prototypes.explain import FLAG_CLASS_FLIP, FLAG_TOP_CHANGE, PURITY_NEIGHBOURS, metric_readings
from interp_core.figures.common import class_color
from interp_core.figures.models import class_probabilities
from interp_core.families.prototypes.figures import (
    latent_map,
    looks_like_that,
    picture_grid,
    predictive_distribution,
    profile_heatmap,
    prototype_contributions,
    prototype_label,
    similarity_spread,
    uncertainty_by_correctness,
    weight_heatmap,
)
from ui import cache, passport, sidebar, state
from ui import uploads
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
report, push = view.report, view.push
m = len(report.prototype_class)
methods = [k for k in ("pca", "umap") if k in view.maps]  # PCA first: linear, spread out, easy to click
if st.session_state.get("v_pmap") not in methods:
    st.session_state["v_pmap"] = methods[0]
mid.radio("Latent map", methods, key="v_pmap", format_func=str.upper, horizontal=True)
max_k = min(5, m)
if state.get_int("v_topk") is None or not 1 <= state.get_int("v_topk") <= max_k:
    st.session_state["v_topk"] = min(3, max_k)
else:
    st.session_state["v_topk"] = state.get_int("v_topk")
right.slider("Prototypes per explanation", 1, max_k, key="v_topk")
top_k = int(st.session_state["v_topk"])
labels = [prototype_label(j, report.prototype_class, class_names) for j in range(m)]
proto_colors = [class_color(int(c)) for c in report.prototype_class]

metrics = report.metrics
cols = st.columns(5 if probabilistic else 4)
components.metric(cols[0], "Test accuracy", f"{metrics['test_accuracy']:.3f}", help="Share of held-out examples classified correctly.")
components.metric(cols[1], "Prototype purity", f"{metrics['prototype_purity']:.2f}", help=f"Share of a prototype's {PURITY_NEIGHBOURS} nearest training examples in its class, averaged.")
components.metric(cols[2], "Stability", f"{metrics['stability']:.2f}", help="Share of test examples whose most similar prototype survives small input noise.")
components.metric(cols[3], "Prototypes", f"{m}", help="Learned cases in the prototype layer, assigned equally to the classes.")
if probabilistic:
    auroc = metrics.get("uncertainty_auroc")
    components.metric(cols[4], "Uncertainty AUROC", "n/a" if auroc is None else f"{auroc:.2f}", help="How well predictive uncertainty separates wrong from right predictions (0.5 = chance).")
st.caption(f"Pictures show {view.picture_source}. {dataset.description}")

# -- Global -----------------------------------------------------------------------------------------
components.heading("Global: the prototypes", level="header", divider="grey")
purity = report.purity.purity
titles = [f"{labels[j]}<br>purity {purity[j]:.1f}" for j in range(m)]
if dataset.modality == "tabular":
    fig = profile_heatmap(view.prototype_scaled, view.prototype_pictures, [f"{labels[j]}, purity {purity[j]:.1f}" for j in range(m)], dataset.feature_names or [], "Prototype gallery: feature profiles")
    chart(fig, "prototype_profiles", key="proto_gallery")
else:
    columns = 10 if dataset.modality == "image" else 3
    references = None if pushed or dataset.modality != "series" else dataset.X_train[report.decoded_nearest]
    weight_notes = ["weights: " + ", ".join(f"{c} {report.weights[j, k]:+.2f}" for k, c in enumerate(class_names)) for j in range(m)]
    fig = picture_grid(view.prototype_pictures, titles, dataset.modality, "Prototype gallery", columns=columns, references=references, colors=proto_colors, tile_height=130 if dataset.modality == "image" else 200, notes=weight_notes)
    chart(fig, "prototype_gallery_pushed" if pushed else "prototype_gallery", key="proto_gallery")

details = pd.DataFrame({
    "prototype": [f"P{j}" for j in range(m)],
    "class": [class_names[int(c)] for c in report.prototype_class],
    "purity": purity,
})
if pushed:
    details["pushed onto training example"] = push.train_index
    details["latent distance moved"] = push.moved
else:
    details["distance to nearest real example"] = report.decoded_distance
    details["nearest training example"] = report.decoded_nearest
if probabilistic:
    details["spread (mean SD)"] = report.prototype_std.mean(axis=1)
for k, cname in enumerate(class_names):
    details[f"weight to {cname}"] = report.weights[:, k]
with st.expander("Prototype details: class, purity, distance to a real example, weight to every class", expanded=dataset.modality != "image"):
    components.table(details, hide_index=True, column_config={
        "purity": st.column_config.ProgressColumn("purity", min_value=0.0, max_value=1.0, format="%.1f"),
        "distance to nearest real example": st.column_config.NumberColumn(format="%.3f", help="RMS distance per input value (scaled units) from the decoded prototype to its nearest training example."),
        "latent distance moved": st.column_config.NumberColumn(format="%.3f", help="Squared latent distance from the learned prototype to the training case it was pushed onto."),
        **{f"weight to {c}": st.column_config.NumberColumn(format="%.2f") for c in class_names},
    })

example = state.get_int("example", 0) or 0
pinned_proto = passport.pinned("prototype", name)  # the prototype picked last on this recipe (the passport's item)
proto_selected = state.get_int("v_proto", pinned_proto if pinned_proto is not None else 0)
if proto_selected is None or not 0 <= proto_selected < m:
    proto_selected = 0
st.session_state["v_proto"] = proto_selected


def pin_prototype(index: int) -> None:
    passport.pin("prototype", name, index, labels[index], "views/prototypes.py")

left, right = st.columns([1, 2])
with left:
    chart(weight_heatmap(report.weights, report.prototype_class, class_names), "prototype_weights", key="proto_weights")
with right:
    method = st.session_state["v_pmap"]
    fig = latent_map(view.maps[method], len(dataset.y_train), dataset.y_train, dataset.y_test, report.test.predictions, report.prototype_class, class_names, example, proto_selected, method.upper())
    event = chart(fig, "latent_map", key=f"proto_map_{name}_{method}_{pushed}", on_select="rerun", selection_mode="points")
    clicked = [point for point in components.clicked_points(event) if len(point) == 2]  # customdata [kind, index]
    if clicked and components.new_click(f"_proto_last_map_{name}_{method}_{pushed}", clicked[0]):
        kind, index = clicked[0]
        if kind == 0 and index != example:
            state.request(example=index)
        elif kind == 2 and index != proto_selected:
            pin_prototype(index)
            state.request(v_proto=index)

components.heading(f"Nearest training examples of prototype P{proto_selected}")
st.selectbox("Prototype", list(range(m)), key="v_proto", format_func=lambda j: labels[j], help="Or click a star on the latent map.",
             on_change=lambda: pin_prototype(int(st.session_state["v_proto"])))
neighbours = report.purity.neighbours[proto_selected]
neighbour_titles = [f"#{i} ({class_names[int(dataset.y_train[i])]})<br>d={d:.2f}" for i, d in zip(neighbours, report.purity.distances[proto_selected])]
st.caption(
    f"{labels[proto_selected]}: purity {purity[proto_selected]:.1f} ({int(round(purity[proto_selected] * len(neighbours)))} of its {len(neighbours)} nearest training examples are of class "
    f"{class_names[int(report.prototype_class[proto_selected])]}); weight to its own class {report.weights[proto_selected, int(report.prototype_class[proto_selected])]:.2f}."
)
if dataset.modality == "tabular":
    train_scaled = proto_cache.scaled(name, stamp, "train")
    fig = profile_heatmap(
        np.concatenate([view.prototype_scaled[proto_selected][None], train_scaled[neighbours]]),
        np.concatenate([np.asarray(view.prototype_pictures[proto_selected]).reshape(1, -1), dataset.X_train[neighbours].reshape(len(neighbours), -1)]),
        [labels[proto_selected], *[t.replace("<br>", " ") for t in neighbour_titles]], dataset.feature_names or [], f"{labels[proto_selected]} and its nearest training examples",
    )
elif dataset.modality == "image":
    fig = picture_grid(np.concatenate([view.prototype_pictures[proto_selected][None], dataset.X_train[neighbours]]), [labels[proto_selected], *neighbour_titles], "image", f"{labels[proto_selected]} and its nearest training examples", columns=11, tile_height=150)
else:
    fig = picture_grid(dataset.X_train[neighbours], neighbour_titles, "series", f"{labels[proto_selected]} (black) and its nearest training examples", columns=5, colors=[class_color(int(dataset.y_train[i])) for i in neighbours], overlay=view.prototype_pictures[proto_selected], overlay_name=labels[proto_selected], tile_height=170)
chart(fig, "nearest_training_examples", key="proto_neighbours")

# -- Local ------------------------------------------------------------------------------------------
components.heading(f"Local: this looks like that (test example {example})", level="header", divider="grey")
local = report.local(example)
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

top = [int(j) for j in local.order[:top_k]]
x = dataset.X_test[example]
pictures = view.prototype_pictures[top]
pic_titles = [f"{labels[j]}<br>similarity {local.similarities[j]:.2f}<br>contribution {local.contributions[j]:+.2f}" for j in top]
test_scaled = proto_cache.scaled(name, stamp, "test") if dataset.modality == "tabular" else None
looks_fig = looks_like_that(
    x, pictures, pic_titles, dataset.modality, f"example {example} ({class_names[true_class]})", [proto_colors[j] for j in top], dataset.feature_names,
    example_scaled=None if test_scaled is None else test_scaled[example], pictures_scaled=view.prototype_scaled[top],
)
left, right = st.columns([2, 3]) if dataset.modality != "tabular" else (st.container(), st.container())
with left:
    if probabilistic and report.sampled is not None:
        chart(predictive_distribution(report.sampled.probabilities[example], report.sampled.probability_std[example], class_names, true_class), "predictive_distribution", key="proto_probs")
    else:
        chart(class_probabilities(local.probabilities, class_names, true_class), "class_probabilities", key="proto_probs")
with right:
    chart(looks_fig, "looks_like_that", key="proto_looks_like")

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
    chart(prototype_contributions(local.contributions, local.similarities, report.prototype_class, class_names, predicted, local.logit, top, local.baseline_logit), "prototype_contributions", key="proto_contrib")
with right:
    if local.similarity_std is not None:
        chart(similarity_spread(report.sampled.similarity_mean[example][top], local.similarity_std[top], [labels[j] for j in top], [proto_colors[j] for j in top]), "similarity_spread", key="proto_spread")
    else:
        st.markdown("**Why this is faithful.** The bars on the left add up exactly to the logit the network computed: "
                    "no approximation or surrogate is involved. Switch to *Pushed onto the nearest real case* above to see "
                    "every prototype as a real training example; the quality panel shows what that costs in accuracy.")

# -- Misclassified examples -----------------------------------------------------------------------
components.heading("Misclassified test examples", level="header", divider="grey")
wrong = np.flatnonzero(report.test.predictions != dataset.y_test)
if not len(wrong):
    st.success("Every test example is classified correctly.")
else:
    table = pd.DataFrame({
        "example": wrong,
        "true class": [class_names[int(dataset.y_test[i])] for i in wrong],
        "predicted": [class_names[int(report.test.predictions[i])] for i in wrong],
        "confidence": report.test.probabilities[wrong, report.test.predictions[wrong]],
        "most similar prototype": [labels[int(report.test.top_prototype[i])] for i in wrong],
    })
    if report.sampled is not None:
        table["flagged"] = report.sampled.flagged[wrong]
        table["top changes"] = report.sampled.top_change_rate[wrong]
    st.caption(f"{len(wrong)} of {len(dataset.y_test)} test examples are misclassified. Select a row to explain it above.")
    selection = components.table(table, hide_index=True, on_select="rerun", selection_mode="single-row", key=f"proto_wrong_{name}_{pushed}", column_config={
        "confidence": st.column_config.NumberColumn(format="%.2f"),
        "flagged": st.column_config.CheckboxColumn("flagged", help="Flagged uncertain by the sampled prototype sets."),
        "top changes": st.column_config.NumberColumn(format="%.2f", help="Share of sampled prototype sets whose most similar prototype differs."),
    })
    chosen_rows = components.selected_rows(selection)
    if chosen_rows and components.new_click(f"_proto_last_wrong_{name}_{pushed}", chosen_rows[0]):
        chosen = int(wrong[int(chosen_rows[0])])
        if chosen != example:
            state.request(example=chosen)

# -- Quality ----------------------------------------------------------------------------------------
components.heading("Quality: can these explanations be trusted?", level="header", divider="grey")
readings = metric_readings(metrics)
quality = [
    ("Test accuracy", f"{metrics['test_accuracy']:.3f}", "test_accuracy"),
    ("Prototype purity", f"{metrics['prototype_purity']:.2f}", "prototype_purity"),
    ("Decoded-to-real distance", f"{metrics['decoded_distance']:.3f}", "decoded_distance"),
    ("Stability under noise", f"{metrics['stability']:.2f}", "stability"),
    ("Accuracy after push", f"{metrics['push_accuracy_after']:.3f}", "push"),
]
if probabilistic:
    auroc = metrics.get("uncertainty_auroc")
    quality.append(("Uncertainty AUROC", "n/a" if auroc is None else f"{auroc:.2f}", "uncertainty_auroc"))
for label, value, key in quality:
    c1, c2 = st.columns([1.3, 3], vertical_alignment="center")
    delta = f"{metrics['push_accuracy_after'] - metrics['push_accuracy_before']:+.3f} vs learned" if key == "push" else None
    components.metric(c1, label, value, delta=delta, delta_color="normal" if delta and not delta.startswith("+0.000") else "off")
    c2.markdown(readings.get(key, ""))
if probabilistic and report.sampled is not None:
    flagged = report.sampled.flagged
    wrong_mask = report.test.predictions != dataset.y_test
    st.markdown(
        f"**Flags.** {flagged.mean():.0%} of test predictions are flagged uncertain; they hold "
        f"{(flagged & wrong_mask).sum()} of the {wrong_mask.sum()} errors. "
        f"Explanation-uncertainty AUROC (top-prototype change rate): {metrics.get('explanation_uncertainty_auroc') or float('nan'):.2f}."
    )
    chart(uncertainty_by_correctness(report.sampled.entropy, wrong_mask), "uncertainty_by_correctness", key="proto_unc")
st.caption(
    f"Computed on {len(dataset.y_test)} test and {len(dataset.y_train)} training examples; stability uses Gaussian noise of {metrics['noise_level']:g} "
    "in the model's scaled units (min-max for images, standard deviations otherwise), 5 draws. "
    f"Same numbers from the command line: `python -m interp_core explain prototypes {name} --json`."
)
