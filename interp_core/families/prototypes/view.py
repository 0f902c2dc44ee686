"""What the Prototypes page and its report sections show of one stored model: the learned or the
pushed prototypes, their analysis, the latent maps and the pictures of the prototypes.

The page caches ``prototype_view`` (ui/prototypes.py); the report (sections.py) calls it with the
page's default (learned prototypes), so both draw from the same computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp_core.families.prototypes.explain import PrototypeReport, PushResult, analyse, push_prototypes, pushed_copy, scaled_inputs
from interp_core.families.prototypes.train import LATENT_MAP, PUSH_FILE, latent_points
from interp_core.projection import pca_2d, projection_file


@dataclass
class PrototypeView:
    """One view of a model: learned or pushed prototypes, the report, the maps and the pictures to show.

    maps: method -> (n_train + n_test + m, 2) coordinates; prototype_pictures (m, *input_shape);
    prototype_scaled (m, values) for table heatmaps; picture_source: what the pictures are."""

    report: PrototypeReport
    push: PushResult
    pushed: bool
    maps: dict[str, np.ndarray]
    prototype_pictures: np.ndarray
    prototype_scaled: np.ndarray
    picture_source: str


def stored_push(trained, store) -> PushResult | None:
    """The push saved with the model by the trainer, or None for a model stored without one."""
    files = trained.artifact.manifest.get("files", {})
    metrics = trained.metrics
    if PUSH_FILE not in files or "push_accuracy_after" not in metrics:
        return None
    arrays = store.read_arrays(trained.artifact, PUSH_FILE)
    return PushResult(arrays["prototypes"], arrays["train_index"], arrays["moved"], metrics["push_accuracy_before"], metrics["push_accuracy_after"])


def prototype_view(trained, store, pushed: bool) -> PrototypeView:
    """Analyse ``trained``'s learned (``pushed=False``) or pushed prototypes; ``store`` holds its artifact."""
    dataset = trained.dataset
    seed = int(trained.manifest.get("seed", 0))
    push = stored_push(trained, store) or push_prototypes(trained.model, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)
    network = pushed_copy(trained.model, push.prototypes) if pushed else trained.model
    report = analyse(network, dataset, seed=seed, push=push)
    maps: dict[str, np.ndarray] = {}
    if projection_file(LATENT_MAP) in trained.artifact.manifest.get("files", {}):
        maps = dict(store.read_arrays(trained.artifact, projection_file(LATENT_MAP)))
    if "pca" not in maps:  # the map is of the learned prototypes; pushed ones are placed on their cases below
        learned = analyse(trained.model, dataset, seed=seed) if pushed else report
        maps["pca"] = pca_2d(latent_points(learned))
    n_train = len(dataset.y_train)
    if pushed:  # a pushed prototype sits exactly on its training example
        valid = push.train_index >= 0
        for method, coords in maps.items():
            coords = coords.copy()
            proto_rows = coords[n_train + len(dataset.y_test) :]
            proto_rows[valid] = coords[push.train_index[valid]]
            maps[method] = coords
        pictures = dataset.X_train[np.maximum(push.train_index, 0)]
        scaled = scaled_inputs(trained.model, pictures)
        source = "the real training cases the prototypes were pushed onto"
    else:
        pictures, scaled, source = report.decoded, report.decoded_scaled, "decoded prototypes"
    return PrototypeView(report, push, pushed, maps, pictures, scaled, source)
