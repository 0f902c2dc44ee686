"""One layer of a user's loaded model (``modelfiles.LoadedModel``) as the families' pages need it.

``LayerHost`` wraps the model's layer tree (a .pt2 unflattened to its original module names) and
one layer name:

- ``forward(x)``: the model's output (its first tensor: logits for a classifier);
- ``activations(x)``: the layer's output, one flat vector per example (n, d); a layer whose
  output is (n, c, h, w) or (n, t, d) gives d = c*h*w or t*d, so every layer is one vector per example;
- ``forward_with(x, transform)``: the model with the layer's (flattened) output replaced by
  ``transform(acts)`` (how the SAE family splices a reconstruction or a zero-ablation in).

``collect`` reads a layer's activations over a dataset in batches (with a progress callback);
``cached_activations`` keeps them in a Store under a name made of the model's weights, the layer and
the data, so a second visit reads them back. ``output_directions`` linearises the rest of the model
at the data: the mean gradient of each logit with respect to the layer's activations (n_outputs, d).
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np
import torch
from torch import nn

from interp_core.errors import DataError, InterpError, LayerError, first_line
from interp_core.layers import capture, describe_inputs, find_layer, first_tensor, replaced_output
from interp_core.modelfiles import LoadedModel
from interp_core.training import ProgressEvent

BATCH = 256


class LayerHost(nn.Module):
    """The loaded model's layer tree with one chosen layer (see the module docstring)."""

    def __init__(self, loaded: LoadedModel, layer: str):
        super().__init__()
        self.tree = loaded.layer_module()
        find_layer(self.tree, layer)  # a wrong name is one sentence with the nearest names
        self.layer = layer
        self.loaded = loaded
        self._shape: tuple[int, ...] | None = None  # the layer's output shape per example, learnt on the first batch

    @property
    def module_path(self) -> str:
        """The layer's name inside this host (captum and hooks address it from here)."""
        return f"tree.{self.layer}"

    def _run(self, x: torch.Tensor):
        try:
            return self.tree(x)
        except InterpError:
            raise
        except Exception as exc:  # noqa: BLE001 - a model that refuses the data is one sentence
            raise DataError(data_mismatch(self.loaded, x, exc)) from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = first_tensor(self._run(x))
        if out is None:
            raise LayerError("The model's output holds no tensor, so it has no logits to explain.")
        return out

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's output for a batch, flattened per example (n, d)."""
        try:
            acts = capture(self.tree, self.layer, ((x,), {}))
        except InterpError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DataError(data_mismatch(self.loaded, x, exc)) from None
        self._shape = tuple(acts.shape[1:])
        return acts.reshape(len(acts), -1)

    def forward_with(self, x: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        def flat_transform(output: torch.Tensor) -> torch.Tensor:
            return transform(output.reshape(len(output), -1)).reshape(output.shape)

        with replaced_output(self.tree, self.layer, flat_transform):
            return self.forward(x)


def data_mismatch(loaded: LoadedModel, x: torch.Tensor, exc: BaseException) -> str:
    """The sentence for data the model does not accept: both shapes and the model's own words."""
    shape = loaded.summary.input_shape
    expected = f"examples of shape {tuple(shape)}" if shape else (describe_inputs(loaded.inputs) if loaded.inputs is not None else "another input")
    return (f"The model does not accept this data: its examples have shape {tuple(x.shape[1:])} but the model takes {expected} "
            f"({first_line(exc, 100)}); give data of the model's input shape.")


@torch.no_grad()
def collect(host: LayerHost, X: np.ndarray, *, batch_size: int = BATCH, progress: Callable[[ProgressEvent], None] | None = None) -> np.ndarray:
    """The layer's activations (n, d) over ``X``, in batches; ``progress`` hears each batch."""
    host.eval()
    out = []
    total = max(1, -(-len(X) // batch_size))
    for step, lo in enumerate(range(0, len(X), batch_size), start=1):
        xb = torch.as_tensor(np.asarray(X[lo : lo + batch_size], dtype=np.float32))
        out.append(host.activations(xb).float().cpu().numpy())
        if progress is not None:
            progress(ProgressEvent(step, total, 0.0, None, step, total))
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def model_fingerprint(loaded: LoadedModel) -> str:
    """A hash of the model's weights (names, shapes and values): the same model gives the same name."""
    digest = hashlib.sha256()
    for name, tensor in sorted(loaded.module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def activations_name(loaded: LoadedModel, layer: str, X: np.ndarray) -> str:
    """The store name of a layer's activations over ``X``."""
    digest = hashlib.sha256(f"{model_fingerprint(loaded)}|{layer}|{X.shape}".encode())
    digest.update(np.ascontiguousarray(X, dtype=np.float32).tobytes())
    return f"acts-{digest.hexdigest()[:20]}"


ACTS_FILE = "acts.safetensors"


def cached_activations(store, host: LayerHost, X: np.ndarray, *, progress=None) -> tuple[np.ndarray, bool]:
    """(activations over ``X``, whether they came from ``store``); collected and saved when not there."""
    name = activations_name(host.loaded, host.layer, X)
    if store.present(name):
        artifact = store.open(name)
        return store.read_arrays(artifact, ACTS_FILE)["acts"], True
    acts = collect(host, X, progress=progress)
    if not store.readonly:
        store.save(name, {ACTS_FILE: {"acts": acts.astype(np.float32)}}, {"kind": "activations", "model": host.loaded.description(), "layer": host.layer, "n": int(len(acts)), "d": int(acts.shape[1])})
    return acts, False


def output_directions(host: LayerHost, X: np.ndarray, max_examples: int = 256) -> np.ndarray | None:
    """The mean gradient of each output (logit) with respect to the layer's activations (n_outputs, d)
    over up to ``max_examples`` of ``X``: the direct effect of a direction at the layer on each output,
    linearised at the data. None when the model's output is not (n, outputs)."""
    xb = torch.as_tensor(np.asarray(X[:max_examples], dtype=np.float32))
    with torch.no_grad():
        acts = host.activations(xb)
    leaf = acts.clone().requires_grad_(True)
    logits = host.forward_with(xb, lambda _a: leaf)
    if logits.ndim != 2 or logits.shape[1] < 2:
        return None
    rows = []
    for k in range(logits.shape[1]):
        (grad,) = torch.autograd.grad(logits[:, k].sum(), leaf, retain_graph=k < logits.shape[1] - 1)
        rows.append(grad.mean(0))
    return torch.stack(rows).detach().cpu().numpy()


def default_layer(loaded: LoadedModel) -> str:
    """The last layer before the output: of the layers the sample pass ran, the last one whose output
    is not the model's output shape (what ``--layer`` defaults to)."""
    from interp_core.modelfiles import model_layers

    ran = [layer for layer in model_layers(loaded) if layer.output_shape is not None]
    if not ran:
        raise LayerError("The model's layers could not be measured on a sample input, so no layer can be picked for you; name one with --layer (load-model lists them).")
    output = ran[-1].output_shape
    before = [layer for layer in ran if layer.output_shape != output]
    return (before or ran)[-1].name
