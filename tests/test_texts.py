"""A user's texts for a Hugging Face text classifier (issue 17): .txt, .jsonl and CSV files read with one
sentence per problem, tokenised with the folder's tokenizer, and explained on the CLI (the layer's
activations averaged over each text's tokens). The tiny BERT and its tokenizer are built here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import cli
from interp_core.data.texts import read_texts
from interp_core.errors import DataError, RecipeError
from interp_core.foreign import foreign_model, text_dataset
from interp_core.modelfiles import load_model_path
from tests.foreign_models import save_jsonl, tiny_bert, trained_review_bert

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def review_model(tmp_path_factory):
    """(folder, module, tokenizer, texts, labels, jsonl path) of a tiny BERT trained on short reviews."""
    root = tmp_path_factory.mktemp("reviews")
    model, tokenizer, texts, labels = trained_review_bert(root / "review-bert")
    return root / "review-bert", model, tokenizer, texts, labels, save_jsonl(root / "reviews.jsonl", texts, labels)


def test_txt_jsonl_and_csv_files_give_the_same_texts(tmp_path):
    texts = [f"text number {i}, with a comma" for i in range(12)]
    labels = ["a" if i % 2 else "b" for i in range(12)]
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n\n", encoding="utf-8")
    jsonl = save_jsonl(tmp_path / "t.jsonl", texts, labels)
    (tmp_path / "t.csv").write_text("id,review,label\n" + "".join(f'{i},"{t}",{l}\n' for i, (t, l) in enumerate(zip(texts, labels))), encoding="utf-8")
    assert read_texts(tmp_path / "t.txt").texts == texts and read_texts(tmp_path / "t.txt").labels is None  # the blank line is skipped
    assert (read_texts(jsonl).texts, read_texts(jsonl).labels) == (texts, labels)
    from_csv = read_texts(tmp_path / "t.csv")  # 'review' is the only column of words; 'label' the labels
    assert (from_csv.texts, from_csv.labels) == (texts, labels)


@pytest.mark.parametrize("name, content, phrase", [
    ("empty.txt", b"\n  \n", "holds no text"),
    ("latin1.txt", "caf\u00e9 au lait\n".encode("latin-1") * 12, "is not UTF-8"),
    ("two.csv", b"title,body,label\n" + b"x y,z w,1\n" * 12, "has no text column"),
    ("nofield.jsonl", b'{"text": "fine"}\n' * 11 + b'{"body": "no text here"}\n', "Line 12"),
    ("some.jsonl", b'{"text": "a", "label": 1}\n' * 11 + b'{"text": "b"}\n', "label on 11 of its 12 lines"),
    ("broken.jsonl", b'{"text": "a"\n' * 12, "not valid JSON"),
    ("partial.jsonl", b'{"text": "a", "concepts": {"x": 1}}\n' * 11 + b'{"text": "b"}\n', "no concepts but earlier lines do"),
    ("twos.jsonl", b'{"text": "a", "concepts": {"x": 2}}\n' * 12, "with 0 or 1"),
])
def test_a_bad_text_file_is_one_sentence(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_texts(path)
    assert phrase in str(error.value) and "\n" not in str(error.value) and name in str(error.value)


def test_texts_are_tokenised_padded_and_a_long_line_truncated(review_model, tmp_path):
    folder, model, tokenizer, texts, labels, _ = review_model
    long_line = " ".join(["good film"] * 200)  # 400 words: cut to the model's 32 positions, not refused
    path = save_jsonl(tmp_path / "long.jsonl", texts[:20] + [long_line], labels[:20] + ["positive"])
    dataset = text_dataset(load_model_path(folder), path)
    ids = np.concatenate([dataset.X_train, dataset.X_test]).astype(np.int64)
    assert ids.shape == (21, 32) and dataset.class_names == ["negative", "positive"]  # the model's id2label order
    row = dataset.extras["texts"].index(long_line)
    assert ids[row, 0] == tokenizer.cls_token_id and ids[row, -1] == tokenizer.sep_token_id
    short = dataset.extras["texts"].index(texts[0])
    expected = tokenizer(texts[0])["input_ids"]
    assert list(ids[short, : len(expected)]) == expected and set(ids[short, len(expected):]) == {tokenizer.pad_token_id}


def test_a_folder_without_a_tokenizer_refuses_texts(tmp_path):
    tiny_bert(tmp_path / "no-tokenizer")
    path = save_jsonl(tmp_path / "t.jsonl", [f"text {i}" for i in range(12)])
    with pytest.raises(DataError, match="has no tokenizer files"):
        text_dataset(load_model_path(tmp_path / "no-tokenizer"), path)


def test_the_layer_is_averaged_over_each_texts_tokens(review_model):
    folder, model, _tokenizer, *_rest, jsonl = review_model
    loaded = load_model_path(folder)
    trained = foreign_model(loaded, text_dataset(loaded, jsonl), "bert.encoder.layer.0")
    X = torch.as_tensor(trained.dataset.X_test[:4]).long()
    with torch.no_grad():
        hidden = model.bert(input_ids=X, attention_mask=(X != 0).long(), output_hidden_states=True).hidden_states[1]
    mask = (X != 0).float()[..., None]
    expected = (hidden * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(trained.embed(trained.dataset.X_test[:4]), expected.numpy(), atol=1e-5)


def run_cli(capsys, kind, *argv):
    code = cli.main(["explain", kind, *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def test_cli_explains_texts_with_the_models_accuracy_only_when_labels_exist(review_model, tmp_path, capsys, interp_store_env):
    folder, model, tokenizer, texts, labels, jsonl = review_model
    code, result, err = run_cli(capsys, "sae", "--model", str(folder), "--data", str(jsonl), "--layer", "bert.encoder.layer.0")
    assert code == 0, err
    assert result["d_in"] == 16 and result["model"]["kind"] == "huggingface"  # one vector per text, the layer's width
    dataset = text_dataset(load_model_path(folder), jsonl)
    with torch.no_grad():
        X = torch.as_tensor(dataset.X_test).long()
        predicted = model(input_ids=X, attention_mask=(X != 0).long()).logits.argmax(1).numpy()
    assert result["model_test_accuracy"] == pytest.approx(float((predicted == dataset.y_test).mean()), abs=1e-6)
    (tmp_path / "plain.txt").write_text("\n".join(texts), encoding="utf-8")
    code, result, err = run_cli(capsys, "prototypes", "--model", str(folder), "--data", str(tmp_path / "plain.txt"))
    assert code == 0, err
    assert result["test_accuracy"] is None and result["model_test_accuracy"] is None and 0 <= result["agreement"] <= 1  # unlabelled: no accuracy, only agreement
    code, result, _ = run_cli(capsys, "rules", "--model", str(folder), "--data", str(jsonl))
    assert code == 2 and "text model" in result["error"]


def test_cli_tcav_reads_concepts_from_json_lines(review_model, tmp_path, capsys, interp_store_env):
    folder, _model, _tokenizer, texts, labels, _ = review_model
    rows = [{"text": t, "label": l, "concepts": {"praise": int(bool({"good", "great"} & set(t.split()))), "film": int("film" in t.split())}} for t, l in zip(texts, labels)]
    path = tmp_path / "concepts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    code, result, err = run_cli(capsys, "concepts", "--model", str(folder), "--data", str(path))
    assert code == 0, err
    score = {(row["concept"], row["class"]): row["score"] for row in result["tcav"]}
    assert set(score) == {(c, k) for c in ("praise", "film") for k in ("negative", "positive")}
    assert score["praise", "positive"] > 0.9 and score["praise", "negative"] < 0.1  # the words the model was trained on push toward 'positive'


# -- token attributions (explain attributions --model HF_FOLDER --data texts) ------------------------------
@pytest.fixture(scope="module")
def token_attributions(review_model):
    from interp_core.families.timeseries.explain.tokens import token_report

    folder, model, tokenizer, *_rest, jsonl = review_model
    loaded = load_model_path(folder)
    trained = foreign_model(loaded, text_dataset(loaded, jsonl), family="timeseries")
    return trained, token_report(trained.model, trained.dataset.X_test, loaded.tokenizer, trained.dataset.class_names, steps=4)


def test_gradient_x_input_is_the_embeddings_gradient_times_the_embeddings(review_model, token_attributions):
    _folder, model, *_rest = review_model
    trained, report = token_attributions
    ids = torch.as_tensor(report.ids)
    embeddings = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = model(inputs_embeds=embeddings, attention_mask=(ids != 0).long()).logits
    logits[torch.arange(len(ids)), torch.as_tensor(report.target)].sum().backward()
    expected = (embeddings.grad * embeddings).sum(-1) * (ids != 0)
    np.testing.assert_allclose(report.attributions["gradient_x_input"], expected.detach().numpy(), atol=1e-5)


def test_integrated_gradients_find_the_words_the_model_was_trained_on(token_attributions):
    trained, report = token_attributions
    cues = 0
    for i in range(len(report.ids)):
        tokens = report.tokens[i]
        if report.class_names[report.target[i]] == "positive" and {"good", "great"} & set(tokens):
            top = max(report.example(i, "layer_integrated_gradients"), key=lambda pair: pair[1])[0]
            assert top in ("good", "great"), (tokens, top)
            cues += 1
    assert cues >= 2  # the check ran on several texts


def test_deletion_and_insertion_start_and_end_at_the_models_own_probabilities(review_model, token_attributions):
    _folder, model, tokenizer, *_rest = review_model
    trained, report = token_attributions
    curves = report.curves["layer_integrated_gradients"]
    np.testing.assert_allclose(curves.deletion[:, 0], report.probability, atol=1e-5)  # nothing deleted yet
    np.testing.assert_allclose(curves.insertion[:, -1], report.probability, atol=1e-5)  # everything back
    masked = torch.as_tensor(np.where(report.scored, tokenizer.mask_token_id, report.ids))  # every word masked, [CLS]/[SEP]/padding kept
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=masked, attention_mask=(masked != 0).long()).logits, 1).numpy()
    np.testing.assert_allclose(curves.deletion[:, -1], probs[np.arange(len(masked)), report.target], atol=1e-5)
    np.testing.assert_allclose(curves.insertion[:, 0], curves.deletion[:, -1], atol=1e-6)


def test_cli_attributions_of_a_text_classifier(review_model, capsys, interp_store_env):
    folder, *_rest, jsonl = review_model
    code, result, err = run_cli(capsys, "attributions", "--model", str(folder), "--data", str(jsonl))
    assert code == 0, err
    assert set(result["methods"]) == {"layer_integrated_gradients", "gradient_x_input", "random"}
    assert result["model"]["kind"] == "huggingface" and result["has_ground_truth"] is False and result["n_texts"] == 15
    ig, chance = result["methods"]["layer_integrated_gradients"], result["methods"]["random"]
    assert ig["deletion_auc"] < chance["deletion_auc"] and ig["insertion_auc"] > chance["insertion_auc"]  # faithful beyond chance
    first = result["examples"][0]
    assert first["text"] and [t for t, _a in first["tokens"]["gradient_x_input"]][1:-1] == first["text"].split()
    code, result, _ = run_cli(capsys, "attributions", "--model", str(folder), "--data", str(jsonl), "--methods", "occlusion")
    assert code == 2 and "layer_integrated_gradients" in result["error"]


def test_the_token_heat_map_scales_each_method_to_its_own_largest_attribution():
    from interp_core.families.timeseries.figures import token_attribution

    fig = token_attribution(["[CLS]", "good", "film", "[SEP]"], {"IG": np.array([0.0, 2.0, -1.0, 0.0]), "GxI": np.array([0.0, 0.01, 0.02, 0.0])}, title="Tokens")
    heat = fig.data[0]
    np.testing.assert_allclose(np.asarray(heat.z), [[0, 1, -0.5, 0], [0, 0.5, 1, 0]])
    np.testing.assert_allclose(np.asarray(heat.customdata), [[0, 2, -1, 0], [0, 0.01, 0.02, 0]])  # the raw values in the hover
    assert list(heat.text[0]) == ["[CLS]", "good", "film", "[SEP]"] and list(heat.y) == ["IG", "GxI"]
    assert fig.layout.title.text == "Tokens" and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "method"


def test_the_report_and_compare_get_the_token_sections(token_attributions):
    from interp_core.families.timeseries.sections import sections
    from interp_core.report import Figure, Metrics, Table

    trained, report = token_attributions
    built = sections(trained, None)  # a text model needs no stored report: nothing is read from the catalog
    headline, example, faithfulness = built
    assert isinstance(headline.items[0], Metrics) and headline.items[0].values[0].value == str(len(report.ids))
    heat = example.items[0]
    assert isinstance(heat, Figure) and heat.how_to_read == "token_attribution" and list(heat.figure.data[0].text[0]) == report.tokens[0]
    table, curves = faithfulness.items
    assert isinstance(table, Table) and list(table.frame["method"]) == ["Layer Integrated Gradients", "Gradient × input", "Random (reference)"]
    assert curves.how_to_read == "token_faithfulness" and len(curves.figure.data) == 6


def test_the_layer_picker_leaves_out_layers_shared_by_the_batch(review_model):
    from interp_core.foreign import layer_choices

    folder, model, *_rest, jsonl = review_model
    loaded = load_model_path(folder)
    layers, default = layer_choices(loaded, text_dataset(loaded, jsonl))
    names = [layer.name for layer in layers]
    # BERT's position embeddings are one (1, tokens, d) tensor for the whole batch: no vector of an example's own
    assert "bert.embeddings.position_embeddings" not in names and "bert.embeddings.word_embeddings" in names and default in names
    assert all(layer.output_shape[0] == 2 for layer in layers if layer.output_shape is not None)
