"""Mechanisms: a network trained on group multiplication, reverse-engineered on the group's
irreducible representations, and the explanation checked against brute force.

Every block is a Mechanisms section (interp_core/families/mechanisms/sections.py), the same the
HTML report and Compare draw; this page adds the widgets that choose what they show and the clicks."""

import streamlit as st

from interp_core import recipes
from interp_core.families.mechanisms import population
from interp_core.families.mechanisms import sections as blocks
from interp_core.report import Text
from ui import report_export, sidebar, state
from ui import uploads
from ui import mechanisms as cached
from ui import components
from ui.components import load_or_stop
from ui.sections import render_item

sidebar.render("mechanisms")
st.title("Mechanisms")
st.markdown(
    "A small network learns to **multiply group elements**: given x and y it must answer x·y (for the cyclic group Z_n that is "
    "addition mod n). Such networks first memorise their training pairs, then suddenly **generalise** (grokking). "
    "Here the trained network is taken apart on the group's **Fourier basis** (frequencies for Z_n, irreducible representations "
    "for dihedral and symmetric groups), and the explanation is **checked**: the network restricted to its key irreps is scored on "
    "every pair, and a lower bound on its accuracy is proved from the explanation."
)

uploads.data_panel("mechanisms")
recipe_name = st.session_state["recipe"]
state.apply_pending()  # a click on a population's network (section 8) opens it here
population_names = cached.populations()


def members_of(population: str) -> list[str]:
    return [f"{population}{cached.MEMBER}{row['index']}" for row in cached.stored_population(population)["rows"]]


# v_member: a network of a stored population ("population-s4#3") shown in sections 1-7 instead of the recipe's.
member = state.url_choice("v_member", ["", *(m for p in population_names for m in members_of(p))], "")
name = member or recipe_name
if member:
    population_name, member_index = member.split(cached.MEMBER)
    left, right = st.columns([3, 1])
    left.info(f"Showing **model {member_index} of {population_name}** (section 8), not the recipe {recipe_name}.")
    if right.button(f"Back to {recipe_name}", key="mech_back_to_recipe"):
        state.request(v_member="")
mech = load_or_stop(name, cached.mechanism)

stamp = cached.stamp(name)
group = mech.group
order = group.order
names = mech.element_names

# The neuron, the pair and the pruning belong to one network: another recipe opens on its own defaults.
if st.session_state.get("_mech_view_of", name) != name:
    for key in ("v_neuron", "v_x", "v_y", "v_threshold", "v_pruned"):
        st.session_state.pop(key, None)
st.session_state["_mech_view_of"] = name


def section(block: str, *settings):
    """A page block at these settings, built once per artifact (ui.mechanisms.section)."""
    return cached.section(name, stamp, block, *settings)


def clicked(event, guard: str):
    """customdata of a newly clicked point (None if nothing new was clicked)."""
    value = components.clicked_point(event)
    return value if value is not None and components.new_click(guard, (name, value)) else None


def markdown(item) -> None:
    """A section's text drawn as the page's prose (render_item draws texts as captions)."""
    st.markdown(item.text)


# -- headline ---------------------------------------------------------------------------------
headline = section("headline")
numbers, summary = headline.items
st.caption(headline.intro)
render_item(numbers)
markdown(summary)

# -- 1. training ------------------------------------------------------------------------------
training = section("training")
components.heading(training.title)
for index, item in enumerate(training.items):
    render_item(item, key="mech_training" if index == 0 else None)


# -- 2. spectrum ------------------------------------------------------------------------------
# Each drill-down is a fragment: its widgets and clicks rerun it alone, not the whole page.
@st.fragment
@report_export.recorded("mech_spectrum")
def spectrum_view() -> None:
    side = state.url_choice("v_side", ["left", "right"], "left")
    spectrum = section("spectrum", side).items[0]
    st.radio("Embedding of the", ["left", "right"], horizontal=True, key="v_side", format_func=lambda s: f"{s} element")
    render_item(spectrum, key="mech_spectrum")
    state.write_url()


spectrum_block = section("spectrum", state.url_choice("v_side", ["left", "right"], "left"))
_, irreps, *clusters = spectrum_block.items
components.heading(spectrum_block.title)
spectrum_view()
with st.expander(irreps.title):
    render_item(irreps, table_title=False, column_config={
        "<χ,χ>": st.column_config.NumberColumn(format="%.6f"), "Frobenius–Schur": st.column_config.NumberColumn(format="%.3f"),
        "max |ρ(ab) − ρ(a)ρ(b)|": st.column_config.NumberColumn(format="%.1e"),
    })
for table in clusters:
    render_item(table, column_config={
        "irrep": "Dominant irrep", "key": "Key irrep", "neurons": "Neurons",
        "share of output weight": st.column_config.ProgressColumn("Share of output weight", format="percent", min_value=0.0, max_value=1.0),
        "mean share in own irrep": st.column_config.TextColumn("Mean share in its irrep"),
    })


# -- 3. neurons and 4. one pair -----------------------------------------------------------------
@st.fragment
@report_export.recorded("mech_neuron_and_pair")
def neuron_and_pair() -> None:
    """The neuron map, the chosen neuron's activation table and the chosen pair: a click on either
    chart or a change of neuron or pair reruns these two blocks only."""
    state.apply_pending()
    m = mech.parts.n_neurons
    neuron = state.url_int("v_neuron", 0, m - 1, blocks.default_neuron(mech))
    default_x, default_y = blocks.default_pair(mech)
    x_sel = state.url_int("v_x", 0, order - 1, default_x)
    y_sel = state.url_int("v_y", 0, order - 1, default_y)
    neurons = section("neurons", neuron, (x_sel, y_sel))
    neuron_map, about_neuron, activation = neurons.items
    components.heading(neurons.title)
    event = render_item(neuron_map, key=f"mech_neurons_{name}", on_select="rerun", selection_mode="points")
    picked = clicked(event, "_mech_neuron_click")
    if picked is not None and picked[0] != neuron:
        state.request(scope="fragment", v_neuron=picked[0])
    left, right = st.columns([1, 3])
    with left:
        st.number_input(f"Neuron (0-{m - 1})", min_value=0, max_value=m - 1, step=1, key="v_neuron", help="Or click a neuron's column in the map above.")
        markdown(about_neuron)
    with right:
        event = render_item(activation, key=f"mech_activation_{name}", on_select="rerun", selection_mode="points")
        picked = clicked(event, "_mech_pair_click")
        if picked is not None and len(picked) == 2 and picked != (x_sel, y_sel):
            state.request(scope="fragment", v_x=picked[0], v_y=picked[1])

    pair = section("pair", x_sel, y_sel)
    about_pair, contributions, logits = pair.items
    components.heading(pair.title)
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.selectbox("Left element x", list(range(order)), format_func=lambda i: names[i], key="v_x")
    c2.selectbox("Right element y", list(range(order)), format_func=lambda i: names[i], key="v_y")
    c3.markdown(about_pair.text)
    left, right = st.columns(2)
    with left:
        render_item(contributions, key="mech_contrib")
    with right:
        render_item(logits, key="mech_logits")
    state.write_url()


neuron_and_pair()

# -- 5. equivariance --------------------------------------------------------------------------
equivariance = section("equivariance")
about_symmetry, symmetry = equivariance.items
components.heading(equivariance.title)
markdown(about_symmetry)
render_item(symmetry, key="mech_equivariance")

# -- 6. verification --------------------------------------------------------------------------
verification = section("verification")
*charts, checks, what_it_proves = verification.items
components.heading(verification.title)
for column, item, key in zip(st.columns(2), charts, ("mech_verification", "mech_frontier")):
    with column:
        render_item(item, key=key)
render_item(checks, table_title=False, column_config={
    "accuracy": st.column_config.NumberColumn("Accuracy", format="percent"),
    "cost (FLOPs)": st.column_config.NumberColumn("Cost (FLOPs)", format="compact", help="Arithmetic operations; 53.5M = 53.5 million."),
    "time (ms)": st.column_config.NumberColumn("Measured time (ms)", format="%.1f"),
})
if isinstance(what_it_proves, Text):
    markdown(what_it_proves)
else:
    render_item(what_it_proves)


# -- 7. memorising neurons --------------------------------------------------------------------
def toggle_pruning() -> None:
    st.session_state["v_pruned"] = "0" if st.session_state.get("v_pruned") == "1" else "1"


@st.fragment
@report_export.recorded("mech_memorisation")
def memorisation_view() -> None:
    """The threshold slider and the prune button rerun this block only."""
    threshold_default = mech.prune_threshold
    try:
        threshold = float(st.session_state.get("v_threshold", threshold_default))
    except (TypeError, ValueError):
        threshold = threshold_default
    threshold = min(max(round(threshold, 2), 0.05), 0.95)
    st.session_state["v_threshold"] = threshold
    pruned = state.url_choice("v_pruned", ["0", "1"], "0") == "1"
    memorisation = section("memorisation", threshold, pruned)
    intro, below, histogram, *after = memorisation.items
    components.heading(memorisation.title)
    markdown(intro)
    if not mech.corrupted:
        noisy = [r.name for r in recipes.list_recipes("mechanisms") if "noisy" in r.name]
        if noisy and st.button(f"Open {noisy[0]}", key="mech_open_noisy"):
            state.request(recipe=noisy[0])
    left, right = st.columns([2, 1])
    with right:
        st.slider("Prune neurons with a key-irrep share below", 0.05, 0.95, step=0.05, key="v_threshold")
        markdown(below)
        st.button("Restore the neurons" if pruned else "Prune the memorising neurons", type="secondary" if pruned else "primary",
                  key="mech_restore" if pruned else "mech_prune", on_click=toggle_pruning)
    with left:
        render_item(histogram, key="mech_concentration")
    if pruned:
        pruning_chart, pruning_table, *verdicts = after
        render_item(pruning_chart, key="mech_pruning")
        render_item(pruning_table, table_title=False, key="mech_pruning_table", column_config={
            "pairs scored": "Pairs scored", "before": st.column_config.NumberColumn("Before", format="percent"),
            "after": st.column_config.NumberColumn("Memorising neurons pruned", format="percent"),
            "key irreps only": st.column_config.NumberColumn("Weights outside key irreps removed", format="percent"), "pairs": "Number of pairs",
        })
        for item in verdicts:
            markdown(item)
    else:
        st.caption("Press the button to prune the neurons left of the threshold and compare accuracies before and after (and with all weights outside the key irreps removed).")
    state.write_url()


memorisation_view()


# -- 8. populations (sweep groups) and 9. the corrupted-label claims -----------------------------
def population_choice() -> str | None:
    """The population in view: a link's, else the member's, else the first of this group, else the first stored."""
    stored = {p: cached.stored_population(p) for p in population_names}
    groups = {p: v["summary"]["group"] for p, v in stored.items()}
    noisy = frozenset(p for p, v in stored.items() if v["claims"])
    default = member.split(cached.MEMBER)[0] if member else blocks.default_population(population_names, groups, group.key, mech.corrupted, noisy)
    return None if default is None else state.url_choice("v_population", population_names, default)


chosen = population_choice()
if chosen is None:
    st.caption("No population is stored yet: run python -m interp_core sweep groups S4 --seeds 8 (or another group) and reload.")
else:
    in_view = int(member.split(cached.MEMBER)[1]) if member and member.startswith(chosen + cached.MEMBER) else None
    population_view = cached.population_block(chosen, cached.stamp(chosen), "population", in_view)
    intro_text, numbers_item, bounds, costs, every = population_view.items[:5]
    components.heading(population_view.title)
    st.selectbox("Population", population_names, key="v_population")
    markdown(intro_text)
    render_item(numbers_item)
    for column, item, key in zip(st.columns(2), (bounds, costs), ("mech_population_bounds", "mech_population_costs")):
        with column:
            event = render_item(item, key=f"{key}_{chosen}", on_select="rerun", selection_mode="points")
            picked = clicked(event, f"_{key}_click")
            if picked is not None:
                state.request(v_member=f"{chosen}{cached.MEMBER}{picked[0]}")
    render_item(every, column_config={
        "held-out": st.column_config.NumberColumn("Held-out", format="percent"),
        "brute force": st.column_config.NumberColumn("Brute force", format="percent"),
        "proved bound": st.column_config.NumberColumn("Proved bound", format="percent"),
        "compressed bound": st.column_config.NumberColumn("Compressed bound", format="percent", help="Proved with the hidden layer compressed too (Z_n only; docs/mechanisms.md)"),
        "time ÷ brute force": st.column_config.NumberColumn("Time ÷ brute force", format="%.2f×"),
        "FLOPs ÷ brute force": st.column_config.NumberColumn("FLOPs ÷ brute force", format="%.2f×"),
    })
    for item in population_view.items[5:]:
        markdown(item)
    stored = cached.stored_population(chosen)
    if stored["claims"]:
        runs = [row["index"] for row in stored["rows"]]
        run = state.url_choice("v_run", runs, blocks.default_run(stored), parse=int)
        claims_view = cached.population_block(chosen, cached.stamp(chosen), "claims", run)
        intro_text, claims_table, curve, pruning_table = claims_view.items
        components.heading(claims_view.title)
        markdown(intro_text)
        render_item(claims_table, table_title=False)
        labels = {row["index"]: f"model {row['index']}: {population.setting_label(row)}, seed {row['seed']}" for row in stored["rows"]}
        st.selectbox("Run whose training curves are drawn", runs, format_func=labels.get, key="v_run")
        render_item(curve, key="mech_two_phase")
        percent = {c: st.column_config.NumberColumn(c, format="percent") for c in pruning_table.frame.columns if c not in ("model", "setting", "seed", "memorising neurons")}
        render_item(pruning_table, column_config=percent)
state.write_url()
