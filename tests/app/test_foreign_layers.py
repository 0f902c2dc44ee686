"""The SAE page on the user's own model (issue 17), in AppTest: a .pt2 stored with Home's model box is
offered on the SAE page with a layer picker; training an SAE on the picked layer opens it like any SAE
recipe, downloads as an SAELens folder and opens again from it. The model is built here (torch.export.save); nothing is downloaded."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from tests.app.test_uploads import metric, npz, open_page, texts, upload
from tests.foreign_models import table_data, trained_mlp


def _pt2(model, example) -> bytes:
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)), buffer)
    return buffer.getvalue()


def test_concepts_and_prototypes_pages_explain_a_picked_layer_of_the_user_s_model(app):
    X, y, concepts = table_data(300)
    model = trained_mlp(X, y)
    at = open_page(app)
    upload(at, "upload_model", "mlp.pt2", _pt2(model, torch.as_tensor(X[:4])))
    upload(at, "upload_model_data", "concepts.npz", npz(X=X, y=y, concepts=concepts, concept_names=np.array(["x0 high", "x5 high"])))
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    at.switch_page("views/concepts.py")
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="concepts_foreign_layer").set_value("0").run()
    at.number_input(key="concepts_foreign_runs").set_value(3).run()
    at.button(key="concepts_foreign_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    tables = [t.value for t in at.dataframe]
    tcav = next(t for t in tables if "concept" in t.columns and "score" in t.columns)
    assert set(tcav["concept"]) == {"x0 high", "x5 high"} and set(tcav["layer"]) == {"0"}

    # a concept from picked examples: the rows with a large x0 (which drives the classes), numbered as the page lists them
    from interp_core.data import load_user_file
    from interp_core.families.concepts.foreign import foreign_concept
    from interp_core.foreign import foreign_model
    from interp_core.modelfiles import load_model_file

    data = npz(X=X, y=y, concepts=concepts, concept_names=np.array(["x0 high", "x5 high"]))
    dataset = load_user_file(data, filename="concepts.npz")
    picked = [int(i) for i in np.flatnonzero(np.concatenate([dataset.X_train, dataset.X_test])[:, 0] > 1.0)][:12]  # training examples first
    at.text_input(key="concepts_foreign_name").set_value("large x0").run()
    at.multiselect(key="concepts_foreign_pick_upload-mlp-model").set_value(picked).run()
    at.number_input(key="concepts_foreign_pick_runs").set_value(4).run()
    at.button(key="concepts_foreign_pick_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    shown = next(t.value for t in at.dataframe if "concept" in t.value.columns and set(t.value["concept"]) == {"large x0"})
    loaded = load_model_file("mlp.pt2", data=_pt2(model, torch.as_tensor(X[:4])), filename="mlp.pt2")
    expected = foreign_concept(foreign_model(loaded, dataset, "0"), "large x0", picked, n_random=4).table()
    assert list(shown["class"]) == list(expected["class"]) == ["0", "1", "2"] and set(shown["layer"]) == {"0"}
    np.testing.assert_allclose(shown[["score", "p_value"]].to_numpy(float), expected[["score", "p_value"]].to_numpy(float), atol=1e-6)
    assert "large x0" in texts(at.success) and "p = " in texts(at.success)
    at.switch_page("views/prototypes.py")
    at.run()
    assert not at.exception, at.exception
    at.button(key="prototypes_foreign_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    agreement = next(m.value for m in at.metric if m.label == "Agreement with your model")
    assert agreement.endswith("%") and 0 <= float(agreement[:-1]) <= 100
    rows = next(t.value for t in at.dataframe if "training example" in t.value.columns)
    assert len(rows) == 6 and set(rows["class"]) == {"0", "1", "2"}


def _cli(capsys, kind: str, *argv) -> dict:
    import json

    from interp_core import cli

    code = cli.main(["explain", kind, *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def concept_reviews(path):
    """``review_texts`` (those ``trained_review_bert`` learns) as JSON lines with labels and two concepts for TCAV:
    a word the model was trained on ('praise': good or great) and one it was not ('film')."""
    from tests.foreign_models import review_texts, save_jsonl

    reviews, labels = review_texts(60)
    rows = [json.loads(line) for line in save_jsonl(path, reviews, labels).read_text().splitlines()]
    for row in rows:
        words = set(row["text"].split())
        row["concepts"] = {"praise": int(bool({"good", "great"} & words)), "film": int("film" in words)}
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    return path


def test_a_text_model_on_the_sae_concepts_and_prototypes_pages_gives_the_clis_numbers(app, tmp_path, capsys):
    """A Hugging Face classifier and its texts uploaded on Home: each page lists it with its layers, runs on
    a layer averaged over each text's tokens, and shows what ``explain KIND --model --data --layer`` prints."""
    pytest.importorskip("transformers")
    from tests.app.test_foreign_upload import _zip
    from tests.foreign_models import trained_review_bert

    _model, _tokenizer, reviews, labels = trained_review_bert(tmp_path / "review-bert")
    jsonl = concept_reviews(tmp_path / "reviews.jsonl")
    layer, common = "bert.encoder.layer.0", ["--model", str(tmp_path / "review-bert"), "--data", str(jsonl), "--layer", "bert.encoder.layer.0", "--store", str(tmp_path / "cli")]

    at = open_page(app)
    upload(at, "upload_model", "review-bert.zip", _zip(tmp_path / "review-bert"))
    upload(at, "upload_model_data", "reviews.jsonl", jsonl.read_bytes())
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    assert "open Time series to explain it" in texts(at.success)  # token attributions; Rules takes no texts

    at.switch_page("views/sae.py")
    at.run()
    assert at.selectbox(key="sae_foreign_model").value == "upload-review-bert-model"
    at.selectbox(key="sae_foreign_layer").set_value(layer).run()
    at.button(key="sae_foreign_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    sae = _cli(capsys, "sae", *common)
    assert sae["d_in"] == 16  # one vector per text: the layer's width, not tokens x width
    assert metric(at, "Explained var.") == f"{sae['explained_variance']:.3f}" and metric(at, "L0") == f"{sae['l0']:.1f}"
    at.segmented_control(key="v_view").set_value("Feature").run()
    assert not at.exception, at.exception
    top = next(t.value for t in at.dataframe if "text" in t.value.columns)
    assert set(top["text"]) <= set(reviews)  # the top examples are the user's texts, not bare indices
    assert "#### Top-activating tokens" in texts(at.markdown) and "border-bottom" in texts(at.markdown)  # contexts, the token underlined

    at.switch_page("views/concepts.py")
    at.run()
    at.selectbox(key="concepts_foreign_layer").set_value(layer).run()
    at.number_input(key="concepts_foreign_runs").set_value(3).run()
    at.button(key="concepts_foreign_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    page = next(t.value for t in at.dataframe if "concept" in t.value.columns and "score" in t.value.columns)
    cli_rows = {(r["concept"], r["class"]): (r["score"], r["p_value"]) for r in _cli(capsys, "concepts", *common, "--random-runs", "3")["tcav"]}
    assert len(page) == len(cli_rows) == 4
    for row in page.itertuples():
        assert (row.score, row.p_value) == pytest.approx(cli_rows[row.concept, row._2], abs=1e-6)

    at.switch_page("views/prototypes.py")
    at.run()
    at.selectbox(key="prototypes_foreign_layer").set_value(layer).run()
    at.button(key="prototypes_foreign_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    proto = _cli(capsys, "prototypes", *common)
    assert metric(at, "Agreement with your model") == f"{proto['agreement']:.1%}" and metric(at, "Head accuracy") == f"{proto['test_accuracy']:.1%}"
    table = next(t.value for t in at.dataframe if "training example" in t.value.columns)
    assert list(table["training example"]) == [r["train_example"] for r in proto["prototypes"]]  # the same real texts the push picked
    assert set(table["text"]) <= set(reviews)  # shown as the texts themselves


@pytest.fixture
def downloads(monkeypatch):
    """What the page's deferred download buttons would hand the browser, by file name: the callable Streamlit keeps
    for a click (AppTest's media manager is dropped after each run, so it is recorded as the page registers it)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    registered: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        registered[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return registered


def _zipped(files: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_sae_page_trains_an_sae_on_a_picked_layer_downloads_it_as_an_saelens_folder_and_opens_that_again(app, tmp_path, downloads):
    """A .pt2 stored with Home's model box is offered on the SAE page with a layer picker; training an SAE on the picked
    layer opens it like any SAE recipe. The page's download of it is an SAELens folder (load_saelens_sae reads it); opened
    on the same layer through the panel it is stored like a trained SAE and the page shows the same numbers in every view;
    on a layer of another width, or without its cfg.json, it is one sentence and nothing is stored."""
    import zipfile

    from interp_core.families.sae.saelens import load_saelens_sae
    from tests.app.test_uploads import one_sentence

    X, y, _ = table_data(300)
    at = open_page(app)
    upload(at, "upload_model", "mlp.pt2", _pt2(trained_mlp(X, y), torch.as_tensor(X[:4])))
    upload(at, "upload_model_data", "table.npz", npz(X=X, y=y))
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    assert "open Rules to explain it" in texts(at.success)  # a table classifier's page
    assert "Uploaded file table.npz. Your model, evaluated on the CPU at" in texts(at.caption) + texts(at.markdown)  # measured here, not trained
    at.switch_page("views/sae.py")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="sae_foreign_model").value == "upload-mlp-model"
    picker = at.selectbox(key="sae_foreign_layer")
    assert picker.value == "1" and "0: Linear (2, 16)" in picker.options  # each layer with its shape on the data
    at.button(key="sae_foreign_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    trained_name = at.sidebar.selectbox(key="recipe").value
    assert trained_name == "upload-mlp-model-sae-1"
    assert "Layer '1' of mlp.pt2" in texts(at.markdown)
    assert "explained variance" in texts(at.success)
    shown = {label: metric(at, label) for label in ("L0", "Explained var.", "Dead", "Spliced acc.")}

    data = downloads[f"{trained_name}-saelens.zip"]()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert names == {f"{trained_name}/cfg.json", f"{trained_name}/sae_weights.safetensors", f"{trained_name}/sparsity.safetensors"}
    opened = load_saelens_sae(tmp_path / trained_name)
    assert opened.config.hook_name == "1" and opened.config.architecture == "topk"

    def opened_by_panel(layer: str, files: dict[str, bytes], label: str):
        at.selectbox(key="sae_foreign_layer").set_value(layer).run()
        upload(at, "sae_foreign_saelens_zip", f"{label}.zip", _zipped(files))
        at.button(key="sae_foreign_open").click().run()
        assert not at.exception, at.exception

    folder = {f"{trained_name}/{p.name}": p.read_bytes() for p in (tmp_path / trained_name).iterdir()}
    opened_by_panel("2", folder, "mine")  # the output layer: 3 values per example, not 16
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and one_sentence(errors[0]), errors
    assert "reads 16 values per example" in errors[0] and "layer '2' gives 3" in errors[0] and "--sae" not in errors[0]
    assert at.sidebar.selectbox(key="recipe").value == trained_name  # nothing stored, the page stays on the trained SAE

    opened_by_panel("2", {k: v for k, v in folder.items() if not k.endswith("cfg.json")}, "halves")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and one_sentence(errors[0]) and errors[0].startswith("'halves' has no cfg.json"), errors

    opened_by_panel("1", folder, "mine")
    assert not at.error, texts(at.error)
    assert at.sidebar.selectbox(key="recipe").value == "upload-mlp-model-sae-1-saelens"
    assert "Opened upload-mlp-model-sae-1-saelens" in texts(at.success) and "Opened from 'mine'" in texts(at.caption)
    assert {label: metric(at, label) for label in shown} == shown  # the same SAE, so the same numbers
    for view in ("Feature", "Quality", "Example"):
        at.segmented_control(key="v_view").set_value(view).run()
        assert not at.exception, at.exception
        assert not at.error, texts(at.error)
    assert "predicts" in texts(at.markdown)  # the model's output, clean and with the SAE spliced in
    again = downloads["upload-mlp-model-sae-1-saelens-saelens.zip"]()  # the opened SAE downloads too, as the same SAELens SAE
    with zipfile.ZipFile(io.BytesIO(again)) as archive:
        archive.extractall(tmp_path / "again")
    reopened = load_saelens_sae(tmp_path / "again" / "upload-mlp-model-sae-1-saelens")
    acts = torch.randn(20, 16)
    torch.testing.assert_close(reopened.encode(acts), opened.encode(acts))
