"""The SAE page's "Circuit" panel for a transcoder feature (issue 18 item 2): its top upstream
features by the weight-only connection, each edge checked by an ablation on held-out examples, and
a button per upstream feature that opens it (one step upstream). The engine is
``interp_core.families.sae.circuits``; the number of upstream features shown is ``v_circuit_top`` in the URL."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from interp_core import recipes
from interp_core.errors import InterpError
from interp_core.families.sae import circuits
from interp_core.families.sae import figures as figs
from interp_core.families.sae.models import TopKTranscoder
from ui import cache, components, state
from ui.components import chart, show_error

TOP = "v_circuit_top"


@st.cache_data(show_spinner="Ablating each upstream feature on the held-out examples...", max_entries=64)
def circuit(name: str, stamp: str, feature: int, top: int) -> dict:
    """The feature's edges (cached per artifact) and the upstream recipe's feature labels."""
    edges, upstream = circuits.recipe_circuit(cache.trained_model(name), feature, cache.catalog(), top=top)
    labels = cache.trained_model(upstream).extras["analysis"].features["label"].tolist()
    return {"edges": [e.to_json() for e in edges], "upstream": upstream, "labels": labels}


def open_upstream(upstream: str, feature: int) -> None:
    """Open ``feature`` of the upstream transcoder on the coming run (a click's callback)."""
    state.queue(recipe=upstream, v_feature=int(feature), v_view="Feature")


def circuit_section(name: str, stamp: str, model, feature: int) -> None:
    """Nothing for an SAE; for a transcoder, its circuit (or where its circuits are, for the first block's)."""
    if not isinstance(model.extras.get("sae"), TopKTranscoder):
        return
    st.markdown("#### Circuit")
    if not circuits.upstream_recipe(model):
        readers = [r.name for r in recipes.list_recipes("sae") if r.model_config.get("upstream") == name]
        st.info("This transcoder replaces the model's first block: it reads the input itself, so its features have no upstream features."
                + (f" Features of {', '.join(readers)} read from its features: open one there to see its circuit." if readers else ""))
        return
    top = state.url_int(TOP, 3, 20, 8)
    st.slider("Upstream features shown", 3, 20, key=TOP, help="How many upstream features to list, strongest weight first.")
    try:
        found = circuit(name, stamp, feature, top)
    except InterpError as exc:
        show_error(exc, "The circuit")
        return
    edges, upstream, labels = found["edges"], found["upstream"], found["labels"]
    st.caption(f"This transcoder replaces a block whose input is the output of the block {upstream} replaces, so each feature there writes "
               f"straight into what feature {feature} reads. Grey: the connection read from the weights; colour: the measured drop when it is zeroed.")
    key = f"sae_circuit_{name}_{feature}_{top}"
    chart(figs.circuit_chart(edges, labels, feature, upstream), "sae_circuit", key=key,
          on_select=components.on_click(key, lambda point: open_upstream(upstream, point[0])), selection_mode="points")
    frame = pd.DataFrame(edges).assign(label=[labels[e["upstream"]] for e in edges])
    components.table(frame[["upstream", "label", "weight", "ablation_drop", "n_examples"]], hide_index=True,
                     column_config={"upstream": st.column_config.NumberColumn("Upstream feature", format="%d"), "label": "Label",
                                    "weight": st.column_config.NumberColumn("Weight", format="%.3f", help="Pre-activation of this feature per unit of the upstream feature (weights only)."),
                                    "ablation_drop": st.column_config.NumberColumn("Ablation drop", format="%.3f", help="Mean fall of this feature's activation when the upstream feature is zeroed, over held-out examples where both fire (empty: they never do)."),
                                    "n_examples": st.column_config.NumberColumn("Examples", format="%d")})
    st.caption("Open an upstream feature (one step upstream):")
    columns = st.columns(min(len(edges), 5))
    for i, edge in enumerate(edges):
        columns[i % len(columns)].button(f"Feature {edge['upstream']}", key=f"sae_circuit_open_{name}_{feature}_{edge['upstream']}",
                                         on_click=open_upstream, args=(upstream, edge["upstream"]), help=f"Open feature {edge['upstream']} of {upstream}")
