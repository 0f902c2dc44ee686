"""The sidebar every page shares: device, store, the recipe in use and the selected example."""

from __future__ import annotations

import streamlit as st

from interp_core import recipes
from interp_core.errors import InterpError
from ui import cache, passport, share, state, teaching, uploads


def recipe_options(family: str | None = None) -> list[str]:
    if family == "sae":  # SAEs that train --data SHARD_FOLDER / collect-acts --train saved to the store join the list
        from interp_core.families.sae.train import register_stored_shard_recipes

        register_stored_shard_recipes(cache.catalog().store)
    return [r.name for r in recipes.list_recipes() if family is None or r.family == family]


def render(family: str | None = None) -> None:
    """Draw the shared sidebar and mirror the view state into the URL; every page calls this first.

    ``family`` limits the recipe list to a page's family.
    """
    uploads.activate()  # this browser session's own uploads join the recipe list (interp_core.sessions)
    state.load_url_once()
    state.apply_pending()  # app.py does this too; AppTest may run a page without app.py after switch_page
    options = recipe_options(family) or recipe_options()
    # Each page lists only its family's recipes; remember the last one chosen per page so that
    # going to another page and back keeps it.
    remembered = st.session_state.setdefault("_recipe_by_page", {})
    current = st.session_state.get("recipe")
    # the page's last one, or one with the passport's example when the page has one (ui/passport.py)
    current = passport.recipe_for_page(family, current, options, remembered.get(family))
    # Set through the API every run: the selectbox's identity changes with its options, and a new
    # widget only adopts a value that was assigned this way (not one left by the old widget).
    st.session_state["recipe"] = current
    with st.sidebar:
        if not teaching.presenting():  # secondary details, hidden when presenting
            st.markdown(f"**Device:** {cache.device_label()}")
            st.markdown(f"**Store:** `{cache.catalog().store.root}`")
        st.selectbox("Recipe in use", options, key="recipe", help="The trained model the pages explain. Train more in the model hub on Home.")
        remembered[family] = st.session_state["recipe"]
        _example_picker(st.session_state["recipe"])
        passport.render_card(st.session_state["recipe"], f"views/{family or 'home'}.py")  # the example that follows the user
        share.copy_link_button()
        teaching.controls(family)  # teaching mode (notes, the page's tour) and presentation mode
    passport.notice(st.session_state["recipe"])  # one line when this page's data is not the passport's
    state.write_url()


def _example_picker(name: str) -> None:
    try:
        model = cache.trained_model(name)
    except InterpError as exc:
        st.warning(str(exc))
        passport.no_examples(name)
        return
    if model is None:
        st.caption(f"'{name}' is not trained yet: train it in the model hub on Home.")
        passport.no_examples(name)
        return
    if not model.is_classifier:
        passport.no_examples(name, model)
        return
    n_test = len(model.dataset.y_test)
    st.session_state["example"] = passport.example_for(name, model, n_test)  # the passport's example on a page switch
    st.number_input(f"Example (test set, 0-{n_test - 1})", min_value=0, max_value=n_test - 1, step=1, key="example")
    index = int(st.session_state["example"])
    probabilities = cache.test_probabilities(name, cache.artifact_stamp(name))
    truth = model.dataset.class_names[model.dataset.y_test[index]]
    predicted = int(probabilities[index].argmax())
    mark = "" if model.dataset.class_names[predicted] == truth else " (wrong)"
    if passport.index_on(name, model) != index:  # else the passport card below says it
        st.caption(f"True class **{truth}**, predicted **{model.dataset.class_names[predicted]}** ({probabilities[index, predicted]:.2f}){mark}")
