"""The user's own model on the SAE, Concepts and Prototypes pages (issue 17).

A model stored by Home's model box ("Bring your own model") is offered in an expander with a layer
picker (each layer with its output shape on the user's data):

- SAE features: the button trains an SAE on that layer (activations collected with progress and cached
  in the session's store); the page then opens it like any SAE recipe, listed in the sidebar;
- Concepts: TCAV of the data's concepts (the NPZ's or a .jsonl's ``concepts``) at that layer, drawn as the page draws
  a recipe's TCAV (bars, box, heatmap, the check against the concepts' observed effects, the table); and a
  concept the user defines by picking examples (lasso on the layer's map, or a list), scored at the layer;
- Prototypes: a prototype head trained on that layer, its prototypes pushed onto real training
  examples, with its agreement with the model (the prototypes' faithfulness).

The Concepts and Prototypes results are kept for the browser session (not stored)."""

from __future__ import annotations

import streamlit as st

from interp_core import recipes, sessions
from ui import cache, components, sections, state
from ui.components import chart, show_error
from ui.folders import saelens_input
from ui.training_panel import _live_callbacks

FOREIGN_TRAINER = "foreign"  # interp_core.foreign.TRAINER: a user's model stored in the session


def session_models() -> list[recipes.Recipe]:
    """The user's own models stored in this browser session (Home's model box)."""
    session = sessions.current()
    return [r for r in (session.recipes.values() if session is not None else []) if r.trainer == FOREIGN_TRAINER]


def pick_model_and_layer(prefix: str, layer_help: str, others: tuple[str, ...] = ()):
    """The session model and layer pickers: (base recipe name, its TrainedModel, layer), or None (nothing to pick, or an error shown);
    a name of ``others`` picked (a model that is no session recipe, e.g. a causal LM) gives (name, None, None) and no layer picker."""
    models = session_models()
    names = [r.name for r in models] + list(others)
    base = st.selectbox("Your model", names, key=f"{prefix}_foreign_model", help="Models stored with Home's 'Bring your own model' box in this session.")
    if base in others:
        return base, None, None
    try:
        from interp_core import foreign

        trained = cache.trained_model(base)
        layers, default = foreign.layer_choices(trained.extras["loaded"], trained.dataset)
    except Exception as exc:  # noqa: BLE001 - one sentence; the page keeps serving
        show_error(exc, f"Reading the layers of {base}")
        return None
    runs = [layer for layer in layers if layer.output_shape is not None]
    shapes = {layer.name: layer for layer in runs}
    picked = [layer.name for layer in runs]
    layer = st.selectbox(
        "Layer", picked, index=picked.index(default) if default in picked else len(picked) - 1, key=f"{prefix}_foreign_layer",
        format_func=lambda name: f"{name}: {shapes[name].type} {tuple(shapes[name].output_shape)}", help=layer_help,
    )
    return base, trained, layer


def _panel(title: str, prefix: str, layer_help: str, body, expanded: bool = False, others: tuple[str, ...] = ()):
    """An expander with the session-model and layer pickers, then ``body(picked)``; nothing without a session model (or one of
    ``others``). Returns what was picked (None: nothing)."""
    if not session_models() and not others:
        return None
    with st.expander(title, expanded=expanded):
        picked = pick_model_and_layer(prefix, layer_help, others)
        if picked is not None:
            body(picked)
    return picked


def sae_panel() -> bool:
    """Pick one of the session's own models and a layer, and train an SAE on it; the causal LM and the encoder of Home's box
    are listed too (``causal_lm.sae_page_body``: a block, its token-level SAE, features and steering; ``encoder.sae_page_body``:
    the same without steering). True when the panel shows one of those text models (its SAE is drawn in the panel, so the
    page's recipe below is another SAE)."""
    from ui import causal_lm, encoder

    others = tuple(name for name in (_causal_name(causal_lm.current()), _encoder_name(encoder.current())) if name)
    picked = _panel("SAE features at a layer of your own model", "sae", "Each layer with its output shape on your data; the SAE reads one vector per example (the layer's output, flattened).",
           _sae_body, expanded=bool(others), others=others)
    return picked is not None and picked[1] is None


def _causal_name(entry: dict | None) -> str | None:
    return f"{entry['label']} (causal language model, on {entry['texts'].name})" if entry else None


def _encoder_name(entry: dict | None) -> str | None:
    return f"{entry['label']} (encoder, on {entry['texts'].name})" if entry else None


def _sae_body(picked) -> None:
    base, trained, layer = picked
    if trained is None:  # the causal LM or the encoder of Home's box
        from ui import causal_lm, encoder

        if base == _encoder_name(encoder.current()):
            encoder.sae_page_body(sessions.current())
        else:
            causal_lm.sae_page_body(sessions.current())
        return
    from interp_core.families.sae.models import ARCH_TITLES, SAE_ARCHITECTURES

    st.caption(f"Trains an SAE on layer {layer}'s activations over {trained.dataset.name}, then this page explores its features: "
               "top examples, the classes each pushes (from the model's gradients at the layer) and the model's accuracy with the layer replaced by the SAE's reconstruction.")
    archs = sorted(SAE_ARCHITECTURES, key=lambda a: (a != "topk", a))
    arch = st.selectbox("Architecture", archs, key="sae_foreign_arch", format_func=ARCH_TITLES.get,
                        help="TopK keeps the k strongest latents of each example; BatchTopK the strongest k per example over a batch; JumpReLU learns a threshold per latent; "
                             "Matryoshka makes nested prefixes of the latents reconstruct on their own; MP picks atoms by matching pursuit; ReLU uses an L1 penalty. See docs/sae.md.")
    if st.button("Train an SAE on this layer", key="sae_foreign_train", type="primary"):
        _train(base, layer, trained.dataset, arch)
    _open_panel(base, layer, trained.dataset)


def _open_panel(base: str, layer: str, dataset) -> None:
    """Or an SAELens SAE for this layer: a zipped folder or the folder itself, opened and stored like a trained SAE."""
    from interp_core.saelens import CFG_FILE, WEIGHTS_FILE

    components.heading("Or open an SAELens SAE for this layer", level="subheader")
    st.caption(f"An SAE trained with SAELens (or downloaded from this page) on layer {layer}: its folder ({CFG_FILE}, {WEIGHTS_FILE}) or the folder as a .zip. "
               "Its weights are checked before anything runs (nothing in them is executed) and its d_in must be the layer's width; "
               "it is then stored in this session and every view of this page explores it.")
    picked = saelens_input("sae_foreign", "Open this SAE on this layer")
    if picked is not None:
        _open(base, layer, dataset, *picked)


def _open(base: str, layer: str, dataset, label: str, read) -> None:
    from interp_core.families.sae.foreign import open_foreign_sae

    session = sessions.current()
    _store_sae(f"Opening the SAELens SAE '{label}' on layer {layer}", "Opened", lambda progress, on_stage: open_foreign_sae(
        base, layer, dataset, read(), label, store=session.store, progress=progress, on_stage=on_stage))


def _train(base: str, layer: str, dataset, arch: str = "topk") -> None:
    from interp_core.families.sae.foreign import foreign_sae_recipe

    session = sessions.current()
    recipe = foreign_sae_recipe(base, layer, dataset.name, arch)
    _store_sae(f"Training an SAE on layer {layer} of {base}", "Trained", lambda progress, on_stage: recipes.train(
        recipe, store=session.store, dataset=dataset, device="cpu", progress=progress, on_stage=on_stage))


def _store_sae(what: str, done: str, make) -> None:
    """Run ``make(progress, on_stage)`` (train or open an SAE on the layer: a stored TrainedModel) with a progress box, list it in
    the session and open it on this page; its failure is one sentence under the box (inside, it would fold away)."""
    session = sessions.current()
    with st.status(f"{what}...", expanded=True) as status:
        on_progress, on_stage = _live_callbacks(st.progress(0.0, text="reading the layer"), st.empty(), st.empty())
        try:
            trained = make(on_progress, on_stage)
        except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
            status.update(label=f"{what} failed", state="error", expanded=False)
            failure = exc
        else:
            failure = None
            status.update(label=done, state="complete", expanded=False)
    if failure is not None:
        show_error(failure, what)
        return
    session.add_recipe(trained.extras["recipe"])
    cache.clear_model_caches()
    metrics = trained.metrics
    st.session_state["_sae_foreign_done"] = (f"{done} {trained.name}: explained variance {metrics.get('explained_variance', float('nan')):.3f}, "
                                            f"your model's accuracy with the SAE spliced in {metrics.get('accuracy_sae', float('nan')):.3f} (clean {metrics.get('accuracy_clean', float('nan')):.3f}).")
    features = trained.extras["analysis"].features
    live = features.index[~features["dead"]]
    state.request(recipe=trained.name, v_feature=int(live[0]) if len(live) else 0)  # open on a feature that fires, not the last SAE's
    st.rerun()


def done_message() -> None:
    message = st.session_state.pop("_sae_foreign_done", None)
    if message:
        st.success(message)


# -- Concepts: TCAV at the picked layer ------------------------------------------------------------------
def concepts_panel() -> None:
    """TCAV of the data's concepts at a picked layer of one of the session's own models."""
    _panel("TCAV at a layer of your own model", "concepts", "Each layer with its output shape on your data; TCAV learns each concept's direction in this layer's output.",
           _concepts_body, expanded="_concepts_foreign" in st.session_state)


def _concepts_body(picked) -> None:
    dataset = picked[1].dataset
    if dataset.concepts_train is None:
        st.info("Your data has no concept labels (an NPZ's `concepts` and `concept_names`, or a .jsonl's `concepts`): define a concept below by picking examples of it.")
    else:
        _data_concepts(picked)
    _picked_concept(picked)


def _data_concepts(picked) -> None:
    base, trained, layer = picked
    dataset = trained.dataset
    runs = st.number_input("Random sets", min_value=2, max_value=50, value=10, step=1, key="concepts_foreign_runs",
                           help="TCAV compares each concept with this many random sets of examples (a t-test); more sets, surer verdicts, slower.")
    st.caption(f"Concepts: {', '.join(dataset.concept_names)}. Each TCAV score is checked against the concept's observed effect on the class logits; "
               "your data has no generator to switch a concept, so there is no causal (CaCE) check.")
    if st.button("Run TCAV at this layer", key="concepts_foreign_run", type="primary"):
        from interp_core.families.concepts.foreign import foreign_tcav

        _compute("_concepts_foreign", picked, f"TCAV at layer {layer}",
                 lambda adapted, advance: foreign_tcav(adapted, n_random=int(runs), on_cav=lambda done, total: advance(done, total, "CAVs trained")))
    found = _shown("_concepts_foreign", picked)
    if found is not None:
        from interp_core.families.concepts.sections import tcav_section

        sections.render(tcav_section(found.result, None, check=found.check), key=f"concepts_foreign_{base}_{layer}", heading=False)


def _picked_concept(picked) -> None:
    """A concept made of examples the user picks (on the map of the layer, with the lasso, or in a list): its TCAV at the layer."""
    import numpy as np

    from interp_core.families.concepts import figures as figs
    from interp_core.families.concepts.explain import MIN_CONCEPT_EXAMPLES
    from interp_core.families.concepts.foreign import all_examples
    from interp_core.families.concepts.sections import tcav_section

    base, trained, layer = picked
    pool = all_examples(trained.dataset)  # training examples first, then the held-out ones
    components.heading("A concept from examples you pick", level="subheader")
    st.caption(f"Choose at least {MIN_CONCEPT_EXAMPLES} examples of your data that share an idea, with the lasso on the map of layer {layer} or in the list, and name it: "
               "TCAV scores it at this layer for every class, against random sets drawn from the other examples, with the p-value of that test.")
    texts = pool.extras.get("texts")

    def label(i: int) -> str:
        shown = texts[i][:70] if texts is not None and len(texts) == len(pool.y_test) else f"example {i}"
        return f"{i}: {shown} ({pool.class_names[int(pool.y_test[i])]})"

    key, map_key = f"concepts_foreign_pick_{base}", f"concepts_foreign_map_{base}_{layer}"
    area = components.area_selection(st.session_state.get(map_key))  # last run's lasso, applied once (the chart hands it back on every rerun)
    if area is not None and st.session_state.get("_concepts_foreign_area") != (map_key, area):
        st.session_state["_concepts_foreign_area"] = (map_key, area)
        st.session_state[key] = sorted({int(i) for i in area})
    name = st.text_input("Name of the concept", value="my concept", key="concepts_foreign_name", max_chars=60)
    chosen = st.multiselect("Its examples", list(range(len(pool.y_test))), key=key, format_func=label)
    try:
        coords = _layer_map(picked, pool)
    except Exception as exc:  # noqa: BLE001 - one sentence; the list still works
        show_error(exc, f"Mapping layer {layer}")
    else:
        fig = figs.concept_map(coords, pool.y_test, pool.class_names, "class", np.asarray(chosen, dtype=int), None, "PCA", dragmode="lasso")
        fig.update_layout(title_text=f"Your examples mapped by layer {layer} (PCA), coloured by class")
        chart(fig, "concept_map_select", key=map_key, on_select="rerun", selection_mode=("points", "box", "lasso"))
    runs = st.number_input("Random sets", min_value=2, max_value=50, value=10, step=1, key="concepts_foreign_pick_runs",
                           help="The concept is compared with this many random sets of the other examples (a t-test).")
    if st.button("Score this concept at this layer", key="concepts_foreign_pick_run", type="primary", disabled=not chosen):
        from interp_core.families.concepts.foreign import foreign_concept

        _compute("_concepts_foreign_pick", picked, f"TCAV of '{name}' at layer {layer}",
                 lambda adapted, advance: (name, len(chosen), foreign_concept(adapted, name, chosen, n_random=int(runs), progress=lambda done, total: advance(done, total, "CAVs trained"))))
    found = _shown("_concepts_foreign_pick", picked)
    if found is not None:
        concept, size, result = found
        table = result.table()
        st.success(f"**{concept}** ({size} examples) at layer {layer}: " + "; ".join(
            f"class **{row['class']}** TCAV score {row['score']:.2f}, p = {row['p_value']:.2g} ({'significant' if row['significant'] else 'not significant'})" for _, row in table.iterrows()) + ".")
        sections.render(tcav_section(result, None), key=f"concepts_foreign_pick_{base}_{layer}", heading=False)


def _layer_map(picked, pool):
    """All examples (``pool``) mapped by the picked layer's output (PCA), kept for the session per model and layer."""
    from interp_core.foreign import foreign_model
    from interp_core.projection import pca_2d

    base, trained, layer = picked
    maps = st.session_state.setdefault("_concepts_foreign_maps", {})
    if (base, layer) not in maps:
        adapted = foreign_model(trained.extras["loaded"], trained.dataset, layer, name=trained.name, manifest=trained.manifest)
        maps.clear()  # one map at a time
        maps[(base, layer)] = pca_2d(adapted.embed(pool.X_test))
    return maps[(base, layer)]


# -- Prototypes: a prototype head on the picked layer ------------------------------------------------------
def prototypes_panel() -> None:
    """A ProtoPNet-style head on a picked layer of one of the session's own models."""
    _panel("Prototypes for your own model", "prototypes", "Each layer with its output shape on your data; the prototype head compares examples in this layer's output.",
           _prototypes_body, expanded="_prototypes_foreign" in st.session_state)


def _prototypes_body(picked) -> None:
    _base, trained, layer = picked
    st.caption("Your model has no prototype layer, so one is trained on this layer (a prototype layer and a linear layer, as ProtoPNet puts on a frozen network), "
               "against your model's own predictions; each prototype is then replaced by its nearest real training example. "
               "How often the head agrees with your model is how faithful these prototypes are to it.")
    if st.button("Train a prototype head on this layer", key="prototypes_foreign_run", type="primary"):
        from interp_core.families.prototypes.foreign import foreign_prototypes

        _compute("_prototypes_foreign", picked, f"A prototype head on layer {layer}", lambda adapted, advance: foreign_prototypes(
            adapted, sessions.current().store, collect_progress=lambda e: advance(e.step, e.total, "batches of the layer read"),
            progress=lambda e: advance(e.step, e.total, f"head training, epoch {e.epoch}/{e.epochs}")))
    found = _shown("_prototypes_foreign", picked)
    if found is not None:
        _show_prototypes(found, trained.dataset)


def _compute(key: str, picked, what: str, compute) -> None:
    """Run ``compute(adapted, advance)`` on the picked model embedding at the picked layer with a progress bar
    (``advance(done, total, what)``), and keep its result for the session under ``key``."""
    from interp_core.foreign import foreign_model

    base, trained, layer = picked
    with st.status(f"{what}...", expanded=True) as status:
        bar = st.progress(0.0, text="reading the layer")

        def advance(done: int, total: int, unit: str) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"{done} of {total} {unit}")

        try:
            adapted = foreign_model(trained.extras["loaded"], trained.dataset, layer, name=trained.name, manifest=trained.manifest)
            st.session_state[key] = (base, layer, compute(adapted, advance))
        except Exception as exc:  # noqa: BLE001 - one sentence under the box (inside, it would fold away); the page keeps serving
            status.update(label=f"{what} failed", state="error", expanded=False)
            failure = exc
        else:
            status.update(label=f"{what}: done", state="complete", expanded=False)
            return
    show_error(failure, what)


def _shown(key: str, picked):
    """The result kept under ``key`` when it is of the picked model and layer, else None."""
    shown = st.session_state.get(key)
    return shown[2] if shown is not None and shown[:2] == (picked[0], picked[2]) else None


def _show_prototypes(found, dataset) -> None:
    import pandas as pd

    from interp_core.families.prototypes.foreign import prototype_rows

    n_test = len(dataset.y_test)
    cols = st.columns(4)
    cols[0].metric("Agreement with your model", f"{found.agreement:.1%}", help=f"Share of the {n_test} held-out examples where the head predicts what your model predicts: the faithfulness of these prototypes.")
    cols[1].metric("Before the push", f"{found.agreement_before_push:.1%}", help="Agreement with the learned prototypes, before each became a real training example.")
    cols[2].metric("Head accuracy", f"{found.test_accuracy:.1%}", help="Against your data's labels, on the held-out examples.")
    cols[3].metric("Your model's accuracy", f"{found.model_test_accuracy:.1%}")
    if found.agreement < 0.9:
        st.warning(f"The head disagrees with your model on {1 - found.agreement:.0%} of held-out examples: there, 'this looks like that' is not why your model decided.")
    rows = pd.DataFrame(prototype_rows(found, dataset.class_names))
    texts = dataset.extras.get("texts")  # a text model's texts, training texts first: show each prototype's own text
    if texts is not None:
        rows.insert(rows.columns.get_loc("train_example") + 1, "text", [texts[int(i)] if pd.notna(i) else "" for i in rows["train_example"]])
    components.table(rows.rename(columns={"train_example": "training example", "moved": "distance moved by the push"}), hide_index=True)
    st.caption("Each prototype is the layer's output on the training example shown (an index into your data's training split"
               + (", with its text" if texts is not None else "") + "); purity is the share of its 10 nearest training examples that your model puts in the prototype's class.")
