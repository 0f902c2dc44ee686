"""A user's causal language model (issues 17 and 18): a tiny GPT-2 built here from a GPT2Config with a
tokenizer trained here (nothing downloaded), on the user's texts: loss, perplexity and next-token
accuracy checked against transformers' own loss, an SAE on its token activations (``explain sae``),
token attributions for the next token, steering its next word (``steer --model``), and the families
that need classes refusing it in one sentence."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from interp_core import causal_lm as lm
from interp_core import cli
from interp_core.families.sae.steer import steering_transform
from interp_core.families.sae.saelens import load_saelens_sae
from interp_core.modelfiles import load_model_path
from tests.foreign_models import tiny_gpt2

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def gpt(tmp_path_factory):
    """(folder, module, texts file, loaded model) of a tiny GPT-2 trained for a few steps on short sentences."""
    root = tmp_path_factory.mktemp("gpt")
    model, _tokenizer, texts = tiny_gpt2(root / "gpt")
    (root / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    return root / "gpt", model, root / "texts.txt", load_model_path(root / "gpt")


@pytest.fixture(scope="module")
def explained(gpt, tmp_path_factory):
    """``explain sae --model GPT --data texts --json`` run once: (exit code, its JSON, the store it wrote to)."""
    folder, _model, texts, _loaded = gpt
    store = tmp_path_factory.mktemp("store")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["explain", "sae", "--model", str(folder), "--data", str(texts), "--store", str(store), "--json"])
    return code, json.loads(out.getvalue().strip().splitlines()[-1]), store


def run(capsys, *argv):
    code = cli.main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def test_loss_and_next_token_accuracy_are_the_models_own_and_padding_changes_nothing(gpt):
    _folder, module, texts, loaded = gpt
    model = lm.causal_lm(loaded)
    data = lm.lm_texts(loaded, texts)
    lengths = (data.ids != data.pad_id).sum(1)
    short = int(np.argmin(lengths))
    assert lengths[short] < data.ids.shape[1]  # this text is padded on the left
    alone = torch.as_tensor(lm.encode(loaded, [data.texts[short]]))
    with torch.no_grad():
        reference = module(input_ids=alone, labels=alone)
    metrics = lm.lm_metrics(model, data.ids[short : short + 1])
    assert metrics["loss"] == pytest.approx(float(reference.loss), abs=1e-5)  # transformers' mean next-token cross-entropy of the text alone
    hits = (reference.logits[0, :-1].argmax(-1) == alone[0, 1:]).double().mean()
    assert metrics["next_token_accuracy"] == pytest.approx(float(hits), abs=1e-9)
    padded = torch.as_tensor(data.ids[short : short + 1])
    torch.testing.assert_close(model(padded), reference.logits[:, -1], atol=1e-5, rtol=1e-5)
    everything = lm.lm_metrics(model, data.ids)
    assert everything["n_tokens"] == int((lengths - 1).sum())  # each token after a text's first is predicted once
    per_text = np.array([row["loss"] for row in everything["per_text"]])
    assert everything["loss"] == pytest.approx(float((per_text * (lengths - 1)).sum() / (lengths - 1).sum()), rel=1e-6)
    assert everything["perplexity"] == pytest.approx(float(np.exp(everything["loss"])), rel=1e-9)


def test_explain_sae_trains_on_token_activations_with_spliced_loss_and_logit_effects(gpt, explained, capsys):
    folder, _module, texts, loaded = gpt
    code, result, store = explained
    assert code == 0, result
    model = lm.causal_lm(loaded)
    data = lm.lm_texts(loaded, texts)
    tokens_per_text = (data.ids != data.pad_id).sum(1)
    assert result["unit"] == "token" and result["n_train"] == int(tokens_per_text[: data.n_train].sum())  # one row per token, not one per text
    assert result["layer"] == "transformer.h.1" and result["d_in"] == 16 and result["model"]["kind"] == "huggingface"
    assert 0 < result["l0"] <= result["k"] and result["explained_variance"] > 0.5
    assert result["loss_clean"] == pytest.approx(lm.lm_metrics(model, data.test)["loss"], abs=1e-5)
    assert result["loss_zero"] > result["loss_sae"] >= result["loss_clean"] - 0.05
    held_out = result["test_texts"][0]  # each held-out text's own loss, as the model alone gives it
    assert held_out["text"] == data.texts[data.n_train] and held_out["loss"] == pytest.approx(lm.lm_metrics(model, data.test[:1])["loss"], abs=1e-5)
    sae = load_saelens_sae(result["sae_path"])  # the trained SAE, written where steer --sae reads it
    row = result["features"][0]
    effect = lm.unembedding(model) @ sae.W_dec.detach().numpy()[row["feature"]]
    assert row["promotes"][0]["token"] == lm.token_labels(loaded.tokenizer, [int(effect.argmax())])[0]
    assert row["suppresses"][0]["token"] == lm.token_labels(loaded.tokenizer, [int(effect.argmin())])[0]


def test_steering_with_scale_one_or_a_silent_feature_reproduces_the_logits_exactly(gpt, explained, capsys):
    folder, _module, _texts, loaded = gpt
    code, result, _store = explained
    assert code == 0
    path = result["sae_path"]
    sae = load_saelens_sae(path).eval()
    model = lm.causal_lm(loaded, sae.config.hook_name)
    x = torch.as_tensor(lm.encode_text(loaded, "the film was"))
    with torch.no_grad():
        codes = sae.encode(model.token_acts(x)[0])
        clean = model.token_logits(x)
        assert torch.equal(model.token_logits_with(x, steering_transform(sae, list(range(sae.width)), "scale", 1.0)), clean)
    silent = int(np.flatnonzero((codes == 0).all(0).numpy())[0])
    firing = int(codes[-1].argmax())  # fires on the last token, whose vector the next-token logits read (the layer is the last block)
    code, result, err = run(capsys, "steer", "--model", str(folder), "--sae", str(path), "--feature", str(silent), "--scale", "0", "--text", "the film was")
    assert code == 0, err
    assert result["kl"] == 0.0 and not result["changed"] and result["continuation_before"] == result["continuation_after"]
    assert result["before"] == result["after"] and result["activations"] == {str(silent): 0.0}
    top = lm.token_labels(loaded.tokenizer, [int(clean[0, -1].argmax())])[0]
    assert result["top_before"] == top and result["before"][0]["label"] == top
    code, result, err = run(capsys, "steer", "--model", str(folder), "--sae", str(path), "--feature", str(firing), "--scale", "20", "--text", "the film was")
    assert code == 0, err
    assert result["kl"] > 0 and result["activations"][str(firing)] > 0 and len(result["continuation_after"]) > 0
    assert [r["label"] for r in result["before"]] != [r["label"] for r in result["after"]] or result["before"] != result["after"]


def test_token_attributions_explain_the_predicted_next_token(gpt, capsys):
    folder, _module, texts, loaded = gpt
    code, result, err = run(capsys, "explain", "attributions", "--model", str(folder), "--data", str(texts), "--methods", "gradient_x_input,random")
    assert code == 0, err
    assert set(result["methods"]) == {"gradient_x_input", "random"} and result["target"] == "predicted next token"
    example = result["examples"][0]
    model = lm.causal_lm(loaded)
    with torch.no_grad():
        logits = model(torch.as_tensor(lm.encode(loaded, [example["text"]])))
    assert example["class"] == lm.token_labels(loaded.tokenizer, [int(logits.argmax())])[0]
    assert [t for t, _a in example["tokens"]["gradient_x_input"]] == loaded.tokenizer.convert_ids_to_tokens(lm.encode(loaded, [example["text"]])[0].tolist())


@pytest.mark.parametrize("kind", ["concepts", "prototypes", "rules"])
def test_families_that_need_classes_refuse_a_causal_lm_in_one_sentence(gpt, capsys, kind):
    folder, _module, texts, _loaded = gpt
    code, result, _err = run(capsys, "explain", kind, "--model", str(folder), "--data", str(texts))
    assert code == 2 and "causal language model" in result["error"] and "class" in result["error"] and result["error"].count(". ") == 0


def test_steer_model_mistakes_are_one_sentence(gpt, explained, capsys):
    folder, _module, _texts, _loaded = gpt
    path = explained[1]["sae_path"]
    for argv, words in (((), "--sae"), (("--sae", str(path), "--layer", "transformer.h.0.attn.c_attn"), "reads 16 values"),
                        (("--sae", str(path), "--layer", "transformer.h.7"), "nearest")):
        code, result, _err = run(capsys, "steer", "--model", str(folder), "--feature", "0", "--text", "the film", *argv)
        assert code == 2 and words in result["error"], result
    code, result, _err = run(capsys, "steer", "--feature", "0", "--text", "the film")
    assert code == 2 and "needs a RECIPE" in result["error"] and "--model" in result["error"]
    code, result, _err = run(capsys, "steer", "digits-sae", "--model", str(folder), "--sae", str(path), "--feature", "0", "--text", "the film")
    assert code == 2 and "not both" in result["error"]


def test_the_sae_pages_token_reading_is_the_cli_sae_on_every_token(gpt, explained):
    """``causal.token_sae`` (what the SAE page's four views draw): every real token's codes as the SAE encodes the block there,
    each feature's label and logit effects as explain sae --json lists them, the decoder's map, each held-out text's spliced
    loss averaging to the JSON's loss_sae; and a typed text's codes (``text_codes``) equal to its row when it is one of the texts."""
    from collections import Counter

    from interp_core.families.sae.causal import feature_effects, text_codes, token_sae

    _folder, _module, texts, loaded = gpt
    _code, result, _store = explained
    data = lm.lm_texts(loaded, texts)
    view = token_sae(loaded, data, result["sae_path"])  # the SAE folder read from scratch
    sae = load_saelens_sae(result["sae_path"]).eval()
    acts, text, position = lm.token_activations(lm.causal_lm(loaded, result["layer"]), data.ids)
    with torch.no_grad():
        codes = sae.encode(torch.as_tensor(acts)).numpy()
    assert view.codes.n == len(acts) and (view.text == text).all() and (view.position == position).all()
    np.testing.assert_allclose(view.codes.to_scipy().toarray(), codes, rtol=1e-3, atol=1e-3)  # stored as float16, as every SAE's codes
    assert view.maps["pca"].shape == (result["n_features"], 2) and view.W_dec.shape == (result["n_features"], result["d_in"])
    for row in result["features"][:3]:
        j = row["feature"]
        assert view.labels[j] == row["label"] and feature_effects(loaded, result["sae_path"], j) == {"promotes": row["promotes"], "suppresses": row["suppresses"]}
        counts = Counter(int(t) for t in data.ids[text, position][codes[:, j] > 0])
        top = sorted(counts, key=lambda t: (-counts[t], t))[:3]
        assert row["label"] == " / ".join(t.strip() or repr(t) for t in lm.token_labels(loaded.tokenizer, top))
    scored = (data.test != data.pad_id).sum(1) - 1  # the tokens each held-out text predicts
    assert view.loss_clean == pytest.approx([t["loss"] for t in result["test_texts"]], abs=1e-5)
    assert float(np.dot(view.loss_sae, scored) / scored.sum()) == pytest.approx(result["loss_sae"], abs=1e-5)
    from interp_core.families.sae.causal import read_text_model
    from interp_core.store import Store

    again, reading = read_text_model(loaded, data, Store(_store), sae_path=result["sae_path"])  # one pass: the JSON and the views' reading
    assert again["loss_sae"] == pytest.approx(result["loss_sae"], abs=1e-5) and reading.labels == view.labels and reading.layer == view.layer
    np.testing.assert_allclose(reading.codes.to_scipy().toarray(), view.codes.to_scipy().toarray(), atol=1e-3)
    assert reading.loss_clean == pytest.approx(view.loss_clean, abs=1e-6) and reading.loss_sae == pytest.approx(view.loss_sae, abs=1e-6)
    assert (reading.text == view.text).all() and (reading.token_ids == view.token_ids).all() and not reading.encoder
    index = data.n_train + 2
    tokens, typed = text_codes(loaded, result["sae_path"], data.texts[index])
    rows = view.token_rows(index)
    assert tokens == lm.token_labels(loaded.tokenizer, data.ids[index, position[rows]])
    np.testing.assert_allclose(typed, codes[rows], atol=1e-4)
