"""SAE token contexts for a user's text model (issue 17): a feature read on each token's vector of the
layer (not the text's mean), its top tokens with a few tokens either side. The tiny BERT and its
tokenizer are built here; the expected token is computed by hand from the model's hidden states."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.errors import LayerError
from interp_core.families.sae.token_contexts import context_table, token_codes, top_token_contexts
from tests.foreign_models import review_texts, save_jsonl, tiny_bert_with_tokenizer

pytest.importorskip("transformers")


def test_top_contexts_are_the_largest_codes_with_their_neighbours_and_no_padding():
    codes = np.array([[0.0, 1.0, 5.0, 0.5, 0.0], [2.0, 0.0, 0.0, 0.0, 0.0]])
    ids = np.array([[7, 8, 9, 10, 0], [11, 12, 0, 0, 0]])
    contexts = top_token_contexts(codes, ids, lambda row: [f"t{i}" for i in row], pad_id=0, k=3, window=2)
    assert [(c.example, c.position, c.activation) for c in contexts] == [(0, 2, 5.0), (1, 0, 2.0), (0, 1, 1.0)]
    first = contexts[0]
    assert first.tokens == ["t7", "t8", "t9", "t10"] and first.focus == 2 and list(first.values) == [0.0, 1.0, 5.0, 0.5]  # position 4 is padding
    assert contexts[1].tokens == ["t11", "t12"] and contexts[1].focus == 0
    table = context_table(contexts)
    assert list(table.iloc[0][["before", "token", "after"]]) == ["t7 t8", "t9", "t10"]
    assert top_token_contexts(np.zeros((2, 3)), np.ones((2, 3)), str, 0) == []  # a feature that never fires has no context


def test_the_context_is_the_token_where_the_feature_is_largest(tmp_path):
    from interp_core.families.sae.train import make_sae
    from interp_core.foreign import foreign_model, text_dataset
    from interp_core.modelfiles import load_model_path

    model, tokenizer = tiny_bert_with_tokenizer(tmp_path / "bert")
    texts, labels = review_texts(24)
    loaded = load_model_path(tmp_path / "bert")
    trained = foreign_model(loaded, text_dataset(loaded, save_jsonl(tmp_path / "t.jsonl", texts)), "bert.encoder.layer.0")
    X = np.concatenate([trained.dataset.X_train, trained.dataset.X_test])
    torch.manual_seed(0)
    sae = make_sae("relu", 16, {}, width=8).eval()
    codes = token_codes(sae, trained.model, X, feature=3, batch_size=5)  # batches that cut the texts unevenly

    ids = torch.as_tensor(X).long()
    with torch.no_grad():  # by hand: the layer's output on each token is hidden state 1; the ReLU SAE's code of feature 3
        hidden = model.bert(input_ids=ids, attention_mask=(ids != 0).long(), output_hidden_states=True).hidden_states[1]
        expected = torch.relu((hidden / sae.input_scale - sae.b_dec) @ sae.W_enc[3] + sae.b_enc[3]) * (ids != 0)
    np.testing.assert_allclose(codes, expected.numpy(), atol=1e-5)
    text, position = np.unravel_index(int(expected.argmax()), expected.shape)
    best = top_token_contexts(codes, X, tokenizer.convert_ids_to_tokens, pad_id=0, k=5, window=3)[0]
    assert (best.example, best.position) == (text, position) and best.activation == pytest.approx(float(expected.max()), abs=1e-5)
    row = X[text].astype(int)
    assert best.tokens[best.focus] == tokenizer.convert_ids_to_tokens([int(row[position])])[0]
    assert best.tokens == tokenizer.convert_ids_to_tokens([int(i) for i in row[max(0, position - 3): position + 4] if i != 0])

    pooled = foreign_model(loaded, trained.dataset, "bert.pooler.activation")  # one vector per text: no tokens to show
    with pytest.raises(LayerError, match="not one vector per token"):
        token_codes(sae, pooled.model, X, feature=3)
