"""The SAE page on the user's own model (issue 17), in AppTest: a .pt2 stored with Home's model box is
offered on the SAE page with a layer picker; training an SAE on the picked layer opens it like any SAE
recipe. The model is built here (torch.export.save); nothing is downloaded."""

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


def test_the_sae_page_trains_an_sae_on_a_picked_layer_of_the_user_s_model(app):
    X, y, _ = table_data(300)
    model = trained_mlp(X, y)
    at = open_page(app)
    upload(at, "upload_model", "mlp.pt2", _pt2(model, torch.as_tensor(X[:4])))
    upload(at, "upload_model_data", "table.npz", npz(X=X, y=y))
    at.button(key="upload_model_explore").click().run()
    assert not at.exception, at.exception
    at.switch_page("views/sae.py")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="sae_foreign_model").value == "upload-mlp-model"
    picker = at.selectbox(key="sae_foreign_layer")
    assert picker.value == "1" and "0: Linear (2, 16)" in picker.options  # each layer with its shape on the data
    at.button(key="sae_foreign_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert at.sidebar.selectbox(key="recipe").value == "upload-mlp-model-sae-1"
    assert "Layer '1' of mlp.pt2" in texts(at.markdown)
    assert "explained variance" in texts(at.success)
    at.segmented_control(key="v_view").set_value("Feature").run()
    assert not at.exception, at.exception
    at.segmented_control(key="v_view").set_value("Quality").run()
    assert not at.exception, at.exception
    at.segmented_control(key="v_view").set_value("Example").run()
    assert not at.exception, at.exception
    assert "predicts" in texts(at.markdown)  # the model's output, clean and with the SAE spliced in


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
