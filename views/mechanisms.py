"""Mechanisms: a network trained on group multiplication, reverse-engineered on the group's
irreducible representations, and the explanation checked against brute force."""

import numpy as np
import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.families.mechanisms import explain as gx
from interp_core.families.mechanisms import figures as figs
from ui import cache, sidebar, state
from ui import uploads
from ui import mechanisms as cached
from ui import components
from ui.components import chart, load_or_stop

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
name = st.session_state["recipe"]
mech = load_or_stop(name, cached.mechanism)

stamp = cache.artifact_stamp(name)
group, report, arrays = mech.group, mech.report, mech.arrays
order = group.order
names = list(group.elements)
key_irreps = mech.key_irreps
metrics = mech.model.metrics


def clicked(event, guard: str):
    """customdata of a newly clicked point (None if nothing new was clicked)."""
    value = components.clicked_point(event)
    return value if value is not None and components.new_click(guard, (name, value)) else None


# -- headline ---------------------------------------------------------------------------------
dataset = mech.model.manifest["dataset"]
bound = report.get("bound")
st.caption(
    f"**{group.title}** · trained on {dataset['train_fraction']:.0%} of the {order * order:,} pairs"
    + (f", **{dataset['corrupt_fraction']:.0%} of them with a wrong label**" if dataset.get("corrupt_fraction") else "")
    + f" · {mech.parts.n_neurons} hidden neurons · trained on {mech.model.manifest.get('device_name')} in {mech.model.manifest.get('train_seconds', 0):.0f} s ({mech.model.status})"
)
cols = st.columns(6)
components.metric(cols[0], "Train accuracy", f"{report['train_accuracy']:.1%}", help="On the training pairs, against the labels it was trained on (wrong ones included).")
components.metric(cols[1], "Held-out accuracy", f"{report['test_accuracy']:.1%}", help="On the pairs it never saw.")
components.metric(cols[2], "Brute force", f"{report['brute_force_accuracy']:.1%}", help="On all |G|² pairs against the true product.")
components.metric(cols[3], "Key irreps only", f"{report['explained_accuracy']:.1%}", help="All pairs, with every irrep outside the key ones removed from the network's weights.")
components.metric(cols[4], "Proved bound", "not computed" if bound is None else f"≥ {bound['accuracy']:.1%}", help="A lower bound on brute-force accuracy derived from the explanation (see Verification).")
components.metric(cols[5], "Key irreps", f"{len(key_irreps)}", help=", ".join(report["key_irreps"]))
st.markdown(
    f"The network's weights lie mostly in **{', '.join(report['key_irreps'])}** ({report['key_share']:.0%} of their non-constant part). "
    f"Keeping only those, it still answers **{report['explained_accuracy']:.1%}** of all pairs correctly (the full network: "
    f"{report['brute_force_accuracy']:.1%}); removing them instead leaves **{report['without_key_accuracy']:.1%}** "
    f"(chance is {1 / order:.1%})."
)

# -- 1. training ------------------------------------------------------------------------------
components.heading("1. Training: memorise, then generalise")
chart(figs.training_curves(mech.history, metrics.get("memorise_step"), metrics.get("grok_step")), "group_training", key="mech_training")
if metrics.get("grok_step") is not None and metrics.get("memorise_step") is not None:
    st.caption(f"Training pairs were fitted (≥ 99%) by step {metrics['memorise_step']}; held-out pairs reached 99% at step {metrics['grok_step']}: "
               f"a delay of {metrics['grok_step'] - metrics['memorise_step']} steps. Weight decay keeps shrinking the weights until the general solution is cheaper than memorising.")
elif metrics.get("grok_step") is None:
    st.caption("Held-out accuracy never reached 99% during training: this network has not fully generalised.")

# -- 2. spectrum ------------------------------------------------------------------------------
components.heading("2. Which irreducible representations the network uses")
state.url_choice("v_side", ["left", "right"], "left")
side = st.radio("Embedding of the", ["left", "right"], horizontal=True, key="v_side", format_func=lambda s: f"{s} element")
energy = arrays["element_energy_left" if side == "left" else "element_energy_right"]
chart(figs.embedding_spectrum(energy, names, mech.irrep_names, key_irreps, side), "embedding_spectrum", key="mech_spectrum")
with st.expander(f"The {len(mech.irrep_names)} irreducible representations of {group.name}, computed here and checked"):
    st.markdown(
        "Each irrep is built from matrices for the group's generators and extended to every element through the multiplication table "
        "(Young's orthogonal form for S_n). Checks: ρ(ab) = ρ(a)ρ(b) for every pair, orthogonal matrices, characters orthonormal "
        "(⟨χ, χ⟩ = 1; 2 for the real form of a complex pair, as Z_n's frequencies), and the basis functions add up to |G|."
    )
    components.table(cached.irrep_table(group.key), hide_index=True, column_config={
        "<χ,χ>": st.column_config.NumberColumn(format="%.6f"), "Frobenius–Schur": st.column_config.NumberColumn(format="%.3f"),
        "max |ρ(ab) − ρ(a)ρ(b)|": st.column_config.NumberColumn(format="%.1e"),
    })
clusters = pd.DataFrame(report["clusters"])
if not clusters.empty:
    clusters["mean share in own irrep"] = pd.to_numeric(clusters["mean share in own irrep"], errors="coerce")
if not clusters.empty:
    st.markdown("**Neuron clusters**: each live neuron is assigned to the irrep holding most of its weight.")
    components.table(clusters, hide_index=True, column_config={
        "irrep": "Dominant irrep", "key": "Key irrep", "neurons": "Neurons",
        "share of output weight": st.column_config.ProgressColumn("Share of output weight", format="percent", min_value=0.0, max_value=1.0),
        "mean share in own irrep": st.column_config.NumberColumn("Mean share in its irrep", format="percent"),
    })

# -- 3. neurons -------------------------------------------------------------------------------
components.heading("3. Neurons")
m = mech.parts.n_neurons
dominant = arrays["dominant"]
default_neuron = int(np.argmax(arrays["neuron_importance"]))
neuron = state.url_int("v_neuron", 0, m - 1, default_neuron)
event = chart(figs.neuron_irrep_map(arrays["neuron_share"], dominant, mech.irrep_names, key_irreps, neuron), "neuron_irrep_map",
              key=f"mech_neurons_{name}", on_select="rerun", selection_mode="points")
picked = clicked(event, "_mech_neuron_click")
if picked is not None and picked[0] != neuron:
    state.request(v_neuron=picked[0])
left, right = st.columns([1, 3])
with left:
    st.number_input(f"Neuron (0-{m - 1})", min_value=0, max_value=m - 1, step=1, key="v_neuron", help="Or click a cell of the map above.")
    dom = int(dominant[neuron])
    st.markdown(
        f"**Neuron {neuron}**  \n"
        f"mostly **{mech.irrep_names[dom] if dom >= 0 else 'dead'}** ({arrays['neuron_share'][neuron, max(dom, 0)]:.0%} of its weight)  \n"
        f"share in key irreps: **{arrays['key_concentration'][neuron]:.0%}**  \n"
        f"output weight rank: **{int((arrays['neuron_importance'] > arrays['neuron_importance'][neuron]).sum()) + 1}** of {m}"
    )
x_sel = state.url_int("v_x", 0, order - 1, 1 % order)
y_sel = state.url_int("v_y", 0, order - 1, 2 % order)
with right:
    table = gx.neuron_table(mech.parts, neuron)
    dom_name = mech.irrep_names[dom] if dom >= 0 else "dead"
    event = chart(figs.neuron_activation(table, names, neuron, dom_name, (x_sel, y_sel), cached.product_names(group)), "neuron_activation",
                  key=f"mech_activation_{name}", on_select="rerun", selection_mode="points")
    picked = clicked(event, "_mech_pair_click")
    if picked is not None and len(picked) == 2 and picked != (x_sel, y_sel):
        state.request(v_x=picked[0], v_y=picked[1])

# -- 4. one pair ------------------------------------------------------------------------------
components.heading("4. One pair: which irreps produce the answer")
c1, c2, c3 = st.columns([1, 1, 2])
c1.selectbox("Left element x", list(range(order)), format_func=lambda i: names[i], key="v_x")
c2.selectbox("Right element y", list(range(order)), format_func=lambda i: names[i], key="v_y")
contributions = gx.pair_contributions(mech.parts, group.key, x_sel, y_sel)
truth, predicted, runner = contributions.attrs["truth"], contributions.attrs["predicted"], contributions.attrs["runner_up"]
pair_index = x_sel * order + y_sel
in_train = bool(np.isin(pair_index, mech.split["train_index"]))
verdict = "right" if predicted == truth else f"**wrong** (it answers {names[predicted]})"
c3.markdown(
    f"**{group.describe(x_sel, y_sel)}** — a {'training' if in_train else 'held-out'} pair.  \n"
    f"The network is {verdict}; margin over the runner-up {names[runner]}: **{contributions.attrs['margin']:+.2f}**."
)
left, right = st.columns(2)
with left:
    chart(figs.pair_contributions(contributions, f"Why {names[x_sel]}, {names[y_sel]} → {names[truth]}: margin by irrep"), "pair_contributions", key="mech_contrib")
with right:
    logits = mech.parts.logits(np.array([x_sel]), np.array([y_sel]))[0]
    explained = mech.explained.logits(np.array([x_sel]), np.array([y_sel]))[0]
    chart(figs.pair_logits(logits, explained, names, truth, f"Logits of every answer for ({names[x_sel]}, {names[y_sel]})"), "pair_logits", key="mech_logits")

# -- 5. equivariance --------------------------------------------------------------------------
components.heading("5. Equivariance: the symmetry the algorithm relies on")
eq = report["equivariance"]
st.markdown(
    "If the network computes x·y, then moving the left input by g must move the answer by g: f(g·x, y) should equal f(x, y) with its answers relabelled by g "
    "(and on the right, f(x, y·g) ~ f(x, y) relabelled). Wu, Jaburi, Drori & Gross (2024) found trained networks are *approximately* equivariant in each argument "
    f"and built their proofs on it. Here: mean relative distance **{eq['left']:.3f}** (left) and **{eq['right']:.3f}** (right), against "
    f"**{(eq['left_unpermuted'] + eq['right_unpermuted']) / 2:.2f}** without relabelling."
)
chart(figs.equivariance_chart(arrays["equivariance_left"], arrays["equivariance_right"], arrays["equivariance_left_unpermuted"], arrays["equivariance_right_unpermuted"], names),
      "equivariance", key="mech_equivariance")

# -- 6. verification --------------------------------------------------------------------------
components.heading("6. Verification: brute force vs explanation vs proof")
left, right = st.columns(2)
with left:
    chart(figs.verification_chart(report), "verification", key="mech_verification")
with right:
    if report.get("bound_frontier"):
        chart(figs.bound_frontier_chart(report["bound_frontier"], report["brute_force_accuracy"], bound.get("unexplained_rank") if bound else None), "bound_frontier", key="mech_frontier")
rows = [
    {"check": "brute force: the network on all pairs", "accuracy": report["brute_force_accuracy"], "what it says": "the truth for this network",
     "cost (FLOPs)": bound["brute_force_flops"] if bound else None, "time (ms)": 1000 * bound["brute_force_seconds"] if bound else None},
    {"check": "key irreps only (rest ablated)", "accuracy": report["explained_accuracy"], "what it says": "sufficient if close to brute force",
     "cost (FLOPs)": bound["brute_force_flops"] if bound else None, "time (ms)": None},
    {"check": "key irreps removed", "accuracy": report["without_key_accuracy"], "what it says": "necessary if near chance",
     "cost (FLOPs)": bound["brute_force_flops"] if bound else None, "time (ms)": None},
]
if bound:
    rows.append({"check": f"proved bound (key irreps + {bound.get('unexplained_rank', 0)} other directions)", "accuracy": bound["accuracy"], "what it says": f"{bound['certified']:,} of {bound['total']:,} pairs proved",
                 "cost (FLOPs)": bound["flops"], "time (ms)": 1000 * bound["seconds"]})
    rows.append({"check": "bound + brute force on unproved pairs", "accuracy": report["brute_force_accuracy"],
                 "what it says": "exact; cheap only if most pairs are proved",
                 "cost (FLOPs)": bound.get("exact_flops"), "time (ms)": None})
components.table(pd.DataFrame(rows), hide_index=True, column_config={
    "accuracy": st.column_config.NumberColumn("Accuracy", format="percent"),
    "cost (FLOPs)": st.column_config.NumberColumn("Cost (FLOPs)", format="%.3e"),
    "time (ms)": st.column_config.NumberColumn("Measured time (ms)", format="%.1f"),
})
if bound:
    st.markdown(
        f"**What the bound proves.** {bound['proves']}  \n**What it does not prove.** {bound['does_not_prove']}  \n"
        f"It costs **{bound['cost_ratio']:.0%}** of brute force in arithmetic (FLOPs; on this numpy implementation the measured time is "
        f"{bound['seconds'] / max(bound['brute_force_seconds'], 1e-9):.1f}× brute force's, because one big matrix product is hard to beat with several small ones); a complete certificate (adding brute force on the unproved pairs) costs "
        f"**{bound.get('exact_flops', 0) / max(bound['brute_force_flops'], 1):.0%}**. For comparison, Wu et al. (2024) report proofs at about 30% of brute-force time, "
        "with a ≥ 95% bound for 45% of their models. "
        "Measured times were taken at training time on the machine named above and are indicative only."
    )
else:
    st.info("No bound was computed for this network.")

# -- 7. memorising neurons --------------------------------------------------------------------
components.heading("7. Corrupted labels and memorising neurons")
if mech.corrupted:
    n_bad = int((mech.split["train_labels"] != group.table.ravel()[mech.split["train_index"]]).sum())
    st.markdown(
        f"{n_bad} training pairs were given a **wrong answer**. A network can memorise them and still generalise "
        "(\"To grok or not to grok\", Doshi et al. 2024). Where does the memory live? Neurons that memorise single pairs spread their weight "
        "over many irreps, so they are found by how little of their weight lies in the key irreps, and pruned. The other place it can hide is "
        "the small non-key part of every neuron: removing all weights outside the key irreps tests that."
    )
else:
    st.markdown("This network was trained on clean labels: there is nothing to memorise, and the few neurons left of the threshold carry little output weight. "
                "The corrupted-label recipe shows memorisation:")
    noisy = [r.name for r in recipes.list_recipes("mechanisms") if "noisy" in r.name]
    if noisy and st.button(f"Open {noisy[0]}", key="mech_open_noisy"):
        state.request(recipe=noisy[0])
threshold_default = float(mech.model.manifest.get("train_config", {}).get("prune_threshold", 0.5))
try:
    threshold = float(st.session_state.get("v_threshold", threshold_default))
except (TypeError, ValueError):
    threshold = threshold_default
st.session_state["v_threshold"] = min(max(round(threshold, 2), 0.05), 0.95)
left, right = st.columns([2, 1])
with right:
    threshold = st.slider("Prune neurons with a key-irrep share below", 0.05, 0.95, step=0.05, key="v_threshold")
    neurons, accuracies = cached.pruning(name, stamp, float(threshold))
    weight = float(arrays["neuron_importance"][neurons].sum() / max(arrays["neuron_importance"].sum(), 1e-12)) if neurons else 0.0
    listed = f": {', '.join(map(str, neurons[:20]))}{' ...' if len(neurons) > 20 else ''}" if neurons else "."
    st.markdown(f"**{len(neurons)}** neuron(s) below this threshold, holding {weight:.1%} of the output weight{listed}")
    pruned = state.url_choice("v_pruned", ["0", "1"], "0") == "1"
    def toggle_pruning() -> None:
        st.session_state["v_pruned"] = "0" if st.session_state.get("v_pruned") == "1" else "1"

    st.button("Restore the neurons" if pruned else "Prune the memorising neurons", type="secondary" if pruned else "primary",
              key="mech_restore" if pruned else "mech_prune", on_click=toggle_pruning)
with left:
    chart(figs.concentration_histogram(arrays["key_concentration"], mech.alive, float(threshold)), "neuron_concentration", key="mech_concentration")
if pruned:
    scored = accuracies[accuracies["pairs"] > 0]  # no corrupted rows for a clean recipe
    chart(figs.pruning_chart(scored.drop(columns="pairs")), "pruning", key="mech_pruning")
    components.table(scored.reset_index(), hide_index=True, column_config={
        "pairs scored": "Pairs scored", "before": st.column_config.NumberColumn("Before", format="percent"),
        "after": st.column_config.NumberColumn("Memorising neurons pruned", format="percent"),
        "key irreps only": st.column_config.NumberColumn("Weights outside key irreps removed", format="percent"), "pairs": "Number of pairs",
    })
    if mech.corrupted:
        wrong, test = accuracies.loc["corrupted training pairs (their wrong label)"], accuracies.loc["test pairs"]
        verdicts = []
        for column, what in (("after", f"Pruning the {len(neurons)} neuron(s)"), ("key irreps only", "Removing every weight outside the key irreps")):
            drop = wrong["before"] - wrong[column]
            effect = "forgets" if drop >= 0.3 else "barely changes" if drop < 0.05 else "partly forgets"
            verdicts.append(f"{what} **{effect}** the wrong labels (memorised {wrong['before']:.0%} → {wrong[column]:.0%}); held-out accuracy {test['before']:.1%} → {test[column]:.1%}.")
        st.markdown("  \n".join(verdicts))
else:
    st.caption("Press the button to prune the neurons left of the threshold and compare accuracies before and after (and with all weights outside the key irreps removed).")
