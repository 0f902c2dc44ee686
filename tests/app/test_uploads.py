"""Uploads in the app (ui/uploads.py), in-process with streamlit.testing: a CSV, an NPZ and a
safetensors model become session recipes the pages explore; bad files get one sentence; a second
session never sees the first one's upload, not even by URL; nothing is written outside the store."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from interp_core.store import SHIPPED_ROOT

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def one_sentence(message: str) -> bool:
    """No line breaks and no second sentence (a full stop followed by a capital letter)."""
    return "\n" not in message and message.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", message)


def table_csv(n: int = 120, nan: bool = False) -> bytes:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    rows = [",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(X, y)]
    if nan:
        rows[3] = "," + rows[3].split(",", 1)[1]
    return ("a,b,c,d,label\n" + "\n".join(rows) + "\n").encode()


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def images_npz(n: int = 80) -> bytes:
    """8x8 grey images: a bright left half (class 0) or right half (class 1), with noise."""
    rng = np.random.default_rng(1)
    y = np.arange(n) % 2
    X = rng.random((n, 8, 8)) * 0.3
    for i, label in enumerate(y):
        X[i, :, 4 * label:4 * label + 4] += 0.7
    return npz(X=X, y=y, class_names=np.array(["left", "right"]))


def open_page(app, page: str | None = None, **query) -> AppTest:
    at = app(**query)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def upload(at: AppTest, key: str, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()


def files_outside(root: Path, store: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and store not in p.parents]


def test_csv_upload_on_home_trains_and_explores_it(app, user_store, tmp_path):
    at = open_page(app)
    upload(at, "upload_data_home", "../../My Table.csv", table_csv())
    assert not at.exception, at.exception
    assert at.selectbox(key="upload_target_home").value == "label"  # the last column by default
    assert "upload-my-table" in texts(at.markdown)
    at.button(key="upload_train_home").click().run()
    assert not at.exception, at.exception
    name = "user-upload-my-table-mlp"
    assert at.sidebar.selectbox(key="recipe").value == name
    assert name in at.sidebar.selectbox(key="recipe").options
    assert f"Recipe in use: {name}" in texts(at.subheader)
    assert 0.7 <= float(metric(at, "Test accuracy")) <= 1.0
    assert any(f"Trained {name}" in s.value for s in at.success)
    # the hub lists it as trained, for this session
    hub = at.dataframe[0].value.set_index("recipe")
    assert hub.loc[name, "status"] == "trained"
    # everything the upload wrote is in this session's folder of the store root
    session_dirs = list((user_store / "sessions").iterdir())
    assert len(session_dirs) == 1 and (session_dirs[0] / name / "manifest.json").is_file()
    assert files_outside(tmp_path, user_store) == []
    assert not list(REPO.rglob("My Table*")) and not list(tmp_path.rglob("My Table*"))

    # a second browser session (a new AppTest) neither lists it nor reaches it by URL
    other = open_page(app, recipe=name)
    assert not other.exception
    assert name not in other.sidebar.selectbox(key="recipe").options
    assert other.sidebar.selectbox(key="recipe").value == "digits-mlp"
    assert other.query_params["recipe"] == "digits-mlp"
    assert name not in set(other.dataframe[0].value["recipe"])


def test_npz_images_on_prototypes_and_rules(app):
    at = open_page(app, "views/prototypes.py")
    upload(at, "upload_data_prototypes", "shapes.npz", images_npz())
    assert not at.exception, at.exception
    at.button(key="upload_train_prototypes").click().run()
    assert not at.exception, at.exception
    name = "user-upload-shapes-protonet"
    assert at.sidebar.selectbox(key="recipe").value == name
    assert at.title[0].value == "Prototypes"
    assert not at.error, texts(at.error)
    assert 0.5 <= float(metric(at, "Test accuracy")) <= 1.0 and int(metric(at, "Prototypes")) == 4  # 2 per class

    at.switch_page("views/rules.py")
    at.run()
    upload(at, "upload_data_rules", "shapes.npz", images_npz())
    at.button(key="upload_train_rules").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="recipe").value == "user-upload-shapes-rules"
    assert metric(at, "Fidelity (held-out)").endswith("%")


def test_series_npz_on_time_series(app):
    rng = np.random.default_rng(2)
    y = np.arange(60) % 2
    X = rng.normal(scale=0.3, size=(60, 40))
    mask = np.zeros_like(X)
    for i, label in enumerate(y):
        start = 5 + 20 * label
        X[i, start:start + 8] += 2.0
        mask[i, start:start + 8] = 1
    at = open_page(app, "views/timeseries.py")
    upload(at, "upload_data_timeseries", "bumps.npz", npz(X=X, y=y, mask=mask))
    assert "ground-truth mask" in texts(at.markdown)
    at.button(key="upload_train_timeseries").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="recipe").value == "user-upload-bumps-fcn"
    assert at.title[0].value == "Time series" and not at.error, texts(at.error)
    # the mask makes ground-truth scores possible, as on the page's synthetic recipes
    assert 0.0 <= float(metric(at, "Best AUPRC")) <= 1.0
    assert "How the methods compare" in texts(at.subheader)


@pytest.mark.parametrize("name, data, expected", [
    ("empty.csv", b"", "empty (0 bytes)"),
    ("notes.txt", b"hello", "is not a CSV or NPZ file"),
    ("arrays.npz", npz(X=np.zeros((20, 3))), "has no array named 'y'"),
    ("gaps.csv", table_csv(nan=True), "NaN"),
    ("short.npz", npz(X=np.zeros((20, 3)), y=np.arange(19) % 2), "X has 20 examples but y has 19"),
    ("one.npz", npz(X=np.random.default_rng(0).normal(size=(20, 3)), y=np.zeros(20)), "single class"),
    ("cube.npz", npz(X=np.zeros((20, 2, 2, 2, 2)), y=np.arange(20) % 2), "dimension"),
    ("pickled.npz", npz(X=np.array([{"a": 1}] * 20, dtype=object), y=np.arange(20) % 2), "pickled"),
])
def test_bad_files_get_one_sentence_and_the_app_keeps_serving(app, name, data, expected):
    at = open_page(app)
    upload(at, "upload_data_home", name, data)
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and expected in errors[0], errors
    assert one_sentence(errors[0]), errors[0]
    assert "upload_train_home" not in [b.key for b in at.button]  # nothing to train on
    # the page below still renders the recipe in use
    assert "Recipe in use: digits-mlp" in texts(at.subheader)


def test_pages_that_cannot_use_uploads_say_why(app):
    at = open_page(app, "views/mechanisms.py")
    assert not at.exception
    reasons = [i.value for i in at.info if "uploaded file" in i.value]
    assert len(reasons) == 1 and one_sentence(reasons[0])


def test_safetensors_model_upload_is_explored_on_home_and_rules(app):
    shipped = SHIPPED_ROOT / "breast-cancer-mlp"
    at = open_page(app)
    upload(at, "upload_model", "my-model.safetensors", (shipped / "model.safetensors").read_bytes())
    assert any("JSON config" in e.value for e in at.error)  # weights alone are not enough
    upload(at, "upload_model_config", "config.json", (shipped / "manifest.json").read_bytes())
    assert not at.error, texts(at.error)
    assert metric(at, "Architecture") == "mlp" and metric(at, "Input shape") == "(30,)"
    assert int(metric(at, "Parameters").replace(",", "")) > 1000
    assert at.selectbox(key="upload_model_dataset").value == "breast_cancer"
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    name = "upload-my-model-model"
    assert at.sidebar.selectbox(key="recipe").value == name
    shipped_accuracy = f"{__import__('json').loads((shipped / 'manifest.json').read_text())['metrics']['test_accuracy']:.3f}"
    assert metric(at, "Test accuracy") == shipped_accuracy  # the same weights on the same test split
    assert "was uploaded, not trained here" in texts(at.info)
    at.switch_page("views/rules.py")
    at.run()
    at.sidebar.selectbox(key="recipe").set_value(name).run()
    assert not at.exception, at.exception
    assert metric(at, "Fidelity (held-out)").endswith("%")
    # it is one of the session's own models, so the "your own model" boxes of SAE features, Concepts and
    # Prototypes (one picker, ui/foreign_layers.py) list it with its layers
    at.switch_page("views/sae.py")
    at.run()
    assert not at.exception, at.exception
    assert name in at.selectbox(key="sae_foreign_model").options
    assert any(option.startswith("body.") for option in at.selectbox(key="sae_foreign_layer").options)


def test_pickle_checkpoint_is_refused_and_never_runs(app, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    at = open_page(app)
    upload(at, "upload_model", "model.pt", pickle.dumps(Payload()))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "pickle-based checkpoint" in errors[0] and one_sentence(errors[0])
    upload(at, "upload_model", "innocent.safetensors", pickle.dumps(Payload()))
    assert not at.exception and at.error
    assert not marker.exists()


def test_npz_with_concepts_on_concepts(app):
    rng = np.random.default_rng(3)
    concepts = (rng.random((120, 3)) > 0.5).astype(float)
    X = np.concatenate([concepts * 2 + rng.normal(scale=0.3, size=(120, 3)), rng.normal(size=(120, 2))], axis=1)
    y = (concepts[:, 0] + concepts[:, 1] >= 1).astype(int)
    at = open_page(app, "views/concepts.py")
    upload(at, "upload_data_concepts", "cells.npz", npz(X=X, y=y, concepts=concepts, concept_names=np.array(["round", "large", "dark"])))
    assert "3 concepts" in texts(at.markdown)
    at.button(key="upload_train_concepts").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="recipe").value == "user-upload-cells-concept-mlp"
    assert {"user-upload-cells-concept-mlp", "user-upload-cells-cbm"} <= set(at.sidebar.selectbox(key="recipe").options)
    assert not at.error, texts(at.error)
    at.sidebar.selectbox(key="recipe").set_value("user-upload-cells-cbm").run()
    assert not at.exception, at.exception
    assert 0.0 <= float(metric(at, "Concept accuracy")) <= 1.0


def sae_npz(with_truth: bool) -> bytes:
    """Sparse codes over 24 known unit directions in 8 dimensions (a toy model of superposition)."""
    rng = np.random.default_rng(4)
    directions = rng.normal(size=(24, 8))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    codes = (rng.random((1500, 24)) < 0.08) * rng.random((1500, 24))
    arrays = {"acts": codes @ directions}
    if with_truth:
        arrays["true_features"] = directions
    return npz(**arrays)


@pytest.mark.parametrize("with_truth", [True, False])
def test_acts_npz_on_sae_features(app, with_truth):
    at = open_page(app, "views/sae.py")
    upload(at, "upload_data_sae", "layer.npz", sae_npz(with_truth))
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    at.button(key="upload_train_sae").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="recipe").value == "user-upload-layer-sae"
    assert not at.error, texts(at.error)
    assert 0.5 <= float(metric(at, "Explained var.")) <= 1.0
    assert float(metric(at, "L0")) > 0
    if with_truth:
        assert 0.5 <= float(metric(at, "MMCS")) <= 1.0  # the known directions are recovered
    for view in ("Feature", "Example", "Quality"):
        at.button_group(key="v_view").set_value(view).run()
        assert not at.exception, (view, at.exception)
        assert not at.error, (view, texts(at.error))
