"""A user's own model as a recipe (interp_core.foreign) and `explain KIND --model PATH --data FILE`:
every model is built here (a tiny MLP on a table, a tiny 1-D CNN on series, exported with
torch.export.save; a tiny BERT classifier saved with save_pretrained), nothing is downloaded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from interp_core import cli
from interp_core.data import Dataset
from interp_core.errors import DataError, LayerError
from interp_core.families.rules.data import make_rule_table
from interp_core.families.timeseries import data as tsdata
from interp_core.families.timeseries.explain import report as tsreport
from interp_core.foreign import foreign_model
from interp_core.modelfiles import load_model_path

RULES_KEYS = {"blackbox_accuracy", "surrogate_accuracy", "fidelity", "n_rules", "top_features", "rules"}


def _fit(model: nn.Module, X: np.ndarray, y: np.ndarray, steps: int = 150) -> nn.Module:
    """A few full-batch Adam steps: enough for the model to be better than chance, fast."""
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(steps):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimiser.step()
    return model.eval()


def _export(model: nn.Module, example: torch.Tensor, path, dynamic: bool = True):
    shapes = ({0: torch.export.Dim("batch")},) if dynamic else None
    torch.export.save(torch.export.export(model, (example,), dynamic_shapes=shapes), path)
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A rule table as a CSV and a small MLP trained on it, exported to a .pt2 (and the module itself)."""
    root = tmp_path_factory.mktemp("table")
    X, y, names, _truth = make_rule_table(n_samples=300, n_features=6, seed=3)
    X = X.astype(np.float32)
    torch.manual_seed(0)
    mlp = _fit(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2)), (X - X.mean(0)) / X.std(0), y)
    model = nn.Sequential()  # the standardisation inside the program, so it reads the data's own units
    model.add_module("scale", Standardise(X.mean(0), X.std(0)))
    model.add_module("mlp", mlp)
    model.eval()
    csv = root / "table.csv"
    pd.DataFrame(X, columns=names).assign(label=y).to_csv(csv, index=False)
    return {"csv": csv, "pt2": _export(model, torch.as_tensor(X[:4]), root / "mlp.pt2"), "module": model, "names": names}


class Standardise(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """Spike series with a ground-truth mask as an NPZ, and a tiny 1-D CNN trained on them, exported to a .pt2."""
    root = tmp_path_factory.mktemp("series")
    X, y, mask = tsdata.freq_shapes(120, seed=5)
    X = X.astype(np.float32)
    torch.manual_seed(0)
    cnn = _fit(nn.Sequential(nn.Conv1d(X.shape[1], 8, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(8, int(y.max()) + 1)), X, y, steps=60)
    npz = root / "spikes.npz"
    np.savez(npz, X=X, y=y, mask=mask)
    return {"npz": npz, "pt2": _export(cnn, torch.as_tensor(X[:4]), root / "cnn.pt2"), "module": cnn, "X": X, "y": y}


def _dataset(X, y, modality="tabular") -> Dataset:
    n = int(len(X) * 0.75)
    return Dataset("mine", modality, X[:n], y[:n], X[n:], y[n:], [str(c) for c in range(int(y.max()) + 1)])


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    lines = [line for line in out.strip().splitlines() if line.strip()]
    return code, (json.loads(lines[-1]) if lines else None), err


# -- the adapter ------------------------------------------------------------------------------------
def test_a_pt2_classifier_predicts_and_embeds_as_the_module_it_was_exported_from(series):
    dataset = _dataset(series["X"], series["y"], "series")
    trained = foreign_model(load_model_path(series["pt2"]), dataset)
    cnn = series["module"]
    with torch.no_grad():
        logits = cnn(torch.as_tensor(dataset.X_test))
        pooled = cnn[:3](torch.as_tensor(dataset.X_test)).flatten(1)
    assert np.allclose(trained.predict_proba(dataset.X_test), torch.softmax(logits, 1).numpy(), atol=1e-5)
    assert trained.model.layer == "3"  # the Flatten: the last layer to run before the output Linear
    assert np.allclose(trained.embed(dataset.X_test), pooled.numpy(), atol=1e-5)
    assert trained.metrics["test_accuracy"] == pytest.approx(float((logits.argmax(1).numpy() == dataset.y_test).mean()))
    assert trained.metrics["n_parameters"] == sum(p.numel() for p in cnn.parameters())
    x = torch.as_tensor(dataset.X_test[:3]).requires_grad_(True)
    trained.model(x)[:, 1].sum().backward()  # captum's attributions need gradients through the program
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_the_default_layer_skips_dropout_and_a_named_layer_is_used(table):
    X = pd.read_csv(table["csv"]).drop(columns="label").to_numpy(np.float32)
    y = pd.read_csv(table["csv"])["label"].to_numpy()
    loaded = load_model_path(table["pt2"])
    assert foreign_model(loaded, _dataset(X, y)).model.layer == "mlp.1"  # the ReLU, not the Dropout after it
    trained = foreign_model(loaded, _dataset(X, y), "scale")
    with torch.no_grad():
        scaled = table["module"].scale(torch.as_tensor(X[:5]))
    assert np.allclose(trained.embed(X[:5]), scaled.numpy(), atol=1e-5)
    with pytest.raises(LayerError, match="nearest .*'mlp.1'"):
        foreign_model(loaded, _dataset(X, y), "mlp.l")


def test_a_fixed_batch_program_runs_any_number_of_examples(series, tmp_path):
    path = _export(series["module"], torch.as_tensor(series["X"][:4]), tmp_path / "fixed.pt2", dynamic=False)
    dataset = _dataset(series["X"], series["y"], "series")
    trained = foreign_model(load_model_path(path), dataset)
    X = dataset.X_test[:7]  # 4 + 3: the last chunk padded
    with torch.no_grad():
        expected = series["module"](torch.as_tensor(X))
    assert np.allclose(trained.model(torch.as_tensor(X)).detach().numpy(), expected.numpy(), atol=1e-5)
    assert trained.embed(X).shape == (7, 8)


def test_data_of_another_shape_is_one_sentence_with_both_shapes(series):
    wrong = _dataset(series["X"][:, :, :30], series["y"], "series")
    with pytest.raises(DataError) as caught:
        foreign_model(load_model_path(series["pt2"]), wrong)
    message = str(caught.value)
    channels, length = series["X"].shape[1:]
    assert f"({channels}, 30)" in message and f"({channels}, {length})" in message and "\n" not in message
    assert "(any, " not in message  # a dynamic time axis would read 'any'; this program fixed it


def test_labels_are_the_models_output_indices_when_the_data_lacks_a_class(series):
    keep = series["y"] != 0  # no series of class 0: the data has one class fewer than the model's outputs
    dataset = Dataset("mine", "series", series["X"][keep][:60], series["y"][keep][:60] - 1, series["X"][keep][60:], series["y"][keep][60:] - 1,
                      [str(c) for c in range(1, int(series["y"].max()) + 1)])
    trained = foreign_model(load_model_path(series["pt2"]), dataset)
    assert trained.dataset.n_classes == int(series["y"].max()) + 1
    assert np.array_equal(trained.dataset.y_test, series["y"][keep][60:])


def test_a_hugging_face_sequence_classifier_reads_token_ids(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, num_labels=2)
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path / "clf")
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 32, size=(20, 8)).astype(np.float32)
    ids[:, 6:] = 0  # padding
    trained = foreign_model(load_model_path(tmp_path / "clf"), _dataset(ids, np.arange(20) % 2))
    with torch.no_grad():
        tokens = torch.as_tensor(ids[15:]).long()
        expected = model(input_ids=tokens, attention_mask=(tokens != 0).long()).logits
    assert np.allclose(trained.predict_proba(ids[15:]), torch.softmax(expected, 1).numpy(), atol=1e-5)
    assert trained.model.layer == "bert.pooler.activation" and trained.embed(ids[15:]).shape == (5, 16)
    with pytest.raises(DataError, match="token ids"):
        foreign_model(load_model_path(tmp_path / "clf"), _dataset(ids + 0.5, np.arange(20) % 2))


# -- the CLI -----------------------------------------------------------------------------------------
def test_explain_rules_on_a_users_pt2_table_classifier(table, capsys, interp_store_env):
    code, result, err = run(capsys, "explain", "rules", "--model", str(table["pt2"]), "--data", str(table["csv"]), "--target", "label", "--k", "3", "--json")
    assert code == 0, err
    assert RULES_KEYS <= set(result) and set(result["top_features"]) <= set(table["names"]) and len(result["top_features"]) == 3
    assert result["model"] == {"path": str(table["pt2"]), "kind": "pt2", "parameters": sum(t.numel() for t in table["module"].state_dict().values())}
    assert 0.5 <= result["fidelity"] <= 1 and result["blackbox_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-6)


def test_explain_attributions_scores_every_method_on_a_users_pt2_series_classifier(series, capsys, interp_store_env, monkeypatch):
    monkeypatch.setattr(tsreport, "REPORT_EXAMPLES", 16)
    code, result, err = run(capsys, "explain", "attributions", "--model", str(series["pt2"]), "--data", str(series["npz"]), "--json")
    assert code == 0, err
    from interp_core.families.timeseries import explain as tsx

    assert list(result["methods"]) == list(tsx.METHODS) and result["has_ground_truth"]
    for method, scores in result["methods"].items():
        assert 0.0 <= scores["auprc"] <= 1.0 and 0.0 <= scores["deletion_auc"] <= 1.0, method
    assert result["model"]["kind"] == "pt2" and result["model"]["parameters"] == sum(p.numel() for p in series["module"].parameters())


@pytest.mark.parametrize("argv, words", [
    (["--layer", "0.weight"], ["no layer '0.weight'", "nearest"]),
    (["--target", "label"], ["shape", "(6)"]),
])
def test_cli_mistakes_with_a_model_are_one_sentence(series, table, capsys, interp_store_env, argv, words):
    data = table["csv"] if "--target" in argv else series["npz"]
    code, result, err = run(capsys, "explain", "attributions", "--model", str(series["pt2"]), "--data", str(data), *argv, "--json")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert all(w in result["error"] for w in words), result["error"]


@pytest.mark.parametrize("kind", ["rules", "attributions"])
def test_a_recipe_and_a_model_together_are_refused(series, capsys, interp_store_env, kind):
    code, result, _ = run(capsys, "explain", kind, "wine-rules", "--model", str(series["pt2"]), "--data", str(series["npz"]), "--json")
    assert code == 2 and "either a RECIPE or --model" in result["error"]


# -- the browser session: stored, rebuilt safely, and zipped folders -------------------------------------
@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, num_labels=2)
    model = transformers.BertForSequenceClassification(config).eval()
    folder = tmp_path_factory.mktemp("hf") / "tiny-clf"
    model.save_pretrained(folder)
    return folder, model


def _session(tmp_path):
    from interp_core import sessions

    return sessions.Session(sessions.new_session_id(), tmp_path / "store")


def test_a_session_model_is_stored_and_rebuilt_from_its_bytes(series, tmp_path):
    from interp_core import recipes, sessions, userdata
    from interp_core.foreign import model_files
    from interp_core.store import Catalog, Store

    session = _session(tmp_path)
    data = series["pt2"].read_bytes()
    loaded = load_model_path(series["pt2"])
    dataset = userdata.read_upload(series["npz"].read_bytes(), "spikes.npz", None)
    recipe = userdata.save_foreign_model(session, loaded, model_files(loaded, data), dataset, "0")
    assert recipe.family == "timeseries" and recipe.trainer == "foreign"
    sessions.activate(session)
    try:
        catalog = session.catalog(Catalog(Store(tmp_path / "user"), Store(tmp_path / "shipped", readonly=True)))
        trained = recipes.load(recipe.name, catalog)
        again = recipes.train_or_load(recipe.name, catalog)  # the session's recipe is found, not retrained
    finally:
        sessions.activate(None)
    with torch.no_grad():
        expected = torch.softmax(series["module"](torch.as_tensor(trained.dataset.X_test)), 1).numpy()
    assert np.allclose(trained.predict_proba(trained.dataset.X_test), expected, atol=1e-5)
    assert trained.model.layer == "0" and trained.embed(trained.dataset.X_test[:2]).shape == (2, 8 * series["X"].shape[2])
    assert trained.metrics["test_accuracy"] == pytest.approx(float((expected.argmax(1) == trained.dataset.y_test).mean()))
    assert "test-embedding.safetensors" in "".join(trained.artifact.manifest["files"]) and again.name == recipe.name
    from interp_core.sections import embedding_figure

    n = len(trained.dataset.y_test)
    assert "layer 0" in embedding_figure(trained, {"pca": np.zeros((n, 2))}, np.zeros(n, dtype=int)).title  # Home's map names the picked layer


def _zip(entries: dict, compression=None) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression or zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            if isinstance(data, zipfile.ZipInfo):
                archive.writestr(data, b"x")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zipped_hugging_face_folder_loads_and_is_rebuilt(bert_folder, tmp_path):
    from interp_core import recipes, sessions, userdata
    from interp_core.foreign import load_folder_files, zip_files
    from interp_core.store import Catalog, Store

    folder, model = bert_folder
    archive = _zip({f"{folder.name}/{p.name}": p.read_bytes() for p in folder.iterdir()})
    loaded, files = load_folder_files(zip_files(archive, "tiny-clf.zip"), "tiny-clf.zip")
    assert loaded.kind == "huggingface" and set(files) == {"hf-config.json", "hf-model.safetensors"}
    session = _session(tmp_path)
    ids = np.random.default_rng(1).integers(1, 32, size=(16, 6)).astype(np.float32)
    dataset = Dataset("upload-ids", "tabular", ids[:12], np.arange(12) % 2, ids[12:], np.arange(4) % 2, ["0", "1"])
    recipe = userdata.save_foreign_model(session, loaded, files, dataset)
    sessions.activate(session)
    try:
        trained = recipes.load(recipe.name, session.catalog(Catalog(Store(tmp_path / "user"), Store(tmp_path / "shipped", readonly=True))))
    finally:
        sessions.activate(None)
    with torch.no_grad():
        expected = model(input_ids=torch.as_tensor(ids[12:]).long()).logits
    assert np.allclose(trained.model(torch.as_tensor(ids[12:])).detach().numpy(), expected.numpy(), atol=1e-5)


def _symlink_entry():
    import zipfile

    info = zipfile.ZipInfo("clf/config.json")
    info.external_attr = (0o120777 << 16)
    return info


@pytest.mark.parametrize("entries, words", [
    ({"../config.json": b"{}"}, "not a plain file name"),
    ({"/etc/config.json": b"{}"}, "not a plain file name"),
    ({"clf/a/../../config.json": b"{}"}, "not a plain file name"),
    ({"clf/config.json": _symlink_entry()}, "link"),
    ({"a/config.json": b"{}", "b/config.json": b"{}"}, "two files named 'config.json'"),
    ({f"clf/f{i}.json": b"{}" for i in range(65)}, "65 files"),
])
def test_a_hostile_zip_is_refused_before_anything_is_extracted(entries, words):
    from interp_core.errors import ModelFileError
    from interp_core.foreign import zip_files

    with pytest.raises(ModelFileError, match=words) as caught:
        zip_files(_zip(entries), "model.zip")
    assert "\n" not in str(caught.value)


def test_a_zip_bomb_is_refused_by_its_declared_size_before_it_is_read(monkeypatch):
    import zipfile

    from interp_core import foreign
    from interp_core.errors import ModelFileError

    bomb = _zip({"clf/model.safetensors": b"\0" * 200_000})
    assert len(bomb) < 2_000  # compresses 100x
    monkeypatch.setattr(foreign, "MAX_MODEL_BYTES", 100_000)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *_a, **_k: pytest.fail("an entry was read"))
    with pytest.raises(ModelFileError, match="declares 0 MB once extracted, over the 0 MB"):
        foreign.zip_files(bomb, "bomb.zip")


def test_a_zip_entry_longer_than_it_declares_is_refused():
    from interp_core.errors import ModelFileError
    from interp_core.foreign import zip_files

    archive = bytearray(_zip({"clf/config.json": b"{" + b" " * 200 + b"}"}, compression=__import__("zipfile").ZIP_STORED))
    # the central directory's uncompressed size says 20 bytes; the entry holds 202
    import struct

    central = archive.rfind(b"PK\x01\x02")
    struct.pack_into("<I", archive, central + 24, 20)
    with pytest.raises(ModelFileError, match="config.json"):
        zip_files(bytes(archive), "model.zip")


def test_a_table_of_series_for_a_series_model_is_read_as_series(series):
    flat = series["X"][:, 0, :]  # (n, time): a univariate file written without its channel axis
    trained = foreign_model(load_model_path(series["pt2"]), _dataset(flat, series["y"]))
    assert trained.dataset.modality == "series" and trained.dataset.input_shape == series["X"].shape[1:]
    assert trained.extras["recipe"].family == "timeseries"
    with torch.no_grad():
        expected = series["module"](torch.as_tensor(series["X"][90:])).argmax(1).numpy()
    assert np.array_equal(trained.predict_proba(trained.dataset.X_test).argmax(1), expected)


def test_a_family_that_does_not_read_model_refuses_it(series, capsys, interp_store_env):
    code, result, _ = run(capsys, "explain", "mechanisms", "--model", str(series["pt2"]), "--data", str(series["npz"]), "--json")
    assert code == 2 and "not --model" in result["error"] and "rules" in result["error"]


def test_explain_rules_on_a_project_safetensors_with_its_config(tmp_path, capsys, interp_store_env):
    from interp_core.data import load_dataset
    from interp_core.store import SHIPPED_ROOT

    wine, shipped = load_dataset("wine"), SHIPPED_ROOT / "wine-mlp"
    csv = tmp_path / "wine.csv"
    pd.DataFrame(wine.X_test, columns=wine.feature_names).assign(cultivar=wine.y_test).to_csv(csv, index=False)
    code, result, err = run(capsys, "explain", "rules", "--model", str(shipped / "model.safetensors"), "--config", str(shipped / "manifest.json"),
                            "--data", str(csv), "--target", "cultivar", "--k", "3", "--json")
    assert code == 0, err
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert result["model"] == {"path": str(shipped / "model.safetensors"), "kind": "safetensors", "parameters": manifest["metrics"]["n_parameters"]}
    assert set(result["top_features"]) <= set(wine.feature_names) and RULES_KEYS <= set(result)


def test_sae_prototypes_and_concepts_on_a_project_safetensors_with_its_config(tmp_path, capsys, interp_store_env):
    """The shipped wine-mlp's weights and manifest as a user's file: explain sae, prototypes and
    concepts run at its hidden layer with their recipe keys, on an NPZ whose concepts are read from
    the features (so TCAV has something real to find)."""
    from interp_core.data import load_dataset
    from interp_core.store import SHIPPED_ROOT

    wine, shipped = load_dataset("wine"), SHIPPED_ROOT / "wine-mlp"
    X = np.concatenate([wine.X_train, wine.X_test]).astype(np.float32)
    alcohol, flavanoids = list(wine.feature_names).index("alcohol"), list(wine.feature_names).index("flavanoids")
    concepts = np.stack([X[:, alcohol] > np.median(X[:, alcohol]), X[:, flavanoids] > np.median(X[:, flavanoids])], 1).astype(np.int64)
    npz = tmp_path / "wine.npz"
    np.savez(npz, X=X, y=np.concatenate([wine.y_train, wine.y_test]), concepts=concepts, concept_names=np.array(["high alcohol", "high flavanoids"]))
    model = ["--model", str(shipped / "model.safetensors"), "--config", str(shipped / "manifest.json"), "--data", str(npz), "--layer", "body.1", "--json"]
    parameters = json.loads((shipped / "manifest.json").read_text())["metrics"]["n_parameters"]
    results = {}
    for kind in ("sae", "prototypes", "concepts"):
        code, results[kind], err = run(capsys, "explain", kind, *model)
        assert code == 0, (kind, err)
        assert results[kind]["model"] == {"path": str(shipped / "model.safetensors"), "kind": "safetensors", "parameters": parameters}
    assert results["sae"]["d_in"] == 32 and 0 < results["sae"]["explained_variance"] <= 1 and results["sae"]["l0"] > 0
    assert results["prototypes"]["layer"] == "body.1" and 0 <= results["prototypes"]["test_accuracy"] <= 1
    rows = results["concepts"]["tcav"]
    assert {r["concept"] for r in rows} == {"high alcohol", "high flavanoids"} and {"class", "score", "p_value", "significant"} <= set(rows[0])
    # class 0 (cultivar 1) is the high-alcohol, high-flavanoid wine: both concepts push towards it
    assert all(r["score"] > 0.5 for r in rows if r["class"] == "0")
