"""Session scope (interp_core.sessions) and user uploads in the engine (interp_core.userdata):
a session's uploads and models are visible only while that session is active, live under
ROOT/sessions/<id>/, and load back like built-in recipes."""

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest

from interp_core import foreign, recipes, sessions, userdata
from interp_core.data import load_dataset
from interp_core.errors import DataError, RecipeError, StoreError
from interp_core.modelfiles import load_model_file
from interp_core.store import SHIPPED_ROOT, Catalog, Store


def table_csv(n: int = 120, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    lines = ["a,b,c,d,label"] + [",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(X, y)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def two_sessions(tmp_path):
    root = tmp_path / "store"
    a = sessions.Session(sessions.new_session_id(), root)
    b = sessions.Session(sessions.new_session_id(), root)
    yield root, a, b
    sessions.activate(None)


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file()} if path.exists() else set()


def test_session_ids_are_random_and_never_paths(tmp_path):
    ids = {sessions.new_session_id() for _ in range(50)}
    assert len(ids) == 50
    for bad in ("../x", "a" * 31, "A" * 32, "0" * 31 + "/", ""):
        with pytest.raises(StoreError):
            sessions.Session(bad, tmp_path)


def test_upload_and_model_belong_to_one_session(two_sessions, tmp_path):
    root, a, b = two_sessions
    dataset = userdata.read_upload(table_csv(), "../../My Table.csv", None, target="label")
    assert dataset.name == "upload-my-table"  # the user's file name never becomes a path
    sessions.activate(a)
    trained = userdata.train_defaults(a, None, dataset)
    name = trained[0].name
    assert name == "user-upload-my-table-mlp" and name in [r.name for r in recipes.list_recipes()]
    assert trained[0].artifact.path.parent == root / "sessions" / a.id
    # everything written lies under the session's folder of the store root
    assert files_under(tmp_path) == files_under(root / "sessions" / a.id)
    # loads back like a built-in recipe (dataset from the session store, weights verified)
    a.datasets.clear()
    loaded = recipes.load(name, a.catalog(Catalog(Store(root))))
    assert loaded.dataset.name == dataset.name and loaded.predict_proba(loaded.dataset.X_test).shape == (len(loaded.dataset.y_test), 2)
    assert loaded.metrics["test_accuracy"] == trained[0].metrics["test_accuracy"]

    sessions.activate(b)
    assert name not in [r.name for r in recipes.list_recipes()]
    with pytest.raises(RecipeError):
        recipes.get_recipe(name)
    with pytest.raises(DataError):
        load_dataset(dataset.name)
    assert b.catalog(Catalog(Store(root))).find(name) is None
    sessions.activate(None)
    assert name not in [r.name for r in recipes.list_recipes()]


def test_page_specific_default_models(two_sessions):
    _root, a, _b = two_sessions
    table = userdata.read_upload(table_csv(), "t.csv", "rules", target="label")
    assert [r.trainer for r, _ in userdata.default_recipes("rules", table)] == ["rules"]
    assert [r.family for r, _ in userdata.default_recipes("prototypes", table)] == ["prototypes"]
    with pytest.raises(DataError, match="series"):
        userdata.default_recipes("timeseries", table)
    with pytest.raises(DataError, match="concept"):
        userdata.default_recipes("concepts", table)
    with pytest.raises(DataError, match="group"):
        userdata.default_recipes("mechanisms", table)
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer, X=rng.normal(size=(40, 30)), y=np.arange(40) % 2, concepts=(rng.random((40, 3)) > 0.5).astype(float))
    series = userdata.read_upload(buffer.getvalue(), "s.npz", "timeseries")
    assert series.modality == "series" and userdata.default_recipes("timeseries", series)[0][0].trainer == "timeseries"
    with_concepts = userdata.read_upload(buffer.getvalue(), "c.npz", "concepts")
    plan = userdata.default_recipes("concepts", with_concepts)
    assert [pair for _, pair in plan] == [plan[1][0].name, plan[0][0].name]


def test_uploaded_safetensors_model_is_explored_on_its_dataset(two_sessions):
    root, a, _b = two_sessions
    shipped = SHIPPED_ROOT / "breast-cancer-mlp"
    loaded = load_model_file("weights.safetensors", config=(shipped / "manifest.json").read_bytes(), data=(shipped / "model.safetensors").read_bytes())
    assert userdata.matching_datasets(loaded, a)[0] == "breast_cancer"
    files = foreign.model_files(loaded, (shipped / "model.safetensors").read_bytes(), (shipped / "manifest.json").read_bytes())
    recipe = userdata.save_foreign_model(a, loaded, files, load_dataset("breast_cancer"))
    sessions.activate(a)
    assert recipes.get_recipe(recipe.name).family == "rules"
    model = recipes.load(recipe.name, a.catalog(Catalog(Store(root))))
    shipped_model = recipes.load("breast-cancer-mlp", Catalog(Store(root)))
    # the same weights on the same data: the uploaded copy reproduces the shipped model's accuracy
    assert model.metrics["test_accuracy"] == pytest.approx(shipped_model.metrics["test_accuracy"])
    assert np.allclose(model.predict_proba(model.dataset.X_test), shipped_model.predict_proba(shipped_model.dataset.X_test), atol=1e-6)


def test_cleanup_removes_only_old_session_folders(tmp_path):
    root = tmp_path / "store"
    old, fresh = (root / "sessions" / sessions.new_session_id() for _ in range(2))
    for folder in (old, fresh):
        (folder / "x").mkdir(parents=True)
        (folder / "x" / "manifest.json").write_text("{}")
    stray = root / "sessions" / "not-a-session"
    stray.mkdir()
    past = time.time() - 2 * sessions.MAX_AGE_S
    for path in (old, old / "x"):
        os.utime(path, (past, past))
    assert sessions.cleanup(root) == 1
    assert not old.exists() and fresh.exists() and stray.exists()
