"""TCAV at a layer of a user's own model (``explain concepts --model PATH --data FILE --layer NAME``).

The concepts are the data's ``concepts`` array (0/1, one column per ``concept_names`` entry), as for
the family's recipes; the family's ``compute_tcav`` runs on the model through the layer host
(``interp_core.layerhost``), with the picked layer as the only layer. Each verdict is checked as the
recipes' are (``tcav_check``): Holm-adjusted p-values, and the concept's observed effect on each
class's logit on the held-out examples. A user's data has no generator to switch a concept, so
there is no CaCE: those keys are null.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from interp_core.data import Dataset
from interp_core.families.concepts.data import check_binary_concepts
from interp_core.families.concepts.explain import TCAVResult
from interp_core.families.concepts.sections import tcav_check
from interp_core.families.concepts.train import compute_tcav, tcav_settings
from interp_core.layerhost import LayerHost
from interp_core.modelfiles import LoadedModel


@dataclass
class ForeignTCAV:
    result: TCAVResult
    check: object  # causal.TCAVCheck
    test_accuracy: float
    host: LayerHost


def foreign_tcav(loaded: LoadedModel, layer: str, dataset: Dataset, *, n_random: int | None = None, seed: int = 0, device="cpu", on_stage=None) -> ForeignTCAV:
    """TCAV of each of the data's concepts at ``layer``, with its check, and the model's test accuracy."""
    check_binary_concepts(dataset.concepts_train, f"'{dataset.name}'")
    device = torch.device(device)
    host = LayerHost(loaded, layer).to(device).eval()
    settings = {**tcav_settings({}), **({"n_random": n_random} if n_random else {})}
    result = compute_tcav(host, dataset, settings, seed, device, on_stage or (lambda _text: None), layers={layer: host.module_path})
    trained = SimpleNamespace(model=host, dataset=dataset, device=device)
    with torch.no_grad():
        predicted = host(torch.as_tensor(dataset.X_test, device=device)).argmax(1).cpu().numpy()
    return ForeignTCAV(result, tcav_check(trained, result), float((predicted == dataset.y_test).mean()), host)
