"""The picked layer of a user's model, as the SAE, Concepts and Prototypes pages read it.

The model is part 1's ``foreign.ForeignClassifier`` (``trained.model`` of ``foreign.foreign_model``):
``forward(x)`` gives the logits, ``embed(x)`` the picked layer's output flattened to one vector per
example (a layer giving (n, c, h, w) has d = c*h*w; a text model's (n, tokens, d) is averaged over each
text's tokens, and ``forward_with`` then transforms each token's vector), ``.tree`` the layer tree and
``.layer`` the name. Here:

- ``LayerHost``: the classifier with ``forward_with(x, transform)``, the model run with the layer's
  (flattened) output replaced by ``transform(acts)``: how the SAE family splices a reconstruction or a
  zero-ablation in;
- ``collect``: the layer's activations over a dataset in batches, with a progress callback;
  ``cached_activations`` keeps them in a Store under a name made of the model's weights, the layer and
  the data, so a second visit reads them back;
- ``output_directions``: the rest of the model linearised at the data: the mean gradient of each
  logit with respect to the layer's activations (n_outputs, d).
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np
import torch
from torch import nn

from interp_core.layers import replaced_output
from interp_core.training import ProgressEvent

BATCH = 256
ACTS_FILE = "acts.safetensors"


class LayerHost(nn.Module):
    """A ForeignClassifier (``classifier``) with ``forward_with``; ``forward`` is the classifier's."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    @property
    def layer(self) -> str:
        return self.classifier.layer

    @property
    def module_path(self) -> str:
        """The layer's path from this host (captum and hooks address it so)."""
        return f"classifier.tree.{self.classifier.layer}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    @property
    def tokens(self) -> bool:
        """Whether the model reads token ids: a (n, tokens, d) layer output is then one vector per token (embed averages them)."""
        return bool(getattr(getattr(self.classifier, "spec", None), "tokens", False))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier.embed(x)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        def flat(output: torch.Tensor) -> torch.Tensor:
            if self.tokens and output.ndim == 3:  # a text model's layer: each token's vector, as embed pools them
                return transform(output.reshape(-1, output.shape[-1])).reshape(output.shape)
            return transform(output.reshape(len(output), -1)).reshape(output.shape)

        with replaced_output(self.classifier.tree, self.classifier.layer, flat):
            return self.classifier(x)


@torch.no_grad()
def collect(host: LayerHost, X: np.ndarray, *, batch_size: int = BATCH, progress: Callable[[ProgressEvent], None] | None = None) -> np.ndarray:
    """The layer's activations (n, d) over ``X``, in batches; ``progress`` hears each batch."""
    host.eval()
    out = []
    total = max(1, -(-len(X) // batch_size))
    for step, lo in enumerate(range(0, len(X), batch_size), start=1):
        out.append(host.activations(torch.as_tensor(np.asarray(X[lo : lo + batch_size], dtype=np.float32))).float().cpu().numpy())
        if progress is not None:
            progress(ProgressEvent(step, total, 0.0, None, step, total))
    return np.concatenate(out)


def weights_fingerprint(module: nn.Module) -> str:
    """A hash of a module's weights (names, shapes and values): the same model gives the same hash."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def activations_name(host: LayerHost, X: np.ndarray) -> str:
    """The store name of the layer's activations over ``X``."""
    digest = hashlib.sha256(f"{weights_fingerprint(host.classifier.tree)}|{host.layer}|{X.shape}".encode())
    digest.update(np.ascontiguousarray(X, dtype=np.float32).tobytes())
    return f"acts-{digest.hexdigest()[:20]}"


def cached_activations(store, host: LayerHost, X: np.ndarray, *, progress=None, describe: dict | None = None) -> tuple[np.ndarray, bool]:
    """(activations over ``X``, whether they came from ``store``); collected and saved there when not."""
    name = activations_name(host, X)
    if store.present(name):
        return store.read_arrays(store.open(name), ACTS_FILE)["acts"], True
    acts = collect(host, X, progress=progress)
    if not store.readonly:
        store.save(name, {ACTS_FILE: {"acts": acts.astype(np.float32)}}, {"kind": "activations", "model": describe or {}, "layer": host.layer, "n": int(len(acts)), "d": int(acts.shape[1])})
    return acts, False


def output_directions(host: LayerHost, X: np.ndarray, max_examples: int = 256) -> np.ndarray | None:
    """The mean gradient of each output (logit) with respect to the layer's activations (n_outputs, d)
    over up to ``max_examples`` of ``X``: the direct effect of a direction at the layer on each
    output, linearised at the data. None when the model has fewer than two outputs."""
    xb = torch.as_tensor(np.asarray(X[:max_examples], dtype=np.float32))
    seen: list[torch.Tensor] = []

    def keep(acts: torch.Tensor) -> torch.Tensor:
        if not acts.requires_grad:  # frozen weights: the gradient starts here
            acts = acts.detach().requires_grad_(True)
        seen.append(acts)  # one per chunk the classifier runs (a fixed-batch .pt2 pads only its last chunk, at the end)
        return acts

    with torch.enable_grad():
        logits = host.forward_with(xb, keep)
        if logits.ndim != 2 or logits.shape[1] < 2 or not seen:
            return None
        rows = []
        for k in range(logits.shape[1]):
            grads = torch.autograd.grad(logits[:, k].sum(), seen, retain_graph=k < logits.shape[1] - 1)
            grad = torch.cat(grads)
            # per token (n * tokens, d): a direction added at every token moves the logit by the sum over tokens
            rows.append(grad.reshape(len(xb), -1, grad.shape[-1]).sum(1).mean(0) if host.tokens and len(grad) > len(xb) else grad[: len(xb)].mean(0))
    return torch.stack(rows).detach().cpu().numpy()
