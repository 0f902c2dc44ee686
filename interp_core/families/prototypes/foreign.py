"""A prototype head on a layer of a user's own model (``explain prototypes --model PATH --data FILE --layer NAME``).

A model without a prototype layer gets one, as ProtoPNet puts it on a frozen backbone: the picked
layer's activations (one flat vector per example, ``interp_core.layerhost``; the model is part 1's
``foreign.foreign_model``) are standardised and fed to a prototype layer and a linear layer
(``LayerPrototypeHead``: the family's ``PrototypeNetwork`` with no encoder or decoder of its own, so
its latent space is the layer's standardised activations). The head is trained with the family's loss
(cross-entropy, R1, R2, L1 on wrong-class weights) by the shared fit loop, against **the model's own
predictions**, not the data's labels: the head is there to explain the model. Each prototype is then
pushed onto its nearest training example of its class (the family's ``push_prototypes``), so every
prototype is a real example of the data.

The faithfulness of these prototypes is how often the pushed head agrees with the original model on
held-out examples (``agreement``): where it disagrees, "this looks like that" is not why the model
decided. The family's ``analyse`` adds purity (of the model's decisions around each prototype) and
the top prototype's stability under noise on the activations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from interp_core.data import Dataset
from interp_core.families.prototypes.explain import PrototypeReport, PushResult, analyse, forward_details, push_prototypes, pushed_copy
from interp_core.families.prototypes.models import PrototypeNetwork
from interp_core.layerhost import LayerHost, cached_activations
from interp_core.recipes import TrainedModel
from interp_core.training import TrainConfig, batched, fit

HEAD_LOSS = {"ce": 1.0, "recon": 0.0, "r1": 0.05, "r2": 0.05, "l1": 1e-4}  # recon: the head decodes nothing
HEAD_TRAINING = TrainConfig(epochs=60, batch_size=64, lr=1e-2, patience=15)


class LayerPrototypeHead(PrototypeNetwork):
    """Prototype layer + linear layer on activations (n, d): the latent is the standardised activation."""

    def __init__(self, input_shape: list[int], n_classes: int, **kwargs):
        kwargs["loss_weights"] = {**HEAD_LOSS, **(kwargs.get("loss_weights") or {})}
        super().__init__(input_shape, n_classes, **kwargs)
        self._finish(int(np.prod(self.input_shape)))

    def _encode(self, u: torch.Tensor) -> torch.Tensor:
        return u

    def decode_scaled(self, z: torch.Tensor) -> torch.Tensor:
        return z

    @torch.no_grad()
    def start_at_examples(self, A: np.ndarray, y: np.ndarray, seed: int = 0) -> None:
        """Each prototype starts at a random training example of its class (a class without one keeps its random start)."""
        rng = np.random.default_rng(seed)
        scaled = self.input_scale(torch.as_tensor(A, dtype=torch.float32))
        for j, k in enumerate(self.prototype_class.tolist()):
            members = np.flatnonzero(y == k)
            if len(members):
                self.prototype_vectors[j] = scaled[int(rng.choice(members))]


@dataclass
class ForeignPrototypes:
    head: nn.Module  # the pushed head
    push: PushResult  # accuracies here are agreements with the model (its predictions were the labels)
    report: PrototypeReport  # the family's analysis of the pushed head on the activations
    activations: Dataset  # the layer's activations, labelled with the model's predictions
    agreement: float  # pushed head vs the model on the test examples
    agreement_before_push: float
    test_accuracy: float  # pushed head vs the data's labels
    test_accuracy_before_push: float
    model_test_accuracy: float
    cached: bool


def foreign_prototypes(trained: TrainedModel, store, *, per_class: int = 2, seed: int = 0, progress=None, collect_progress=None) -> ForeignPrototypes:
    """Train a prototype head on the picked layer of ``trained`` (``foreign.foreign_model``), push it and measure it."""
    dataset = trained.dataset
    host = LayerHost(trained.model).eval()
    X = np.concatenate([dataset.X_train, dataset.X_test])
    acts, cached = cached_activations(store, host, X, progress=collect_progress, describe=trained.extras["loaded"].description())
    predicted = batched(host, X).argmax(1)
    n_train = len(dataset.X_train)
    A_train, A_test, p_train, p_test = acts[:n_train], acts[n_train:], predicted[:n_train], predicted[n_train:]
    activations = Dataset(f"{dataset.name}-{host.layer}", "tabular", A_train, p_train, A_test, p_test, list(dataset.class_names),
                          description=f"Layer '{host.layer}' of the model on {dataset.name}, labelled with the model's predictions", source=dataset.source)
    torch.manual_seed(seed)
    head = LayerPrototypeHead([acts.shape[1]], dataset.n_classes, prototypes_per_class=per_class, similarity="log")
    head.fit_input_scale(A_train)
    head.start_at_examples(A_train, p_train, seed)
    fit(head, (A_train, p_train), HEAD_TRAINING, device="cpu", seed=seed, progress=progress)
    head.eval()
    push = push_prototypes(head, A_train, p_train, A_test, p_test)
    pushed = pushed_copy(head, push.prototypes)
    report = analyse(pushed, activations, seed=seed, push=push)
    def accuracy(model: nn.Module) -> float:
        return float((forward_details(model, A_test).predictions == dataset.y_test).mean())

    return ForeignPrototypes(pushed, push, report, activations, push.accuracy_after, push.accuracy_before,
                             accuracy(pushed), accuracy(head), float((p_test == dataset.y_test).mean()), cached)


def prototype_rows(found: ForeignPrototypes, class_names: list[str]) -> list[dict]:
    """One row per prototype: its class, the training example it was pushed onto (an index into the
    data's training split; None when the model predicts that class for no training example, so the
    prototype stays where training put it) and how far it moved there (squared distance in standardised units)."""
    return [{"prototype": j, "class": class_names[int(k)], "train_example": int(i) if i >= 0 else None, "moved": round(float(m), 6), "purity": round(float(p), 6)}
            for j, (k, i, m, p) in enumerate(zip(found.report.prototype_class, found.push.train_index, found.push.moved, found.report.purity.purity))]
