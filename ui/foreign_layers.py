"""The user's own model on the SAE page (issue 17): a model stored by Home's model box ("Bring your
own model") is offered with a layer picker (each layer with its output shape on the user's data); the
button trains an SAE on that layer (activations collected with progress and cached in the session's
store) and the page then opens it like any SAE recipe, listed in the sidebar for the session."""

from __future__ import annotations

import streamlit as st

from interp_core import recipes, sessions
from ui import cache, state
from ui.components import show_error
from ui.training_panel import _live_callbacks

FOREIGN_TRAINER = "foreign"  # interp_core.foreign.TRAINER: a user's model stored in the session


def session_models() -> list[recipes.Recipe]:
    """The user's own models stored in this browser session (Home's model box)."""
    session = sessions.current()
    return [r for r in (session.recipes.values() if session is not None else []) if r.trainer == FOREIGN_TRAINER]


def sae_panel() -> None:
    """Pick one of the session's own models and a layer, and train an SAE on it."""
    models = session_models()
    if not models:
        return
    with st.expander("SAE features at a layer of your own model", expanded=False):
        names = [r.name for r in models]
        base = st.selectbox("Your model", names, key="sae_foreign_model", help="Models stored with Home's 'Bring your own model' box in this session.")
        try:
            from interp_core import foreign

            trained = cache.trained_model(base)
            layers, default = foreign.layer_choices(trained.extras["loaded"], trained.dataset)
        except Exception as exc:  # noqa: BLE001 - one sentence; the page keeps serving
            show_error(exc, f"Reading the layers of {base}")
            return
        runs = [layer for layer in layers if layer.output_shape is not None]
        shapes = {layer.name: layer for layer in runs}
        picked = [layer.name for layer in runs]
        layer = st.selectbox(
            "Layer", picked, index=picked.index(default) if default in picked else len(picked) - 1, key="sae_foreign_layer",
            format_func=lambda name: f"{name}: {shapes[name].type} {tuple(shapes[name].output_shape)}",
            help="Each layer with its output shape on your data; the SAE reads one vector per example (the layer's output, flattened).",
        )
        st.caption(f"Trains a TopK SAE on layer {layer}'s activations over {trained.dataset.name}, then this page explores its features: "
                   "top examples, the classes each pushes (from the model's gradients at the layer) and the model's accuracy with the layer replaced by the SAE's reconstruction.")
        if st.button("Train an SAE on this layer", key="sae_foreign_train", type="primary"):
            _train(base, layer, trained.dataset)


def _train(base: str, layer: str, dataset) -> None:
    from interp_core.families.sae.foreign import foreign_sae_recipe

    session = sessions.current()
    recipe = foreign_sae_recipe(base, layer, dataset.name)
    with st.status(f"Training an SAE on layer {layer} of {base}...", expanded=True) as status:
        on_progress, on_stage = _live_callbacks(st.progress(0.0, text="reading the layer"), st.empty(), st.empty())
        try:
            trained = recipes.train(recipe, store=session.store, dataset=dataset, device="cpu", progress=on_progress, on_stage=on_stage)
        except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
            status.update(label="Training the SAE failed", state="error")
            show_error(exc, f"Training an SAE on layer {layer}")
            return
        status.update(label="Trained", state="complete", expanded=False)
    session.add_recipe(recipe)
    cache.clear_model_caches()
    metrics = trained.metrics
    st.session_state["_sae_foreign_done"] = (f"Trained {recipe.name}: explained variance {metrics.get('explained_variance', float('nan')):.3f}, "
                                            f"your model's accuracy with the SAE spliced in {metrics.get('accuracy_sae', float('nan')):.3f} (clean {metrics.get('accuracy_clean', float('nan')):.3f}).")
    state.request(recipe=recipe.name)
    st.rerun()


def done_message() -> None:
    message = st.session_state.pop("_sae_foreign_done", None)
    if message:
        st.success(message)
