"""A user's Hugging Face encoder (issue 17): a tiny BertModel with no head, built here from a BertConfig (nothing
downloaded), on the user's texts. ``explain sae --model`` trains a token-level SAE on a block as for a causal LM and
judges the splice on the sentence embedding (cosines checked against transformers run by hand); ``--sae`` opens
the SAELens folder it wrote; the families that need class scores refuse it in one sentence."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from interp_core import causal_lm as lm
from interp_core import cli
from interp_core.families.sae.saelens import load_saelens_sae
from interp_core.modelfiles import load_model_path
from tests.foreign_models import review_texts, save_jsonl, tiny_encoder

pytest.importorskip("transformers")

LAYER = "encoder.layer.0"  # the first of two blocks: zeroing it does not zero the sentence embedding


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """(folder, module, texts file, loaded model) of a tiny two-block BertModel."""
    root = tmp_path_factory.mktemp("encoder")
    module, _tokenizer = tiny_encoder(root / "bert")
    texts, _labels = review_texts(40)
    (root / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    return root / "bert", module, root / "texts.txt", load_model_path(root / "bert")


def run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([*argv, "--json"])
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def explained(encoder, tmp_path_factory):
    """``explain sae --model BERT --data texts --layer encoder.layer.0 --json`` run once: (exit code, its JSON)."""
    folder, _module, texts, _loaded = encoder
    return run("explain", "sae", "--model", str(folder), "--data", str(texts), "--layer", LAYER, "--store", str(tmp_path_factory.mktemp("store")))


def sentence_embeddings(module, ids: torch.Tensor, replace=None) -> torch.Tensor:
    """The last layer mean-pooled over the attention mask, run by hand; ``replace`` maps the block's output (n, tokens, d)."""
    mask = (ids != 0).long()
    handle = None
    if replace is not None:
        handle = module.get_submodule(LAYER).register_forward_hook(lambda _m, _a, out: replace(out) if torch.is_tensor(out) else (replace(out[0]), *out[1:]))
    try:
        with torch.no_grad():
            h = module(input_ids=ids, attention_mask=mask).last_hidden_state
    finally:
        if handle is not None:
            handle.remove()
    m = mask[..., None].float()
    return (h * m).sum(1) / m.sum(1)


def test_an_encoder_pads_on_the_right_so_a_padded_text_embeds_as_the_text_alone(encoder):
    _folder, module, texts, loaded = encoder
    assert lm.is_encoder(loaded) and not lm.is_causal_lm(loaded) and lm.is_text_model(loaded)
    data = lm.lm_texts(loaded, texts)
    model = lm.text_model(loaded)
    assert isinstance(model, lm.Encoder) and model.layer == "encoder.layer.1"  # the middle of two blocks, as for a causal LM
    lengths = (data.ids != data.pad_id).sum(1)
    short = int(np.argmin(lengths))
    assert lengths[short] < data.ids.shape[1] and data.ids[short, -1] == data.pad_id  # padded, at its end
    alone = torch.as_tensor(lm.encode(loaded, [data.texts[short]]))
    with torch.no_grad():
        torch.testing.assert_close(model.embed(torch.as_tensor(data.ids[short : short + 1])), module(input_ids=alone).last_hidden_state.mean(1), atol=1e-5, rtol=1e-5)


def test_explain_sae_on_an_encoder_trains_per_token_and_splices_into_the_sentence_embedding(encoder, explained):
    _folder, module, texts, loaded = encoder
    code, result = explained
    assert code == 0, result
    data = lm.lm_texts(loaded, texts)
    tokens_per_text = (data.ids != data.pad_id).sum(1)
    assert result["model_kind"] == "encoder" and result["unit"] == "token" and result["layer"] == LAYER and result["d_in"] == 16
    assert result["model"] == {"path": str(loaded.path), "kind": "huggingface", "parameters": sum(p.numel() for p in module.parameters())}
    assert result["n_train"] == int(tokens_per_text[: data.n_train].sum()) and result["n_test"] == int(tokens_per_text[data.n_train :].sum())  # one row per real token
    assert 0 < result["l0"] <= result["k"] and result["explained_variance"] > 0.5
    assert "loss_clean" not in result and all("promotes" not in row for row in result["features"])  # no next token, no logit effects
    sae = load_saelens_sae(result["sae_path"]).eval()  # the trained SAE, kept as an SAELens folder
    test = torch.as_tensor(data.test)
    clean = sentence_embeddings(module, test)
    with torch.no_grad():
        spliced = sentence_embeddings(module, test, lambda out: sae(out.reshape(-1, 16)).reshape(out.shape))
    zeroed = sentence_embeddings(module, test, torch.zeros_like)
    cos = torch.nn.functional.cosine_similarity
    assert result["cosine_sae"] == pytest.approx(float(cos(spliced, clean).mean()), abs=1e-5)
    assert result["cosine_zero"] == pytest.approx(float(cos(zeroed, clean).mean()), abs=1e-5)
    assert result["cosine_sae"] > result["cosine_zero"]
    row = result["features"][0]  # the most often firing feature: its tokens as it fires on them
    acts, text, position = lm.token_activations(lm.text_model(loaded, LAYER), data.ids)
    with torch.no_grad():
        fired = data.ids[text, position][(sae.encode(torch.as_tensor(acts))[:, row["feature"]] > 0).numpy()]
    assert row["density"] == pytest.approx(len(fired) / len(acts), abs=1e-6)
    assert row["fires_on"][0] == lm.token_labels(loaded.tokenizer, [int(np.bincount(fired).argmax())])[0]


def test_explain_sae_opens_the_saelens_folder_it_wrote(encoder, explained):
    folder, _module, texts, _loaded = encoder
    first = explained[1]
    code, result = run("explain", "sae", "--model", str(folder), "--data", str(texts), "--sae", first["sae_path"])
    assert code == 0, result
    assert result["sae"] == first["sae_path"] and result["layer"] == LAYER  # the SAE's hook name picks the block
    for key in ("l0", "explained_variance", "cosine_sae", "cosine_zero"):
        assert result[key] == pytest.approx(first[key], abs=1e-5)


@pytest.mark.parametrize("kind", ["attributions", "concepts", "prototypes", "rules"])
def test_families_that_need_class_scores_refuse_an_encoder_in_one_sentence(encoder, kind):
    folder, _module, texts, _loaded = encoder
    code, result = run("explain", kind, "--model", str(folder), "--data", str(texts))
    error = result["error"]
    assert code == 2 and "encoder" in error and "hidden states, not class scores" in error and "'explain sae'" in error and error.count(". ") == 0


def test_the_map_of_an_encoders_texts_is_each_texts_mean_token_vector_at_the_layer(encoder, tmp_path):
    _folder, module, _texts, loaded = encoder
    texts, labels = review_texts(40)
    data = lm.lm_texts(loaded, save_jsonl(tmp_path / "labelled.jsonl", texts, labels))
    model = lm.text_model(loaded, LAYER)
    vectors = lm.text_embeddings(model, data.ids)
    short = int(np.argmin((data.ids != data.pad_id).sum(1)))
    alone = torch.as_tensor(lm.encode(loaded, [data.texts[short]]))
    with torch.no_grad():
        expected = module(input_ids=alone, output_hidden_states=True).hidden_states[1].mean(1)[0]  # block 0's output, over the text's own tokens
    np.testing.assert_allclose(vectors[short], expected.numpy(), atol=1e-5)
    coords, codes, names = lm.text_map(model, data)
    assert coords.shape == (40, 2) and names == ["negative", "positive"] and [names[c] for c in codes] == labels
    unlabelled = lm.lm_texts(loaded, _texts)
    assert lm.text_map(model, unlabelled)[2] == ["texts"]


def test_explain_sae_mistakes_on_an_encoder_are_one_sentence(encoder, explained):
    folder, _module, texts, _loaded = encoder
    path = explained[1]["sae_path"]
    for argv, words in ((("--sae", path, "--layer", "encoder.layer.0.intermediate"), "reads 16 values"),  # a block's MLP is 32 wide
                        (("--layer", "encoder.layer.7"), "nearest")):
        code, result = run("explain", "sae", "--model", str(folder), "--data", str(texts), *argv)
        assert code == 2 and words in result["error"] and "\n" not in result["error"], result


def test_the_sae_pages_token_reading_of_an_encoder_gives_each_held_out_texts_cosines(encoder, explained):
    """``causal.token_sae`` on an encoder (what the SAE page's four views draw): each held-out text's sentence-embedding cosine
    with the SAE spliced in and with the block zeroed, as transformers gives them run by hand; a typed text's codes
    (``text_codes``) are its rows; asking for a feature's logit effects is one sentence (no unembedding)."""
    from interp_core.errors import RecipeError
    from interp_core.families.sae.causal import feature_effects, text_codes, token_sae

    _folder, module, texts, loaded = encoder
    result = explained[1]
    data = lm.lm_texts(loaded, texts)
    view = token_sae(loaded, data, result["sae_path"])
    sae = load_saelens_sae(result["sae_path"]).eval()
    test = torch.as_tensor(data.test)
    clean = sentence_embeddings(module, test)
    with torch.no_grad():
        spliced = sentence_embeddings(module, test, lambda out: sae(out.reshape(-1, 16)).reshape(out.shape))
    cos = torch.nn.functional.cosine_similarity
    assert view.encoder and view.layer == LAYER and not view.loss_clean
    assert view.cosine_sae == pytest.approx(cos(spliced, clean).tolist(), abs=1e-5)
    assert view.cosine_zero == pytest.approx(cos(sentence_embeddings(module, test, torch.zeros_like), clean).tolist(), abs=1e-5)
    from interp_core.families.sae.causal import read_text_model

    again, reading = read_text_model(loaded, data, None, sae_path=result["sae_path"])  # one pass: the JSON and the views' reading
    assert reading.encoder and reading.cosine_sae == pytest.approx(view.cosine_sae, abs=1e-6) and reading.cosine_zero == pytest.approx(view.cosine_zero, abs=1e-6)
    assert again["cosine_sae"] == pytest.approx(float(np.mean(view.cosine_sae)), abs=1e-5) and reading.labels == view.labels
    np.testing.assert_allclose(reading.codes.to_scipy().toarray(), view.codes.to_scipy().toarray(), atol=1e-3)
    index = data.n_train + 1
    tokens, typed = text_codes(loaded, result["sae_path"], data.texts[index])
    rows = view.token_rows(index)
    assert len(tokens) == len(rows)
    np.testing.assert_allclose(typed, view.codes.to_scipy().toarray()[rows], atol=2e-2)  # the view's codes are stored as float16
    with pytest.raises(RecipeError, match="no unembedding"):
        feature_effects(loaded, result["sae_path"], 0)
