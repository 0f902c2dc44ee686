"""A user's text model without classes, a local Hugging Face folder, on the user's texts: a causal language
model (``…LMHeadModel`` / ``…ForCausalLM``) or an encoder (a model with no head, e.g. ``BertModel``).

Neither has classes: a causal LM predicts each next token, an encoder gives hidden states (its last
layer's, mean-pooled over the real tokens, is the text's embedding). ``TextModel`` holds what both
share: token ids padded with the pad id, the attention mask, the picked layer (``layer``, default the
middle block) read token by token (``token_acts``, ``token_activations``) or replaced token by token
(``spliced``: how an SAE's reconstruction is spliced in). ``Encoder`` pads on the RIGHT (the model's
own position ids stay right) and gives ``embed`` (the sentence embedding, optionally with the layer
spliced). ``text_model`` gives the one that fits the folder; for a causal LM:

- ``CausalLM`` wraps the loaded module. Texts are token ids (n, tokens) padded on the LEFT with the
  pad id (the tokenizer's, or its end-of-text token as for GPT-2), so every text ends at the last
  column; the attention mask is every id but the pad id and the position ids count the text's own
  tokens, so a padded text gives the same logits as the text alone. ``forward(ids)`` is the
  next-token logits after each text (n, vocab): a "classifier" over the vocabulary, which is what
  the token attributions explain. ``token_logits`` gives every position's logits; ``forward_with`` /
  ``token_logits_with`` run the model with the picked layer's output replaced, token by token, by
  ``transform(acts)`` (how an SAE's reconstruction is spliced in and its features steered);
  ``token_acts`` reads the layer's output (n, tokens, d).
- ``lm_texts``: a .txt / .jsonl / CSV of texts (``data.texts``) through the folder's tokenizer.
- ``lm_metrics``: per-text loss and perplexity, and top-1 next-token accuracy over the texts' tokens
  (each real token predicted from the ones before it): the causal LM's "test accuracy".
- ``next_tokens`` / ``continuation``: the next-token top-k and a short greedy continuation.

Pages and families that need classes (Rules, Concepts, Prototypes; for an encoder also attributions)
refuse these models with ``refusal``, one sentence that says what they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from interp_core.errors import DataError, LayerError, RecipeError
from interp_core.layers import capture, find_layer, replaced_output
from interp_core.modelfiles import LoadedModel

CONTINUATION_TOKENS = 8
TOP_K = 5
TEST_SHARE = 0.2  # the last fifth of the texts is held out (the SAE is measured there)
Transform = Callable[[torch.Tensor], torch.Tensor]


def is_causal_lm(loaded: LoadedModel) -> bool:
    return loaded.kind == "huggingface" and type(loaded.module).__name__.endswith(("LMHeadModel", "ForCausalLM"))


def is_encoder(loaded: LoadedModel) -> bool:
    """A Hugging Face model without a head (``BertModel``, ``RobertaModel``...): transformers' base model is the model itself."""
    module = loaded.module
    return loaded.kind == "huggingface" and not is_causal_lm(loaded) and getattr(module, "base_model", None) is module


def is_text_model(loaded: LoadedModel) -> bool:
    """A Hugging Face text model without classes: a causal LM or an encoder."""
    return is_causal_lm(loaded) or is_encoder(loaded)


def refusal(what: str, path: str, loaded: LoadedModel | None = None) -> RecipeError:
    """The one sentence of a family that needs classes, given a causal LM (or, with ``loaded`` one, an encoder)."""
    start = f"{what} needs a model that gives class scores and data with classes, but '{Path(path).name}' is "
    if loaded is not None and is_encoder(loaded):
        return RecipeError(start + "an encoder that gives hidden states, not class scores; explain it with 'explain sae'.")
    return RecipeError(start + "a causal language model that predicts next tokens; explain it with 'explain sae' or 'explain attributions'.")


def pad_id(loaded: LoadedModel) -> int:
    """The id that pads texts: the tokenizer's pad token, else its end-of-text token (GPT-2 has no pad token), else the config's, else 0."""
    tokenizer, config = loaded.tokenizer, getattr(loaded.module, "config", None)
    for value in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "eos_token_id", None), getattr(config, "pad_token_id", None), getattr(config, "eos_token_id", None)):
        if isinstance(value, int):
            return value
    return 0


def blocks(tree: nn.Module) -> list[str]:
    """The names of the model's blocks: the children of its longest list of modules (GPT-2: ``transformer.h.0`` ...)."""
    lists = [(name, module) for name, module in tree.named_modules() if isinstance(module, nn.ModuleList) and len(module)]
    if not lists:
        raise LayerError("The model has no list of blocks to pick a layer from; name one with --layer (load-model lists them).")
    name, found = max(lists, key=lambda item: len(item[1]))
    return [f"{name}.{i}" for i in range(len(found))]


def default_layer(tree: nn.Module) -> str:
    """The middle block (GPT-2 with 12 blocks: ``transformer.h.6``)."""
    names = blocks(tree)
    return names[len(names) // 2]


class TextModel(nn.Module):
    """A text model without classes on padded token ids; ``layer`` is the layer read and spliced (default: the middle block)."""

    padding_side = "left"  # where the pad ids go

    def __init__(self, tree: nn.Module, pad: int, layer: str | None = None):
        super().__init__()
        self.tree = tree
        self.pad_id = int(pad)
        self.layer = layer or default_layer(tree)
        find_layer(tree, self.layer)  # a name that does not exist: one sentence with the nearest names
        self.spec = _TokenSpec(self.pad_id)  # token attributions and token contexts read ``spec.tokens`` and ``spec.pad_id``

    @property
    def vocab_size(self) -> int:
        return int(self.tree.config.vocab_size)

    @property
    def max_positions(self) -> int | None:
        value = getattr(self.tree.config, "n_positions", None) or getattr(self.tree.config, "max_position_embeddings", None)
        return int(value) if isinstance(value, int) else None

    def mask(self, ids: torch.Tensor) -> torch.Tensor:
        """Real tokens (not padding); the column where every text starts (right padding) or ends (left padding) always
        counts, so no row is empty."""
        mask = ids != self.pad_id
        mask[:, -1 if self.padding_side == "left" else 0] = True
        return mask

    def inputs(self, ids: torch.Tensor) -> tuple[tuple, dict]:
        ids = ids.long()
        return (), {"input_ids": ids, "attention_mask": self.mask(ids).long()}

    def spliced(self, transform: Transform):
        """A block inside which the layer's output is replaced, token by token, by ``transform`` of each token's vector."""
        def each_token(output: torch.Tensor) -> torch.Tensor:
            return transform(output.reshape(-1, output.shape[-1])).reshape(output.shape)

        return replaced_output(self.tree, self.layer, each_token)

    def token_acts(self, ids: torch.Tensor) -> torch.Tensor:
        """The layer's output (n, tokens, d)."""
        acts = capture(self.tree, self.layer, self.inputs(ids))
        if acts.ndim != 3 or acts.shape[:2] != ids.shape:
            raise LayerError(f"Layer '{self.layer}' gives shape {tuple(acts.shape)}, not one vector per token (n, tokens, d); pick a block or another layer that runs on each token.")
        return acts

    def layer_output(self, ids: torch.Tensor) -> torch.Tensor:
        """``token_acts``, under the name the SAE family's token contexts read (``token_contexts.token_codes``)."""
        return self.token_acts(ids)

    def pooled(self, acts: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The mean of (n, tokens, d) ``acts`` over each text's real tokens (n, d)."""
        mask = self.mask(ids.long()).to(acts.dtype)[..., None]
        return (acts * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class CausalLM(TextModel):
    """The loaded causal LM on left-padded token ids (the position ids count each text's own tokens, so a padded text
    gives the same logits as the text alone); ``layer`` is the layer read, spliced and steered."""

    def inputs(self, ids: torch.Tensor) -> tuple[tuple, dict]:
        args, kwargs = super().inputs(ids)
        mask = kwargs["attention_mask"]
        return args, {**kwargs, "position_ids": (mask.cumsum(1) - 1).clamp(min=0)}

    def token_logits(self, ids: torch.Tensor) -> torch.Tensor:
        args, kwargs = self.inputs(ids)
        return self.tree(*args, **kwargs).logits

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The next-token logits after each text (n, vocab)."""
        return self.token_logits(ids)[:, -1]

    def token_logits_with(self, ids: torch.Tensor, transform: Transform) -> torch.Tensor:
        """Every position's logits with the layer's output replaced by ``transform`` of each token's vector."""
        with self.spliced(transform):
            return self.token_logits(ids)

    def forward_with(self, ids: torch.Tensor, transform: Transform) -> torch.Tensor:
        return self.token_logits_with(ids, transform)[:, -1]


class Encoder(TextModel):
    """The loaded encoder (a model without a head) on right-padded token ids, so its own position ids are each text's."""

    padding_side = "right"

    def hidden(self, ids: torch.Tensor, transform: Transform | None = None) -> torch.Tensor:
        """The last layer's output (n, tokens, d); with ``transform``, with the picked layer's output replaced by it."""
        args, kwargs = self.inputs(ids)
        if transform is None:
            return self.tree(*args, **kwargs).last_hidden_state
        with self.spliced(transform):
            return self.tree(*args, **kwargs).last_hidden_state

    def embed(self, ids: torch.Tensor, transform: Transform | None = None) -> torch.Tensor:
        """The sentence embedding (n, d): the last layer's output mean-pooled over the real tokens (``explain.spliced_cosines`` compares it)."""
        return self.pooled(self.hidden(ids, transform), ids)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embed(ids)


@dataclass(frozen=True)
class _TokenSpec:
    pad_id: int
    tokens: bool = True


def causal_lm(loaded: LoadedModel, layer: str | None = None) -> CausalLM:
    """The loaded model as a CausalLM reading ``layer`` (default: the middle block); refused when it is not a causal LM."""
    if not is_causal_lm(loaded):
        raise RecipeError(f"'{Path(loaded.path).name}' is not a causal language model (…LMHeadModel, …ForCausalLM); it is a {type(loaded.module).__name__}.")
    return CausalLM(loaded.layer_module().eval(), pad_id(loaded), layer).eval()


def text_model(loaded: LoadedModel, layer: str | None = None) -> TextModel:
    """The loaded model as a CausalLM or an Encoder reading ``layer`` (default: the middle block); refused when it is neither."""
    if is_causal_lm(loaded):
        return causal_lm(loaded, layer)
    if not is_encoder(loaded):
        raise RecipeError(f"'{Path(loaded.path).name}' is not a text model without classes (a causal language model, or an encoder such as BertModel); it is a {type(loaded.module).__name__}.")
    return Encoder(loaded.layer_module().eval(), pad_id(loaded), layer).eval()


# -- texts ------------------------------------------------------------------------------------------
@dataclass
class LMTexts:
    """Texts as padded token ids (n, tokens; a causal LM's on the left, an encoder's on the right); the first ``n_train``
    are the training texts, the rest held out; ``labels``: the file's labels, if any (an encoder's map is coloured by them)."""

    name: str
    texts: list[str]
    ids: np.ndarray
    n_train: int
    pad_id: int
    extras: dict = field(default_factory=dict)
    labels: list | None = None

    @property
    def train(self) -> np.ndarray:
        return self.ids[: self.n_train]

    @property
    def test(self) -> np.ndarray:
        return self.ids[self.n_train :]


def encode(loaded: LoadedModel, texts: list[str]) -> np.ndarray:
    """(n, tokens) ids of ``texts`` through the folder's tokenizer, cut at the model's longest input; a causal LM's padded
    on the left (every text ends at the last column; a long one keeps its end), an encoder's on the right."""
    from interp_core.data.texts import max_tokens, token_ids

    tokenizer = loaded.tokenizer
    if tokenizer is None:
        raise DataError(f"The model folder '{Path(loaded.path).name}' has no tokenizer files (tokenizer.json, vocab.json...), so texts cannot be encoded; add them.")
    config = loaded.module.config
    limit = max_tokens(tokenizer, getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None))
    side, truncation = tokenizer.padding_side, getattr(tokenizer, "truncation_side", "right")
    tokenizer.padding_side = tokenizer.truncation_side = (CausalLM if is_causal_lm(loaded) else Encoder).padding_side
    try:
        ids = token_ids(tokenizer, texts, limit)
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = side, truncation
    return ids


def encode_text(loaded: LoadedModel, text: str) -> np.ndarray:
    """One typed text as ids (1, tokens); an empty one is refused."""
    if not str(text).strip():
        raise DataError("The text is empty; type a few words for the model to continue.")
    ids = encode(loaded, [str(text)])
    if ids.shape[1] == 0:
        raise DataError("The text has no tokens after the tokenizer; type a few words for the model to continue.")
    return ids


def lm_texts(loaded: LoadedModel, source, filename: str | None = None) -> LMTexts:
    """A user's texts (.txt, .jsonl or a CSV with a text column) for a causal LM or an encoder; labels, if any, are kept
    (an encoder's map is coloured by them), not used to score the model."""
    from interp_core.data.texts import read_texts

    read = read_texts(source, filename)
    texts = read.texts
    n_test = max(1, int(round(len(texts) * TEST_SHARE)))
    labels = None if read.labels is None else [str(v) for v in read.labels]
    return LMTexts(Path(filename or str(source)).name, texts, encode(loaded, texts), len(texts) - n_test, pad_id(loaded), labels=labels)


# -- what the model does on them ------------------------------------------------------------------------
@torch.no_grad()
def lm_metrics(model: CausalLM, ids: np.ndarray, transform: Transform | None = None, batch_size: int = 8) -> dict:
    """Loss (mean cross-entropy per predicted token, nats), perplexity, top-1 next-token accuracy over
    every real token that has one before it, and each text's loss and perplexity (None for a one-token text);
    with ``transform``, with the layer's output replaced by it. Batches of 8 texts: GPT-2's logits over its
    50,257 tokens are 200 KB per token."""
    total, correct, count, per_text = 0.0, 0, 0, []
    for lo in range(0, len(ids), batch_size):
        x = torch.as_tensor(np.asarray(ids[lo : lo + batch_size]), dtype=torch.long)
        logits = (model.token_logits(x) if transform is None else model.token_logits_with(x, transform)).float()
        mask = model.mask(x)
        scored = mask[:, :-1] & mask[:, 1:]  # position t predicts token t+1, both the text's own
        losses = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none").reshape(scored.shape)
        hits = (logits[:, :-1].argmax(-1) == x[:, 1:]) & scored
        losses = losses * scored
        total, correct, count = total + float(losses.sum()), correct + int(hits.sum()), count + int(scored.sum())
        for row_loss, row_count in zip(losses.sum(1).tolist(), scored.sum(1).tolist()):
            per_text.append(None if row_count == 0 else row_loss / row_count)
    loss = total / count if count else float("nan")
    return {
        "loss": loss, "perplexity": float(np.exp(loss)) if count else float("nan"), "next_token_accuracy": correct / count if count else float("nan"),
        "n_tokens": count, "per_text": [{"loss": v, "perplexity": None if v is None else float(np.exp(v))} for v in per_text],
    }


def token_labels(tokenizer, ids) -> list[str]:
    """Each token id as the text it adds (GPT-2's 'Ġgood' is ' good')."""
    return [tokenizer.decode([int(i)]) if tokenizer is not None else str(int(i)) for i in ids]


@torch.no_grad()
def next_tokens(model: CausalLM, ids: np.ndarray, tokenizer, k: int = TOP_K, transform: Transform | None = None) -> list[dict]:
    """The ``k`` most probable next tokens after the text ``ids`` (1, tokens): [{"label", "p"}], most probable first."""
    x = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    logits = model(x) if transform is None else model.forward_with(x, transform)
    probs = torch.softmax(logits[0].float(), -1)
    top = torch.topk(probs, min(k, len(probs)))
    return [{"label": label, "p": float(p)} for label, p in zip(token_labels(tokenizer, top.indices.tolist()), top.values.tolist())]


@torch.no_grad()
def continuation(model: CausalLM, ids: np.ndarray, tokenizer, n: int = CONTINUATION_TOKENS, transform: Transform | None = None) -> str:
    """The text the model adds after ``ids`` (1, tokens) in ``n`` greedy steps (fewer at its longest input)."""
    x = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    added = []
    for _ in range(n):
        if model.max_positions is not None and int(model.mask(x).sum()) >= model.max_positions:
            x = x[:, 1:]  # keep the text within the model's positions
        logits = model(x) if transform is None else model.forward_with(x, transform)
        token = int(logits[0].argmax())
        added.append(token)
        x = torch.cat([x, torch.tensor([[token]])], dim=1)
    return tokenizer.decode(added) if tokenizer is not None else " ".join(map(str, added))


@torch.no_grad()
def token_activations(model: TextModel, ids: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(acts, text, position): the layer's vector at every real token of ``ids`` (N, d), with the text index and column of each."""
    acts, where = [], []
    for lo in range(0, len(ids), batch_size):
        x = torch.as_tensor(np.asarray(ids[lo : lo + batch_size]), dtype=torch.long)
        out = model.token_acts(x).float()
        mask = model.mask(x)
        acts.append(out[mask].numpy())
        rows, cols = mask.nonzero(as_tuple=True)
        where.append(np.stack([rows.numpy() + lo, cols.numpy()], 1))
    acts_all = np.concatenate(acts) if acts else np.zeros((0, 0), np.float32)
    places = np.concatenate(where) if where else np.zeros((0, 2), np.int64)
    return acts_all.astype(np.float32), places[:, 0], places[:, 1]


@torch.no_grad()
def text_embeddings(model: TextModel, ids: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Each text's vector at the model's layer (n, d): the layer's output mean-pooled over the text's real tokens."""
    out = []
    for lo in range(0, len(ids), batch_size):
        x = torch.as_tensor(np.asarray(ids[lo : lo + batch_size]), dtype=torch.long)
        out.append(model.pooled(model.token_acts(x).float(), x).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def text_map(model: TextModel, data: LMTexts) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Home's map of an encoder's texts at the model's layer: (the 2-D PCA of ``text_embeddings`` (n, 2), each text's label
    index, the label names); texts without labels are one group, "texts"."""
    from interp_core.projection import pca_2d

    coords = pca_2d(text_embeddings(model, data.ids))
    if data.labels is None:
        return coords, np.zeros(len(data.texts), dtype=np.int64), ["texts"]
    names, codes = np.unique(np.asarray(data.labels, dtype=str), return_inverse=True)
    return coords, codes.astype(np.int64), [str(n) for n in names]


def unembedding(model: CausalLM) -> np.ndarray:
    """The output embedding (vocab, d): how a direction in the last hidden state pushes each token's logit."""
    head = model.tree.get_output_embeddings()
    if head is None:
        raise RecipeError("The model has no output embedding (get_output_embeddings()), so a feature's effect on the next token cannot be read.")
    return head.weight.detach().float().cpu().numpy()


def summary(model: CausalLM, data: LMTexts, tokenizer, example: int = 0) -> dict:
    """What Home shows: loss, perplexity and next-token accuracy on the texts (``test_accuracy``: the accuracy),
    and the next-token top-5 after one text."""
    metrics = lm_metrics(model, data.ids)
    index = min(max(int(example), 0), len(data.texts) - 1)
    row = data.ids[index : index + 1]
    return {"loss": metrics["loss"], "perplexity": metrics["perplexity"], "next_token_accuracy": metrics["next_token_accuracy"],
            "test_accuracy": metrics["next_token_accuracy"], "n_texts": len(data.texts), "n_tokens": metrics["n_tokens"],
            "per_text": metrics["per_text"], "example": {"index": index, "text": data.texts[index], "next_tokens": next_tokens(model, row, tokenizer)}}


__all__ = ["CONTINUATION_TOKENS", "CausalLM", "Encoder", "TextModel", "blocks", "LMTexts", "causal_lm", "continuation", "encode", "encode_text", "is_causal_lm",
           "is_encoder", "is_text_model", "lm_metrics", "lm_texts", "next_tokens", "pad_id", "refusal", "summary", "text_embeddings", "text_map", "text_model", "token_activations", "token_labels",
           "unembedding"]
