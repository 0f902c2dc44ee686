"""Home's "Bring your own model" with a user's .pt2 program or Hugging Face classifier (issue 17), in
AppTest: the model and the user's data are uploaded, the layer picker lists the model's layers with
their shapes, and the model is explored on Home, Rules and Time series like a recipe. Every model
is built here (torch.export.save, save_pretrained); refusals are one sentence in an error box."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from tests.app.test_uploads import metric, npz, one_sentence, open_page, table_csv, texts, upload


def _export(model: nn.Module, example: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model.eval(), (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)), buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def series_model():
    return series_files()


def series_files() -> dict:
    """A small 1-D CNN (untrained: its accuracy is computed here, not assumed) and masked series."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 1, 40)).astype(np.float32)
    y = (X[:, 0, :20].mean(1) > 0).astype(np.int64)
    mask = np.zeros_like(X)
    mask[:, :, :20] = 1
    cnn = nn.Sequential(nn.Conv1d(1, 4, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    return {"pt2": _export(cnn, torch.as_tensor(X[:4])), "npz": npz(X=X, y=y, mask=mask), "module": cnn, "X": X, "y": y}


@pytest.fixture(scope="module")
def table_model():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    return _export(mlp, torch.zeros(4, 4))


def _held_out_accuracy(model: nn.Module, at, X: np.ndarray, y: np.ndarray) -> str:
    """The module's accuracy on the test split the app made (read back through the session's dataset)."""
    from interp_core.data import load_user_file

    dataset = load_user_file(npz(X=X, y=y), filename="series.npz")
    with torch.no_grad():
        predictions = model(torch.as_tensor(dataset.X_test)).argmax(1).numpy()
    return f"{(predictions == dataset.y_test).mean():.3f}"


def test_a_pt2_series_classifier_is_explored_on_home_and_time_series(app, series_model):
    at = open_page(app)
    upload(at, "upload_model", "my-cnn.pt2", series_model["pt2"])
    assert not at.error, texts(at.error)
    assert metric(at, "Input shape") == "(1, 40)" and metric(at, "Outputs") == "2"
    upload(at, "upload_model_data", "series.npz", series_model["npz"])
    assert not at.error, texts(at.error)
    picker = at.selectbox(key="upload_model_layer")
    assert picker.value == "3" and "0: Conv1d (2, 4, 40)" in picker.options and "3: Flatten (2, 4)" in picker.options
    picker.set_value("0").run()
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    name = "upload-my-cnn-model"
    assert at.sidebar.selectbox(key="recipe").value == name
    assert metric(at, "Test accuracy") == _held_out_accuracy(series_model["module"], at, series_model["X"], series_model["y"])
    assert "was uploaded, not trained here" in texts(at.info)
    at.switch_page("views/timeseries.py")
    at.run()
    at.sidebar.selectbox(key="recipe").set_value(name).run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert metric(at, "Channels x steps") == "1 x 40"
    assert 0 <= float(metric(at, "Best AUPRC")) <= 1  # scored against the NPZ's mask


def test_a_pt2_table_classifier_is_explained_on_rules(app, table_model):
    at = open_page(app)
    upload(at, "upload_model", "mlp.pt2", table_model)
    upload(at, "upload_model_data", "table.csv", table_csv())
    assert at.selectbox(key="upload_model_layer").value == "1"  # the ReLU before the output layer
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    at.switch_page("views/rules.py")
    at.run()
    at.sidebar.selectbox(key="recipe").set_value("upload-mlp-model").run()
    assert not at.exception, at.exception
    assert metric(at, "Fidelity (held-out)").endswith("%")


def test_data_the_model_does_not_take_is_one_sentence_and_the_app_keeps_serving(app, series_model):
    at = open_page(app)
    upload(at, "upload_model", "my-cnn.pt2", series_model["pt2"])
    upload(at, "upload_model_data", "table.csv", table_csv())
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "(4)" in errors[0] and "(1, 40)" in errors[0] and one_sentence(errors[0]), errors
    assert not at.exception
    at.switch_page("views/rules.py")
    at.run()
    assert not at.exception


def _zip(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bert_zip(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, num_labels=2)
    folder = tmp_path_factory.mktemp("hf") / "tiny-clf"
    transformers.BertForSequenceClassification(config).eval().save_pretrained(folder)
    return _zip(folder)


def test_a_zipped_hugging_face_classifier_is_explored_on_home(app, bert_zip):
    at = open_page(app)
    upload(at, "upload_model", "tiny-clf.zip", bert_zip)
    assert not at.error, texts(at.error)
    assert metric(at, "Input shape") == "token ids" and metric(at, "Outputs") == "2"
    ids = np.random.default_rng(0).integers(1, 32, size=(40, 6))
    upload(at, "upload_model_data", "ids.npz", npz(X=ids, y=np.arange(40) % 2))
    assert at.selectbox(key="upload_model_layer").value == "bert.pooler.activation"
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="recipe").value == "upload-tiny-clf-model"
    assert metric(at, "Test accuracy")


def test_a_hostile_zip_is_one_sentence(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../config.json", "{}")
    at = open_page(app)
    upload(at, "upload_model", "evil.zip", buffer.getvalue())
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "not a plain file name" in errors[0] and one_sentence(errors[0]), errors
    assert not at.exception


@pytest.fixture(scope="module")
def review_zip(tmp_path_factory):
    """A tiny BERT with its tokenizer, trained on short reviews, zipped; and the reviews as JSON lines."""
    pytest.importorskip("transformers")
    from tests.foreign_models import save_jsonl, trained_review_bert

    root = tmp_path_factory.mktemp("reviews")
    _model, _tokenizer, texts, labels = trained_review_bert(root / "review-bert")
    return _zip(root / "review-bert"), save_jsonl(root / "reviews.jsonl", texts, labels).read_bytes()


def test_texts_for_a_hugging_face_classifier_give_a_token_heat_map_on_time_series(app, review_zip):
    model_zip, jsonl = review_zip
    at = open_page(app)
    upload(at, "upload_model", "review-bert.zip", model_zip)
    upload(at, "upload_model_data", "reviews.jsonl", jsonl)
    assert not at.error, texts(at.error)
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    name = "upload-review-bert-model"
    assert any(code.value.startswith("[CLS]") for code in at.code)  # Home's example is the text's tokens, not ids as bars
    at.switch_page("views/timeseries.py")
    at.run()
    at.sidebar.selectbox(key="recipe").set_value(name).run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert metric(at, "Texts attributed") == "15" and 0.5 <= float(metric(at, "Test accuracy")) <= 1
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heatmap = next(c for c in charts if c["data"][0]["type"] == "heatmap")
    assert {"Layer Integrated Gradients", "Gradient × input", "Random (reference)"} == set(heatmap["data"][0]["y"])
    assert heatmap["data"][0]["text"][0][0] == "[CLS]"  # the text's own tokens, in reading order
    curves = next(c for c in charts if c["layout"]["title"]["text"].startswith("Masking tokens"))
    assert len(curves["data"]) == 6  # deletion and insertion for each of the three methods
    at.selectbox(key="token_text_0").set_value(2).run()  # another text: the page (and the sidebar's example) follow
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert not at.exception and any(c["layout"]["title"]["text"].startswith("Text 2: which tokens") for c in charts)


def test_texts_without_labels_are_explored_with_no_accuracy(app, review_zip, tmp_path):
    model_zip, jsonl = review_zip
    lines = [json.loads(line)["text"] for line in jsonl.decode().splitlines()]
    at = open_page(app)
    upload(at, "upload_model", "review-bert.zip", model_zip)
    upload(at, "upload_model_data", "reviews.txt", "\n".join(lines).encode())
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert metric(at, "Test accuracy") == "no labels"  # the labels are the model's own predictions: no accuracy to show
