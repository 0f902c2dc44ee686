"""Train or retrain a recipe from the browser, with a live progress bar and loss curve.

Training runs in the script thread; clicking "Stop" (or any widget) makes Streamlit rerun,
which interrupts the run at the next progress update, and nothing is saved.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from interp_core import recipes
from interp_core.figures.models import training_curve
from ui import cache
from ui.components import PLOTLY_CONFIG, show_error

_RUNNING = "_training_running"
_DONE = "_training_done"  # the finished run's sentence, shown after the rerun that refreshes the hub


def _live_callbacks(progress_bar, status_text, chart_slot):
    epoch_losses: dict[int, list[float]] = {}
    metrics: dict[int, float] = {}
    last = {"bar": 0.0, "chart": 0.0}

    def on_progress(event) -> None:
        epoch_losses.setdefault(event.epoch, []).append(event.loss)
        if event.metric is not None:
            metrics[event.epoch - 1] = event.metric
        now = time.monotonic()
        if now - last["bar"] > 0.2 or event.step == event.total:
            last["bar"] = now
            progress_bar.progress(min(event.step / max(event.total, 1), 1.0), text=f"epoch {event.epoch}/{event.epochs} - loss {event.loss:.4f}")
        if now - last["chart"] > 1.0:
            last["chart"] = now
            epochs = sorted(epoch_losses)
            history = {
                "epoch": epochs,
                "train_loss": [float(np.mean(epoch_losses[e])) for e in epochs],
                "val_loss": [float("nan")] * len(epochs),
                "val_metric": [metrics.get(e, float("nan")) for e in epochs],
            }
            chart_slot.plotly_chart(training_curve(history), config=PLOTLY_CONFIG, key=f"live-{now}")

    def on_stage(text: str) -> None:
        status_text.write(text + "...")

    return on_progress, on_stage


def render(retrain: str | None = None) -> None:
    """The hub's training form; ``retrain`` names a recipe to train now (a corrupted artifact's Retrain button)."""
    names = [r.name for r in recipes.list_recipes()]
    interrupted = st.session_state.pop(_RUNNING, None)
    if interrupted:
        st.info(f"Training of {interrupted} was stopped; nothing was saved and the previous model, if any, is unchanged.")
    done = st.session_state.pop(_DONE, None)
    if done:
        st.success(done, icon=":material/check_circle:")
    default = names.index(st.session_state["recipe"]) if st.session_state.get("recipe") in names else 0
    left, mid, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = left.selectbox("Recipe to train", names, index=default, key="hub_train_recipe")
    seed = mid.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="hub_seed", help="The same seed on the CPU gives the same metrics.")
    start = right.button("Train", type="primary", key="hub_train", width="stretch")
    if retrain in names:
        name, start = retrain, True
    if not start:
        return
    st.session_state[_RUNNING] = name
    with st.status(f"Training {name}...", expanded=True) as status:
        st.button("Stop training", key="hub_stop")
        progress_bar = st.progress(0.0, text="starting")
        chart_slot = st.empty()
        on_progress, on_stage = _live_callbacks(progress_bar, st.empty(), chart_slot)
        try:
            trained = recipes.train(name, store=cache.training_store(name), seed=int(seed), progress=on_progress, on_stage=on_stage)
        except Exception as exc:  # noqa: BLE001 - shown as one sentence; the app keeps serving
            st.session_state.pop(_RUNNING, None)
            status.update(label=f"Training {name} failed", state="error")
            show_error(exc, f"Training {name}")
            return
        st.session_state.pop(_RUNNING, None)
        cache.clear_model_caches()
        accuracy = trained.metrics.get("test_accuracy")  # None: an SAE on generated activations has no model to score (toy-sae-hier)
        result = f"test accuracy {accuracy:.3f}" if accuracy is not None else f"explained variance {trained.metrics.get('explained_variance', float('nan')):.3f}"
        message = f"Trained {name}: {result} in {trained.manifest['train_seconds']:.1f} s on {trained.manifest['device_name']}"
        status.update(label=message, state="complete", expanded=False)
    # The hub's table, the sidebar and the recipe in use were drawn before training: rerun so they
    # show the new model ("trained", its accuracy) at once; the sentence is shown again after the rerun.
    st.session_state[_DONE] = message
    st.rerun()
