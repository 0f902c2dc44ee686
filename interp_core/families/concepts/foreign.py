"""TCAV at a layer of a user's own model (``explain concepts --model PATH --data FILE --layer NAME``).

The model is ``foreign.foreign_model``'s TrainedModel (part 1's adapter). The concepts are the data's ``concepts`` array (0/1, one column per ``concept_names`` entry), as for
the family's recipes; the family's ``compute_tcav`` runs on the model through the layer host
(``interp_core.layerhost``), with the picked layer as the only layer. Each verdict is checked as the
recipes' are (``tcav_check``): Holm-adjusted p-values, and the concept's observed effect on each
class's logit on the held-out examples. A user's data has no generator to switch a concept, so
there is no CaCE: those keys are null. ``foreign_concept`` scores a concept the user defines by picking
test examples (the Concepts page's "define a concept", ``interactive.score_concept``) at the same layer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from types import SimpleNamespace

from interp_core.families.concepts.data import check_binary_concepts
from interp_core.families.concepts.explain import TCAVResult
from interp_core.families.concepts.sections import tcav_check
from interp_core.families.concepts.train import compute_tcav, tcav_settings
from interp_core.layerhost import LayerHost
from interp_core.recipes import TrainedModel


@dataclass
class ForeignTCAV:
    result: TCAVResult
    check: object  # causal.TCAVCheck


def foreign_tcav(trained: TrainedModel, *, n_random: int | None = None, seed: int = 0, on_stage=None, on_cav=None) -> ForeignTCAV:
    """TCAV of each of the data's concepts at the picked layer of ``trained`` (``foreign.foreign_model``), with its check;
    ``on_cav(done, total)`` hears each CAV trained."""
    dataset = trained.dataset
    check_binary_concepts(dataset.concepts_train, f"'{dataset.name}'")
    host = LayerHost(trained.model).eval()
    settings = {**tcav_settings({}), **({"n_random": n_random} if n_random else {})}
    result = compute_tcav(host, dataset, settings, seed, trained.device, on_stage or (lambda _text: None), layers={host.layer: host.module_path}, on_cav=on_cav)
    return ForeignTCAV(result, tcav_check(SimpleNamespace(model=host, dataset=dataset, device=trained.device), result))


def foreign_concept(trained: TrainedModel, name: str, indices, *, n_random: int | None = None, seed: int = 0, progress=None) -> TCAVResult:
    """TCAV, for every class, of a concept made of the examples at ``indices`` (into all of the data's examples,
    training ones first: a user's data is often too small for its held-out part alone to hold a concept and
    random sets) against random sets of the other examples, at the picked layer of ``trained``
    (``foreign.foreign_model``), with each p-value."""
    from interp_core.families.concepts.interactive import score_concept

    host = LayerHost(trained.model).eval()
    hosted = copy.copy(trained)
    hosted.model = host
    hosted.dataset = all_examples(trained.dataset)
    return score_concept(hosted, name, indices, n_random=n_random, seed=seed, progress=progress, layers={host.layer: host.module_path}, examples="examples")


def all_examples(dataset):
    """``dataset`` with every example (training ones first) as its examples to score and pick from."""
    import numpy as np

    pool = copy.copy(dataset)
    pool.X_test, pool.y_test = np.concatenate([dataset.X_train, dataset.X_test]), np.concatenate([dataset.y_train, dataset.y_test])
    return pool
