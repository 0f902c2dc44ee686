"""The SAE page's "Steer this feature" block (issue 18 item 1): edit the feature on one example
(zero it, scale it or set it) and see the class probabilities before and after side by side, and
the feature's causal effect (its ablation over the test examples where it fires) beside the
decoder-direction effect the page shows above. The engine is ``interp_core.families.sae.steer``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from interp_core.errors import InterpError
from interp_core.families.sae import data as sources
from interp_core.families.sae import figures as figs
from interp_core.families.sae import steer as steering
from ui import cache, components
from ui import sae as adapters
from ui.components import chart, show_error

MODES = {"zero it (ablate)": "zero", "scale it": "scale", "set it to a value": "set"}


def edit_words(mode: str, value: float) -> str:
    """How a chart title names the edit: 'zeroed', 'x3', 'set to 4'."""
    return {"zero": "zeroed", "scale": f"x{value:g}", "set": f"set to {value:g}"}[mode]


@st.cache_data(show_spinner=False, max_entries=64)
def causal(name: str, stamp: str, feature: int) -> dict:
    """The feature's causal effect and its comparison with the decoder direction (cached per artifact)."""
    trained = cache.trained_model(name)
    effect = steering.causal_effect(trained, feature)
    rows, sentence = steering.compare_effects(effect, steering.decoder_effect(trained.extras["analysis"], feature, effect.labels))
    return {"rows": rows, "sentence": sentence, "n_examples": effect.n_examples, "n_firing": effect.n_firing}


def first_firing_test_example(name: str, stamp: str, feature: int, kind: str, n_train: int) -> int:
    """The test example (a window, for text) where the feature fires most; 0 when it fires on none."""
    column = adapters.feature_column(name, stamp, feature)
    test = column[n_train:]
    if not len(test) or test.max() <= 0:
        return 0
    top = int(test.argmax()) + n_train
    if kind == "text":
        index = adapters.text_index(name, stamp)
        return int(index["token_window"][top]) - int(index["n_train_windows"])
    return top - n_train


def steer_section(name: str, stamp: str, model, feature: int, kind: str) -> None:
    st.markdown("#### Steer this feature")
    try:
        steering.host_of(model.model)
        if kind == "toy":
            raise InterpError("Steering shows class probabilities; the toy model reconstructs its features and has no classes, so steering is not available for it.")
    except InterpError as exc:
        st.info(f"Not available: {exc}")
        return
    st.caption("Edit this feature's code at the layer and run the rest of the model: the layer becomes its SAE reconstruction "
               "with the edit plus the SAE's error term, so 'scale it by 1' changes nothing and any change comes from the edit.")
    steer_fragment(name, stamp, feature, kind)
    effect_table(name, stamp, feature, kind)


@st.fragment
def steer_fragment(name: str, stamp: str, feature: int, kind: str) -> None:
    trained = cache.trained_model(name)
    n_test = len(trained.dataset.X_test)
    n_train = int(trained.manifest["source"]["n_train"])
    row = trained.extras["analysis"].features.iloc[feature]
    c = st.columns(3)
    mode = MODES[c[0].selectbox("Edit", list(MODES), key=f"sae_steer_mode_{name}_{feature}")]
    value = 0.0
    if mode == "scale":
        value = c[1].number_input("Multiply its activation by", value=3.0, step=0.5, key=f"sae_steer_scale_{name}_{feature}")
    elif mode == "set":
        value = c[1].number_input("Set its activation to", value=float(round(row["max_activation"], 2)), step=0.5, key=f"sae_steer_set_{name}_{feature}",
                                  help="In the SAE's units; the feature's largest activation is the default.")
    what = "window" if kind == "text" else "example"
    default = first_firing_test_example(name, stamp, feature, kind, n_train)
    example = int(c[2].number_input(f"Test {what} (0-{n_test - 1})", min_value=0, max_value=n_test - 1, value=default, step=1, key=f"sae_steer_example_{name}_{feature}",
                                    help=f"The default is the test {what} where this feature fires most."))
    text = st.text_input("Or type text to steer on", key=f"sae_steer_text_{name}_{feature}") if kind == "text" else ""
    try:
        x, where = (sources.encode_text(text), "your text") if text.strip() else (steering.example_input(trained, example), f"test {what} {example}")
        result = steering.steer(trained, x, [feature], mode, value)
    except InterpError as exc:
        show_error(exc, "Steering")
        return
    out = result.to_json()
    edit = edit_words(mode, value)
    title = f"Feature {feature} {edit} on {where}: KL {out['kl']:.3f}" + (f", top class {out['top_before']} -> {out['top_after']}" if out["changed"] else f", top class stays {out['top_before']}")
    chart(figs.steer_chart(result.labels, result.before, result.after, title), "sae_steer", key=f"sae_steer_chart_{name}_{feature}")
    m = st.columns(4)
    components.metric(m[0], "Activation here", f"{result.activations[0]:.3f}", help="Before the edit" + (" (its largest over the tokens)." if kind == "text" else "."))
    components.metric(m[1], "Top class", f"{out['top_after']}", delta=None if not out["changed"] else f"was {out['top_before']}", delta_color="off")
    components.metric(m[2], "KL (after || before)", f"{out['kl']:.4f}")
    if result.cosine is not None:
        components.metric(m[3], "Cosine to original embedding", f"{result.cosine:.4f}")
    if result.activations[0] == 0 and mode != "set":
        st.caption(f"This feature does not fire on {where}, so zeroing or scaling it changes nothing; set it to a value to turn it on.")


def effect_table(name: str, stamp: str, feature: int, kind: str) -> None:
    st.markdown("##### What ablating it does, beside what its decoder direction says")
    if kind == "text" and not st.toggle("Measure the causal effect (runs MiniLM on every test window where it fires, about 10-30 s)", key=f"sae_causal_go_{name}_{feature}"):
        return
    try:
        with st.spinner("Ablating the feature on the test examples where it fires"):
            found = causal(name, stamp, feature)
    except InterpError as exc:
        show_error(exc, "The causal effect")
        return
    st.markdown(found["sentence"])
    if found["n_examples"]:
        frame = pd.DataFrame(found["rows"]).rename(columns={"ablation_change": "probability change when ablated", "decoder_effect": "decoder-direction logit effect"})
        frame = frame.sort_values("probability change when ablated", kind="stable", ignore_index=True)
        if frame["decoder-direction logit effect"].isna().all():
            frame = frame.drop(columns="decoder-direction logit effect")
        st.dataframe(frame, hide_index=True, column_config={"probability change when ablated": st.column_config.NumberColumn(format="%+.4f"),
                                                           "decoder-direction logit effect": st.column_config.NumberColumn(format="%+.3f")})
        st.caption(f"Mean over the {found['n_examples']} test examples where the feature fires" + (f" (of {found['n_firing']})" if found["n_firing"] > found["n_examples"] else "")
                   + "; the decoder-direction effect is the direct logit change per unit of activation (the 'Effect on the outputs' chart above).")
