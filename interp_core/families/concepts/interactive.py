"""What the page computes on demand on a loaded model (the CLI's bench times them): TCAV of a
concept the user picks, and a bottleneck model's answer when its concepts are set by hand."""

from __future__ import annotations

from typing import Callable

import numpy as np

from interp_core.errors import DataError
from interp_core.families.concepts import explain as explain
from interp_core.families.concepts.models import tcav_layers
from interp_core.families.concepts.train import tcav_settings
from interp_core.recipes import TrainedModel


def score_concept(trained: TrainedModel, name: str, indices: np.ndarray, n_random: int | None = None, seed: int = 0, progress: Callable[[int, int], None] | None = None,
                  layers: dict[str, str] | None = None, examples: str = "test examples") -> explain.TCAVResult:
    """TCAV of a user-defined concept: the test examples at ``indices``, on every class and layer
    (``layers``, display name -> module path: default the recipe architecture's own; ``examples``: what the
    dataset's test split is called in a refusal).

    Random sets are drawn from the other test examples (the concept against everything else), the
    scored examples are the test examples of each class, with the recipe's TCAV settings.
    """
    name = (name or "").strip()
    if not name:
        raise DataError("The new concept needs a name; type one, e.g. 'big red shapes'.")
    dataset = trained.dataset
    indices = np.unique(np.asarray(indices, dtype=int))
    if len(indices) and (indices.min() < 0 or indices.max() >= len(dataset.y_test)):
        raise DataError(f"Concept examples must be {examples} 0-{len(dataset.y_test) - 1}; got {indices.min()}-{indices.max()}.")
    if len(indices) < explain.MIN_CONCEPT_EXAMPLES:
        raise DataError(f"'{name}' has {len(indices)} example(s); choose at least {explain.MIN_CONCEPT_EXAMPLES} to train a CAV.")
    if len(dataset.y_test) - len(indices) < explain.MIN_CONCEPT_EXAMPLES:
        raise DataError(f"'{name}' holds {len(indices)} of the {len(dataset.y_test)} {examples}; leave at least {explain.MIN_CONCEPT_EXAMPLES} out to draw random sets from.")
    settings = tcav_settings(trained.manifest.get("train_config", {}))
    inputs = explain.class_inputs(dataset.X_test, dataset.y_test, dataset.n_classes, settings["max_per_class"], seed)
    set_size = max(explain.MIN_CONCEPT_EXAMPLES, min(settings["set_size"], len(indices)))
    rng = np.random.default_rng(seed)
    used = np.sort(rng.choice(indices, size=set_size, replace=False)) if len(indices) > set_size else indices  # as many as a random set
    return explain.tcav(trained.model, layers or tcav_layers(trained.model), {name: dataset.X_test[used]}, dataset.X_test, inputs, dataset.class_names,
                        exclude={name: indices}, n_random=int(n_random or settings["n_random"]), random_set_size=set_size, seed=seed, device=trained.device, progress=progress)


def what_if(trained: TrainedModel, mode: str, concept_values: np.ndarray) -> np.ndarray:
    """Class probabilities (classes,) of a CBM when its concepts are set to ``concept_values`` (k,) in [0, 1]."""
    model = trained.extras["cbm_models"][mode]
    values = np.clip(np.asarray(concept_values, dtype=np.float32), 0.0, 1.0)
    return explain.class_probabilities_from_concepts(model, values[None, :], trained.device)[0]
