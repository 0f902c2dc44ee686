"""Compare: two recipes of the same family side by side (two SAEs, deterministic vs probabilistic
prototypes, CNN vs transformer attributions ...), with their numbers in one table."""

import streamlit as st

from interp_core import recipes
from interp_core.family import family_title, find_family
from ui import compare, sidebar
from ui import components
from ui.components import show_error

sidebar.render()
st.title("Compare two recipes")
st.markdown(
    "Put two trained recipes of the same family next to each other: their **numbers in one table**, "
    "then each part of their page side by side (left: the first recipe, right: the second)."
)

available = compare.families()
family_keys = list(available)
labels = {key: family_title(key) for key in family_keys}
current = st.session_state.get("recipe")
used = next((r.family for r in recipes.list_recipes() if r.name == current), None)
seen = st.session_state.get("_cmp_recipe_seen")
link = seen is None and any(st.session_state.get(k) is not None for k in ("v_cmp_family", "v_cmp_a", "v_cmp_b"))  # a shared link names what to compare: keep it
if current != seen and not link and used in family_keys:
    # The recipe in use (the sidebar's, on arrival or when changed here) is the first side, beside its family's usual partner.
    st.session_state["v_cmp_family"] = used
    st.session_state["v_cmp_a"] = current
    st.session_state["v_cmp_b"] = next(n for n in (*compare.default_pair(used, available[used]), *available[used]) if n != current)
st.session_state["_cmp_recipe_seen"] = current
if st.session_state.get("v_cmp_family") not in family_keys:
    # Open on the family of the recipe in use, else the first with a comparison.
    st.session_state["v_cmp_family"] = used if used in family_keys else next((f for f in family_keys if (spec := find_family(f)) and spec.compare_pair), family_keys[0])
top = st.columns([1, 1, 1])
family = top[0].selectbox("Family", family_keys, key="v_cmp_family", format_func=labels.get)
names = available[family]
default_a, default_b = compare.default_pair(family, names)
if st.session_state.get("v_cmp_a") not in names:
    st.session_state["v_cmp_a"] = default_a
if st.session_state.get("v_cmp_b") not in names:
    st.session_state["v_cmp_b"] = default_b if default_b != st.session_state["v_cmp_a"] else next(n for n in names if n != st.session_state["v_cmp_a"])
name_a = top[1].selectbox("First recipe (left)", names, key="v_cmp_a")
name_b = top[2].selectbox("Second recipe (right)", names, key="v_cmp_b")

if name_a == name_b:
    st.info("Both sides show the same recipe: choose a different second recipe to compare.")
    st.stop()

a_recipe, b_recipe = recipes.get_recipe(name_a), recipes.get_recipe(name_b)
st.caption(f"**{name_a}**: {a_recipe.description}  \n**{name_b}**: {b_recipe.description}")
if a_recipe.dataset != b_recipe.dataset:
    st.info(f"These recipes use different datasets ({a_recipe.dataset} and {b_recipe.dataset}): compare their numbers and the shape of their explanations, not single examples.")

try:
    with st.spinner(f"Reading {name_a} and {name_b} from the store..."):
        report_a, report_b = compare.report(name_a), compare.report(name_b)
except Exception as exc:  # noqa: BLE001 - show_error: the InterpError's sentence, or a logged one-line failure
    show_error(exc, "Building the comparison")
    st.stop()
missing = [name for name, rep in ((name_a, report_a), (name_b, report_b)) if rep is None]
if missing:
    st.warning(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not trained yet: train {'it' if len(missing) == 1 else 'them'} in the model hub on Home, then come back.")
    st.stop()

components.heading("Key numbers")
numbers = compare.key_numbers(report_a, report_b, name_a, name_b)
components.table(numbers, hide_index=True, width="stretch")
st.caption("How to read this: one row per number the page and the report show, grouped by part of the page; '–' where a recipe has no such number.")
compare.side_by_side(report_a, report_b, name_a, name_b)
