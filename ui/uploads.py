"""Bring your own data and model in the browser, for this browser session only.

``activate()`` gives each browser session a random id (kept in session_state, never read from the
URL) and makes its uploads visible to the engine while its script runs (interp_core.sessions).
``data_panel(family)`` is the "Your own data" box a page offers: upload, validate (one sentence per
problem), train the family's default model with live progress, then explore it like a built-in
recipe. ``model_panel()`` is the model hub's "Bring your own model" box on Home.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from interp_core import sessions, userdata
from interp_core.data import max_upload_bytes
from interp_core.store import default_root
from ui import state, teaching
from ui import components
from ui.components import show_error
from ui.folders import folder_name
from ui.training_panel import _live_callbacks

_SESSION = "_interp_session"
_DONE = "_upload_done"
_PARSED = "_upload_parsed"


def activate() -> sessions.Session:
    """This browser session's scope (made on its first run); every page's sidebar calls this first."""
    session = st.session_state.get(_SESSION)
    root = default_root()
    if not isinstance(session, sessions.Session) or session.store_root != root:
        session = sessions.Session(sessions.new_session_id(), root)
        st.session_state[_SESSION] = session
    sessions.activate(session)
    return session


def pair_of(name: str) -> str | None:
    """The counterpart of a session recipe trained on an upload (a Concepts classifier <-> its CBM)."""
    session = sessions.current()
    return session.pairs.get(name) if session is not None else None


def _csv_columns(data: bytes) -> list[str]:
    try:
        return [str(c) for c in pd.read_csv(io.BytesIO(data), nrows=0).columns]
    except Exception:  # noqa: BLE001 - load_user_file says what is wrong with the file
        return []


def _read(upload, family: str | None, key: str):
    """The upload as a Dataset (memoised per file, target and page), or None while a target is being chosen."""
    data = upload.getvalue()
    target = None
    if upload.name.lower().endswith(".csv"):
        columns = _csv_columns(data)
        if columns:
            target_key = f"upload_target_{key}"
            if st.session_state.get(target_key) not in columns:
                st.session_state[target_key] = columns[-1]
            target = st.selectbox("Target column (the class to predict)", columns, key=target_key)
    return _memoised((upload.file_id, upload.name, target, family), lambda: userdata.read_upload(data, upload.name, family, target))


def _read_texts(upload, loaded):
    """Uploaded texts for a Hugging Face model, tokenised by its tokenizer (memoised per file)."""
    return _memoised((upload.file_id, upload.name, "texts"), lambda: userdata.read_model_upload(loaded, upload.getvalue(), upload.name))


def _memoised(memo_key: tuple, parse):
    """``parse()``'s Dataset, kept in the session for the latest file only (a rerun does not parse it again)."""
    memo = st.session_state.get(_PARSED, {})
    if memo_key not in memo:
        st.session_state[_PARSED] = memo = {memo_key: parse()}  # keep only the latest file
    return memo[memo_key]


def _describe(dataset) -> str:
    if dataset.modality == "activations":
        true_features = dataset.extras.get("true_features")
        known = f", {len(true_features)} known true features" if true_features is not None else ""
        return f"**{dataset.name}**: {len(dataset.X_train) + len(dataset.X_test):,} activation vectors of dimension {dataset.X_train.shape[1]}{known}."
    parts = [f"**{dataset.name}**: {dataset.modality}", f"{len(dataset.y_train) + len(dataset.y_test):,} examples",
             f"input shape {tuple(dataset.input_shape)}", f"{dataset.n_classes} classes ({', '.join(dataset.class_names[:6])}{', ...' if dataset.n_classes > 6 else ''})"]
    if dataset.has_mask:
        parts.append("ground-truth mask")
    if dataset.has_concepts:
        parts.append(f"{len(dataset.concept_names or [])} concepts")
    return ", ".join(parts) + "."


def data_panel(family: str | None) -> None:
    """The page's "Your own data" box; a page that cannot use uploads says why in one sentence."""
    session = activate()
    if teaching.presenting():  # fewer controls while presenting
        return
    key = family or "home"
    page = userdata.page_name(family)
    uploads = userdata.uploads_of(family)
    done = st.session_state.pop(_DONE, None)
    with st.expander("Your own data", expanded=bool(done), icon=":material/upload_file:"):
        if done:
            st.success(done)
        if uploads.cannot:
            st.info(uploads.cannot)
            return
        st.caption(
            f"Upload {uploads.accepts} Up to {max_upload_bytes() / 2**20:.0f} MB. Your file and the model trained on it "
            "stay in this browser session only: other visitors never see them, and they are deleted a day after you leave."
        )
        upload = st.file_uploader("Your data file (.csv or .npz)", key=f"upload_data_{key}", help="Files are read in memory and validated; nothing in them is executed (NPZ files are read without pickle).")
        if upload is None:
            return
        try:
            dataset = _read(upload, family, key)
            plan = userdata.default_recipes(family, dataset)
        except Exception as exc:  # noqa: BLE001 - an InterpError's sentence as is; anything else is logged, and the app keeps serving
            show_error(exc, f"Reading {upload.name[:60]}")
            return
        st.markdown(_describe(dataset))
        names = ", ".join(recipe.name for recipe, _ in plan)
        label = uploads.model_label or "model"
        if not st.button(f"Train the default {label} on my data", key=f"upload_train_{key}", type="primary"):
            st.caption(f"Trains {names} on this file, then this page explores it. It is listed in the sidebar for this session only.")
            return
        _train(session, family, dataset, page)


def _train(session: sessions.Session, family: str | None, dataset, page: str) -> None:
    with st.status(f"Training on {dataset.name}...", expanded=True) as status:
        st.button("Stop training", key="upload_stop")
        progress_bar = st.progress(0.0, text="starting")
        chart_slot = st.empty()
        on_progress, on_stage = _live_callbacks(progress_bar, st.empty(), chart_slot)

        def on_recipe(recipe, index: int, total: int) -> None:
            status.update(label=f"Training {recipe.name} ({index + 1} of {total})...")

        try:
            trained = userdata.train_defaults(session, family, dataset, progress=on_progress, on_stage=on_stage, on_recipe=on_recipe)
        except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
            status.update(label="Training on your data failed", state="error")
            show_error(exc, f"Training on {dataset.name}")
            return
        status.update(label="Trained", state="complete", expanded=False)
    first = trained[0]
    metrics = first.metrics
    if metrics.get("test_accuracy") is not None:
        headline = f"test accuracy {metrics['test_accuracy']:.3f} on {len(first.dataset.y_test)} held-out examples"
    else:  # an SAE on activations: no classifier to score
        headline = f"explained variance {metrics.get('explained_variance', float('nan')):.3f} on {len(first.dataset.X_test)} held-out vectors"
    st.session_state[_DONE] = f"Trained {first.name} on your file: {headline}. The {page} page now explores it; pick it in the sidebar any time during this session."
    state.request(recipe=first.name, example=0)


_MODEL = "_model_loaded"


def _load_model(weights, config, folder):
    """The uploaded model (memoised per files): (LoadedModel, the files that rebuild it, its name)."""
    from interp_core import foreign
    from interp_core.modelfiles import load_model_file

    memo_key = (getattr(weights, "file_id", None), getattr(config, "file_id", None), tuple(f.file_id for f in folder or ()))
    memo = st.session_state.get(_MODEL, {})
    if memo_key in memo:
        return memo[memo_key]
    if folder:
        label = folder_name(folder)
        loaded, files = foreign.load_folder_files(foreign.folder_files([(f.name, f.getvalue()) for f in folder], label), label)
    elif weights.name.lower().endswith(".zip"):
        label = weights.name.removesuffix(".zip").removesuffix(".ZIP") or "model"
        loaded, files = foreign.load_folder_files(foreign.zip_files(weights.getvalue(), weights.name), label)
    else:
        label, data = weights.name, weights.getvalue()
        loaded = load_model_file(weights.name, config=config.getvalue() if config is not None else None, data=data, filename=weights.name)
        files = foreign.model_files(loaded, data, config.getvalue() if config is not None else None)
    st.session_state[_MODEL] = {memo_key: (loaded, files, label)}  # keep only the latest model
    return loaded, files, label


def model_panel() -> None:
    """Home's "Bring your own model": validate a model (a file, a zipped or uploaded Hugging Face folder),
    summarise it, and explore it on the user's data."""
    session = activate()
    done = st.session_state.pop("_model_upload_done", None)
    with st.expander("Bring your own model", expanded=bool(done), icon=":material/model_training:"):
        if done:
            st.success(done)
        st.caption(
            "A **.pt2** program written by `torch.export.save` (any PyTorch classifier), a **Hugging Face** sequence classifier, causal language model or encoder (no head, e.g. BertModel) "
            "(its folder, or the folder as a **.zip**: `config.json`, `model.safetensors`, tokenizer files), or a **.safetensors** file "
            "of one of this project's architectures plus its **JSON config** (`{\"arch\": \"mlp\", \"model_config\": {...}}`, or a recipe's `manifest.json`). "
            "Pickle checkpoints (.pt, .pth, .ckpt, .pkl, pytorch_model.bin) are refused without being opened: loading them can run code, "
            "and so is a Hugging Face folder that asks for its own code."
        )
        left, right = st.columns(2)
        weights = left.file_uploader("Model file (.pt2, .safetensors or a zipped Hugging Face folder)", key="upload_model")
        config = right.file_uploader("Its JSON config (for .safetensors)", key="upload_model_config")
        folder = st.file_uploader("Or a Hugging Face model folder", accept_multiple_files="directory", key="upload_model_folder")
        if weights is None and not folder:
            return
        try:
            loaded, files, label = _load_model(weights, config, folder)
        except Exception as exc:  # noqa: BLE001 - an InterpError's sentence as is; anything else is logged, and the app keeps serving
            show_error(exc, f"Reading {(weights.name if weights is not None else 'the folder')[:60]}")
            return
        summary = loaded.summary
        cols = st.columns(4)
        if summary.format == "safetensors":  # one of the project's short names (mlp, fcn, ...)
            components.metric(cols[0], "Architecture", summary.architecture)
        else:  # a long class name or description: a card would wrap it over several lines
            components.metric(cols[0], "Kind", {"pt2": "torch.export (.pt2)", "huggingface": "Hugging Face"}.get(loaded.kind, loaded.kind))
            st.caption(f"Architecture: {summary.architecture}.")
        components.metric(cols[1], "Parameters", f"{summary.n_parameters:,}")
        components.metric(cols[2], "Input shape", str(tuple(summary.input_shape)) if summary.input_shape is not None else "token ids" if loaded.kind == "huggingface" else "unknown")
        components.metric(cols[3], "Outputs", summary.n_outputs if summary.n_outputs is not None else "unknown")
        for note in summary.notes:
            st.caption(note)
        _foreign_model(session, loaded, files, label)


def _explore_button(working: str, label: str, save) -> None:
    """The box's "Explore this model" button: ``save()`` stores the model as a session recipe (its
    error as one sentence), then the page reruns on it with the sentence saying where it is."""
    if not st.button("Explore this model", key="upload_model_explore", type="primary"):
        return
    try:
        with st.spinner(working):
            recipe = save()
    except Exception as exc:  # noqa: BLE001 - one sentence; the app keeps serving
        show_error(exc, f"Saving {label[:60]}")
        return
    page = {"rules": "Rules", "timeseries": "Time series"}.get(recipe.family, "Rules or Time series")  # the page foreign_recipe lists it on (a text model: not Rules)
    st.session_state["_model_upload_done"] = f"{recipe.name} is in the sidebar for this session: Home shows it now; open {page} to explain it, or SAE features, Concepts or Prototypes to explore a layer of it."
    state.request(recipe=recipe.name, example=0)


def _foreign_model(session, loaded, files: dict, label: str) -> None:
    """A .pt2 program, a project .safetensors with its config or a Hugging Face classifier: the user's data (or a
    dataset it fits), a layer, then explore."""
    from interp_core import foreign
    from interp_core.causal_lm import is_causal_lm, is_encoder
    from interp_core.data import load_dataset

    if is_causal_lm(loaded):  # no classes: measured and steered in the box itself (ui/causal_lm.py)
        from ui import causal_lm

        causal_lm.panel(session, loaded, label, _memoised)
        return
    if is_encoder(loaded):  # hidden states, no classes: mapped and its SAE trained in the box itself (ui/encoder.py)
        from ui import encoder

        encoder.panel(session, loaded, label, _memoised)
        return
    data = st.file_uploader("Your data to explain it on (.csv, .npz; texts: .txt, .jsonl)", key="upload_model_data",
                            help="A table, images or series the model takes; for a Hugging Face text model: texts (.txt one a line, .jsonl with 'text' and an optional 'label', a CSV with a 'text' column) or token ids. With labels, its accuracy is measured.")
    matches = userdata.matching_datasets(loaded, session) if data is None else []
    try:
        if data is not None and userdata.holds_texts(loaded, data.getvalue(), data.name):
            dataset = _read_texts(data, loaded)
        elif data is not None:
            dataset = _read(data, None, "model")
        elif matches:
            dataset = load_dataset(st.selectbox("Dataset to explain it on", matches, key="upload_model_dataset", help="Datasets with the model's input shape and number of classes."))
        else:
            st.info("Upload the data to explain this model on: a CSV (you choose the target column) or an NPZ with X and y, shaped as the model's input.")
            return
        layers, default = foreign.layer_choices(loaded, dataset)
    except Exception as exc:  # noqa: BLE001 - one sentence (data the model does not take: both shapes); the app keeps serving
        show_error(exc, f"Running {label[:60]} on the data")
        return
    names = [layer.name for layer in layers if layer.output_shape is not None]
    shapes = {layer.name: layer for layer in layers}
    layer = st.selectbox(
        "Layer for the embedding map", names, index=names.index(default) if default in names else len(names) - 1, key="upload_model_layer",
        format_func=lambda name: f"{name}: {shapes[name].type} {tuple(shapes[name].output_shape)}",
        help="Each layer of the model with its output shape on your data; Home maps the test examples by this layer's output. The default is the last layer before the output.",
    )
    st.caption(
        "Explored on **Home** (accuracy, the map from this layer, one example) and on **Rules** (tables and images) or **Time series** "
        "(series: every attribution method, scored against a `mask` when your NPZ has one; texts: token attributions with deletion / insertion), which explain any classifier; "
        "**SAE features**, **Concepts** and **Prototypes** explore it at any layer in their \"your own model\" boxes."
    )
    _explore_button("Evaluating the model on your data...", label, lambda: userdata.save_foreign_model(session, loaded, files, dataset, layer))
