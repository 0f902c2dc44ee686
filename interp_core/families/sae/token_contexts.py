"""Token contexts of an SAE feature at a layer of a user's text model (issue 17).

The SAE was trained on the layer's output averaged over each text's tokens (one vector per text, as
``foreign.ForeignClassifier.embed`` pools it), and the spliced model applies it to each token's vector.
Here the feature is read per token, not pooled: ``token_codes`` encodes every token's vector of the
layer with the SAE and keeps the feature's code (0 on padding); ``top_token_contexts`` picks the
tokens where it is largest, each with a few tokens either side and the feature's code on each; and
``context_table`` is those contexts as a table (left context, the token, right context). The page
draws each context with the token highlighted (``figures.highlight_tokens_html``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from interp_core.errors import LayerError

BATCH = 64


@dataclass(frozen=True)
class TokenContext:
    """One token where a feature fires: ``example`` (a row of the ids: training texts first), ``position`` (the
    token's index in it), ``activation``, and the context: ``tokens`` with the feature's code on each
    (``values``), the token itself at ``focus``."""

    example: int
    position: int
    activation: float
    tokens: list[str]
    values: np.ndarray
    focus: int


@torch.no_grad()
def token_codes(sae: torch.nn.Module, classifier: torch.nn.Module, X: np.ndarray, feature: int, batch_size: int = BATCH) -> np.ndarray:
    """(n, tokens): ``feature``'s code on each token's vector of ``classifier``'s layer (a ``ForeignClassifier`` on
    token ids ``X``), 0 on padding. A layer that gives no vector per token is one sentence."""
    pad_id = classifier.spec.pad_id
    device = next(sae.parameters()).device
    out = []
    for start in range(0, len(X), batch_size):
        ids = torch.as_tensor(X[start : start + batch_size]).long()
        acts = classifier.layer_output(ids)
        if acts.ndim != 3 or acts.shape[1] != ids.shape[1]:
            raise LayerError(f"Layer '{classifier.layer}' gives {tuple(acts.shape[1:])} per text, not one vector per token, so its features have no token contexts.")
        codes = sae.encode(acts.reshape(-1, acts.shape[-1]).float().to(device))[:, feature].reshape(acts.shape[:2]).cpu()
        out.append((codes * (ids != pad_id)).numpy())
    return np.concatenate(out) if out else np.zeros((0, X.shape[1] if X.ndim == 2 else 0), dtype=np.float32)


def top_token_contexts(codes: np.ndarray, ids: np.ndarray, tokens_of: Callable[[list[int]], list[str]], pad_id: int, k: int = 8, window: int = 4) -> list[TokenContext]:
    """The ``k`` tokens with the largest code (only where it fires, > 0), largest first, each with up to ``window``
    tokens either side in its own text (padding left out); ``tokens_of`` turns ids into token strings."""
    codes, ids = np.asarray(codes, dtype=np.float32), np.asarray(ids).round().astype(np.int64)
    flat = codes.ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    contexts = []
    for index in order:
        if flat[index] <= 0:
            break
        contexts.append(token_context(codes, ids, tokens_of, pad_id, *divmod(int(index), codes.shape[1]), window=window))
    return contexts


def token_context(codes: np.ndarray, ids: np.ndarray, tokens_of: Callable[[list[int]], list[str]], pad_id: int, example: int, position: int,
                  window: int = 4) -> TokenContext:
    """The token at (``example``, ``position``) with up to ``window`` tokens either side in its own text (padding left out)
    and the feature's code on each (``codes``: (n, tokens), as ``token_codes`` gives them)."""
    codes, ids = np.asarray(codes, dtype=np.float32), np.asarray(ids).round().astype(np.int64)
    span = [p for p in range(max(0, position - window), min(codes.shape[1], position + window + 1)) if ids[example, p] != pad_id]
    return TokenContext(int(example), int(position), float(codes[example, position]), list(tokens_of([int(ids[example, p]) for p in span])),
                        codes[example, span], span.index(position))


def context_table(contexts: list[TokenContext]) -> pd.DataFrame:
    """The contexts as rows: text (its index), activation, the tokens before, the token, the tokens after."""
    return pd.DataFrame({
        "text": [c.example for c in contexts],
        "activation": [c.activation for c in contexts],
        "before": [" ".join(c.tokens[: c.focus]) for c in contexts],
        "token": [c.tokens[c.focus] for c in contexts],
        "after": [" ".join(c.tokens[c.focus + 1 :]) for c in contexts],
    })
