"""Tiny "user" models built inside the tests (nothing downloaded): a trained MLP on a table and a
small CNN on 8x8 images, exported with torch.export (dynamic batch) to .pt2 files, and their data as
NPZ files (with a ``concepts`` array, as the Concepts page reads it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


def table_data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n, 6); y in 3 classes from x0 + x1 > 0 and x2 > 1; concepts (n, 2): 'x0 high' (drives the
    class) and 'x5 high' (unrelated to it)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = ((X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64))
    concepts = np.stack([X[:, 0] > 0.5, X[:, 5] > 0.5], axis=1).astype(np.float32)
    return X, y, concepts


def trained_mlp(X: np.ndarray, y: np.ndarray, n_classes: int = 3, seed: int = 0, steps: int = 200) -> nn.Sequential:
    """Linear(6, 16) - ReLU - Linear(16, 3): layers '0', '1', '2' as named_modules() names them."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X.shape[1], 16), nn.ReLU(), nn.Linear(16, n_classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, targets = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def tiny_cnn(seed: int = 0) -> nn.Sequential:
    """Conv(1->4, 3x3) - ReLU - Flatten - Linear(4*6*6, 2) on (1, 8, 8) images, untrained: layer '1' is 4-D."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).eval()


def export_pt2(model: nn.Module, sample: torch.Tensor, path: Path) -> Path:
    """``model`` exported with a dynamic batch dimension and saved with torch.export.save."""
    program = torch.export.export(model, (sample,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, str(path))
    return path


def save_npz(path: Path, X: np.ndarray, y: np.ndarray, concepts: np.ndarray | None = None, concept_names: list[str] | None = None) -> Path:
    arrays = {"X": X, "y": y}
    if concepts is not None:
        arrays["concepts"] = concepts
    if concept_names is not None:
        arrays["concept_names"] = np.array(concept_names)
    np.savez(path, **arrays)
    return path


def mlp_case(folder: Path, concept_names: list[str] | None = None):
    """(the trained MLP, its .pt2, the NPZ of its data (with the concepts when ``concept_names`` names
    them), that NPZ read as the CLI reads it): what each family's test of a user's model starts from."""
    from interp_core.data import load_user_file

    X, y, concepts = table_data()
    model = trained_mlp(X, y)
    pt2 = export_pt2(model, torch.as_tensor(X[:4]), folder / "mlp.pt2")
    npz = save_npz(folder / "data.npz", X, y, concepts if concept_names else None, concept_names)
    return model, pt2, npz, load_user_file(npz)


def tiny_bert(folder: Path):
    """A one-layer BERT sequence classifier (vocabulary 32, hidden 16, 2 labels) from a transformers
    config, saved with save_pretrained into ``folder``; returns the module."""
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, num_labels=2)
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    return model


WORDS = ["good", "bad", "film", "plot", "actor", "great", "awful", "the", "a", "was", "very", "and", "not", "story", "fun", "dull"]


def tiny_bert_with_tokenizer(folder: Path):
    """``tiny_bert`` plus a WordPiece tokenizer over WORDS (ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4,
    then the words), saved into ``folder`` as save_pretrained writes it; returns (module, tokenizer)."""
    tokenizer = save_word_tokenizer(folder)
    return tiny_bert(folder), tokenizer


def save_word_tokenizer(folder: Path):
    """A WordPiece tokenizer over WORDS (ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then the words) saved into ``folder``."""
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS)}
    tokenizer = transformers.BertTokenizer(vocab=vocab, model_max_length=32)
    tokenizer.save_pretrained(folder)
    return tokenizer


def tiny_encoder(folder: Path):
    """A two-layer BertModel (no head; vocabulary 32, hidden 16) from a transformers config with ``save_word_tokenizer``'s
    tokenizer, saved with save_pretrained into ``folder``; returns (module, tokenizer)."""
    import transformers

    tokenizer = save_word_tokenizer(folder)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    model = transformers.BertModel(config).eval()
    model.save_pretrained(folder)
    return model, tokenizer


def review_texts(n: int = 40, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` short reviews of 3-9 words from WORDS, labelled 'positive' when 'good' or 'great' is in them."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 10)))) for _ in range(n)]
    return texts, ["positive" if {"good", "great"} & set(t.split()) else "negative" for t in texts]


def trained_review_bert(folder: Path, steps: int = 30):
    """``tiny_bert_with_tokenizer`` trained for a few Adam steps on ``review_texts`` (it learns that 'good' and
    'great' mean positive), saved again into ``folder``; returns (module, tokenizer, texts, labels)."""
    model, tokenizer = tiny_bert_with_tokenizer(folder)
    texts, labels = review_texts(60)
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    targets = torch.as_tensor([label == "positive" for label in labels]).long()
    model.config.id2label, model.config.label2id = {0: "negative", 1: "positive"}, {"negative": 0, "positive": 1}
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(**encoded).logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval().save_pretrained(folder)
    return model, tokenizer, texts, labels


def save_jsonl(path: Path, texts: list[str], labels: list | None = None) -> Path:
    import json

    rows = [{"text": t} if labels is None else {"text": t, "label": l} for t, l in zip(texts, labels or [None] * len(texts))]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


NOUNS, ADJECTIVES = ["film", "plot", "actor", "story"], ["good", "bad", "great", "awful", "fun", "dull"]


def lm_texts(n: int = 40, seed: int = 0) -> list[str]:
    """``n`` sentences of one pattern, "the NOUN was (very) ADJ (and ADJ)", which a tiny causal LM learns in a few steps."""
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(n):
        words = ["the", str(rng.choice(NOUNS)), "was"] + (["very"] if rng.random() < 0.5 else []) + [str(rng.choice(ADJECTIVES))]
        texts.append(" ".join(words + (["and", str(rng.choice(ADJECTIVES))] if rng.random() < 0.5 else [])))
    return texts


def tiny_gpt2(folder: Path, steps: int = 25):
    """A two-block GPT-2 (hidden 16) from a transformers GPT2Config with a byte-level BPE tokenizer trained here on
    ``lm_texts`` (nothing downloaded), trained for a few Adam steps on those texts and saved with save_pretrained into
    ``folder``; returns (module, tokenizer, texts)."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder.mkdir(parents=True, exist_ok=True)
    texts = lm_texts(60)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = transformers.GPT2TokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>", model_max_length=64)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=16, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config)
    tokenizer.pad_token = tokenizer.eos_token
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    targets = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(**encoded, labels=targets).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval().save_pretrained(folder)
    return model, tokenizer, texts
