"""Token attributions for a Hugging Face text classifier, and how faithful they are.

The model is ``foreign.foreign_model``'s ForeignClassifier of a ``…ForSequenceClassification`` folder
(``spec.tokens``: it reads token ids, the attention mask is every id but the pad id). For the class
the model predicts, each token gets a score from each method, taken at the model's input
embeddings (``get_input_embeddings()``) and summed over the embedding's width:

- ``layer_integrated_gradients``: captum's LayerIntegratedGradients from a baseline text where every
  token but the special ones ([CLS], [SEP]) is the pad token;
- ``gradient_x_input``: the gradient of the class score times the embedding (one backward pass);
- ``random``: seeded noise, the chance reference.

Faithfulness without ground truth (``token_curves``): deletion replaces the text's tokens, most
attributed first (signed: the evidence *for* the class first), by the mask token (the pad token when
the tokenizer has none) and follows the predicted class's probability; insertion starts from the
fully replaced text and puts the tokens back in the same order. Special tokens and padding are never
touched. The x axis is the share of the text's own tokens (0 to 1), so texts of different lengths
average; ``deletion_auc`` low and ``insertion_auc`` high mean the attribution found what the model uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from interp_core.errors import RecipeError
from interp_core.families.timeseries.explain.attribution import MODEL_LOCK
from interp_core.families.timeseries.explain.metrics import FaithfulnessCurves
from interp_core.families.timeseries.explain.methods import RANDOM

TOKEN_METHODS: dict[str, str] = {
    "layer_integrated_gradients": "Layer Integrated Gradients",
    "gradient_x_input": "Gradient × input",
}
MAX_TEXTS = 64  # texts attributed by the CLI (the first of the test set)
# ... and by the page and the report: Integrated Gradients runs the model forward and back 32 times per text, the
# curves 22 times per method, so a page of texts on a real BERT takes a while on 2 cores: fewer texts there.
PAGE_TEXTS = 16
IG_STEPS = 32
STEPS = 10  # shares of the text's tokens on the deletion / insertion curves


def token_method_label(key: str) -> str:
    return "Random (reference)" if key == RANDOM else TOKEN_METHODS[key]


@dataclass
class TokenReport:
    """Per-token attributions of ``n`` texts. ``ids`` (n, T) token ids; ``tokens`` the tokenizer's
    strings per example (padding dropped); ``scored`` (n, T) the positions the curves perturb (not
    special, not padding); ``target`` / ``probability`` (n,) the predicted class and its probability;
    ``attributions[method]`` (n, T) (0 on padding); ``curves[method]`` deletion / insertion."""

    ids: np.ndarray
    tokens: list[list[str]]
    scored: np.ndarray
    target: np.ndarray
    probability: np.ndarray
    class_names: list[str]
    attributions: dict[str, np.ndarray] = field(default_factory=dict)
    curves: dict[str, FaithfulnessCurves] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    replacement: str = ""

    @property
    def methods(self) -> list[str]:
        return list(self.attributions)

    def metrics(self) -> dict[str, dict]:
        """{method: {deletion_auc, insertion_auc}} (means over the texts), JSON-ready."""
        return {m: {"deletion_auc": round(float(c.deletion_auc.mean()), 4), "insertion_auc": round(float(c.insertion_auc.mean()), 4)} for m, c in self.curves.items()}

    def example(self, i: int, method: str) -> list[tuple[str, float]]:
        """(token, attribution) pairs of text ``i`` (padding dropped)."""
        return list(zip(self.tokens[i], self.attributions[method][i, : len(self.tokens[i])].tolist()))


def _embeddings(model: nn.Module) -> nn.Module:
    getter = getattr(model.tree, "get_input_embeddings", None)
    layer = getter() if callable(getter) else None
    if not isinstance(layer, nn.Module):
        raise RecipeError("Token attributions need a Hugging Face text model with input embeddings (get_input_embeddings()); this model has none.")
    return layer


def _special_ids(tokenizer, pad_id: int) -> set[int]:
    ids = {pad_id}
    for name in ("cls_token_id", "sep_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None) if tokenizer is not None else None
        if isinstance(value, int):
            ids.add(value)
    return ids


def token_report(model: nn.Module, X: np.ndarray, tokenizer, class_names: list[str], *, methods: list[str] | None = None,
                 n_texts: int = MAX_TEXTS, seed: int = 0, steps: int = STEPS, progress=None) -> TokenReport:
    """Every method's token attributions for the first ``n_texts`` rows of ``X`` (token ids) and their deletion / insertion curves."""
    spec = getattr(model, "spec", None)
    if not getattr(spec, "tokens", False):
        raise RecipeError("Token attributions are for a Hugging Face text classifier that reads token ids; this model reads other inputs.")
    methods = list(methods or [*TOKEN_METHODS, RANDOM])
    ids = np.asarray(X[:n_texts]).astype(np.int64)
    pad = spec.pad_id
    mask_id = getattr(tokenizer, "mask_token_id", None) if tokenizer is not None else None
    replacement = mask_id if isinstance(mask_id, int) else pad
    special = np.isin(ids, list(_special_ids(tokenizer, pad)))
    scored = ~special
    tokens = [_strings(tokenizer, row[row != pad] if (row != pad).any() else row) for row in ids]
    model.eval()
    x = torch.as_tensor(ids)
    with torch.no_grad(), MODEL_LOCK:
        probs = torch.softmax(model(x).float(), dim=1).numpy()
    target = probs.argmax(1)
    report = TokenReport(ids, tokens, scored, target, probs[np.arange(len(ids)), target], list(class_names),
                         replacement=_strings(tokenizer, np.array([replacement]))[0])
    baseline = torch.as_tensor(np.where(special, ids, pad))
    for index, method in enumerate(methods):
        if progress is not None:
            progress(f"{token_method_label(method)}...", index / (len(methods) + 1))
        start = time.perf_counter()
        report.attributions[method] = _attribute(model, method, x, baseline, target, seed) * (ids != pad)
        report.seconds[method] = round(time.perf_counter() - start, 4)
        report.curves[method] = token_curves(model, ids, report.attributions[method], target, scored, replacement, steps=steps)
    if progress is not None:
        progress("done", 1.0)
    return report


def next_token_report(loaded, data, *, methods: list[str] | None = None, n_texts: int = MAX_TEXTS, seed: int = 0, progress=None) -> tuple[TokenReport, float]:
    """A causal LM's token attributions for the next token it predicts after each held-out text of ``data``
    (``causal_lm.LMTexts``; its "class" is that token, the class names the vocabulary), and its next-token
    accuracy on those texts: what ``explain attributions --model`` prints and the Time series page draws."""
    from interp_core import causal_lm as lm

    model = lm.causal_lm(loaded)
    accuracy = lm.lm_metrics(model, data.test)["next_token_accuracy"]
    vocabulary = lm.token_labels(loaded.tokenizer, range(model.vocab_size))
    return token_report(model, data.test, loaded.tokenizer, vocabulary, methods=methods, n_texts=n_texts, seed=seed, progress=progress), accuracy


def _strings(tokenizer, ids: np.ndarray) -> list[str]:
    if tokenizer is None:
        return [str(int(i)) for i in ids]
    return [str(t) for t in tokenizer.convert_ids_to_tokens([int(i) for i in ids])]


def _attribute(model: nn.Module, method: str, x: torch.Tensor, baseline: torch.Tensor, target: np.ndarray, seed: int) -> np.ndarray:
    if method == RANDOM:
        return np.random.default_rng(seed).uniform(size=tuple(x.shape)).astype(np.float32)
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    layer = _embeddings(model)
    targets = torch.as_tensor(target)
    with MODEL_LOCK:
        if method == "layer_integrated_gradients":
            values = LayerIntegratedGradients(model, layer).attribute(x, baselines=baseline, target=targets, n_steps=IG_STEPS, internal_batch_size=len(x) * 8)
        elif method == "gradient_x_input":
            values = LayerGradientXActivation(model, layer).attribute(x, target=targets)
        else:
            raise RecipeError(f"Unknown token attribution method '{method}'; expected one of: {', '.join([*TOKEN_METHODS, RANDOM])}.")
    return values.sum(-1).detach().float().cpu().numpy()


def token_curves(model: nn.Module, ids: np.ndarray, attributions: np.ndarray, target: np.ndarray, scored: np.ndarray, replacement: int, steps: int = STEPS) -> FaithfulnessCurves:
    """Deletion and insertion of the ``scored`` tokens, most attributed first (see the module docstring)."""
    n, width = ids.shape
    fractions = np.linspace(0.0, 1.0, steps + 1)
    ranked = np.where(scored, -np.asarray(attributions, np.float64), np.inf)  # unscored positions last
    order = np.argsort(ranked, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(width)[None, :].repeat(n, 0), axis=1)
    counts = np.round(fractions[None, :] * scored.sum(1, keepdims=True)).astype(int)  # (n, s): tokens changed at each share
    chosen = rank[:, None, :] < counts[:, :, None]  # (n, s, T)
    deleted = np.where(chosen, replacement, ids[:, None, :])
    inserted = np.where(chosen | ~scored[:, None, :], ids[:, None, :], replacement)
    out = {}
    for name, batch in (("deletion", deleted), ("insertion", inserted)):
        flat = torch.as_tensor(batch.reshape(-1, width))
        with torch.no_grad(), MODEL_LOCK:
            probs = torch.cat([torch.softmax(model(flat[i : i + 512]).float(), dim=1) for i in range(0, len(flat), 512)])
        out[name] = probs.numpy()[np.arange(len(flat)), np.repeat(target, len(fractions))].reshape(n, len(fractions))
    return FaithfulnessCurves(fractions, out["deletion"], out["insertion"])


__all__ = ["IG_STEPS", "MAX_TEXTS", "PAGE_TEXTS", "STEPS", "TOKEN_METHODS", "TokenReport", "token_curves", "token_method_label", "token_report"]
