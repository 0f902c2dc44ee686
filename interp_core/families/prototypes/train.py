"""The "prototypes" trainer.

It wraps the default classifier trainer (the shared fit loop calls the model's
``training_loss``), then stores what the page needs to open instantly from a checkpoint:
the ProtoPNet push (``push.safetensors``), a map of the encoded training and test data with
the prototypes (``projection-latent.safetensors``: rows = train, test, prototypes) and the
quality metrics (added to the manifest's ``metrics``).
"""

from __future__ import annotations

import numpy as np

from interp_core import recipes
from interp_core.projection import pca_2d, projection_file, umap_2d

LATENT_MAP = "latent"
PUSH_FILE = "push.safetensors"


def latent_points(report) -> np.ndarray:
    """Rows of the latent map: training latents, test latents, then the prototypes."""
    return np.concatenate([report.latent_train, report.test.latent, report.prototypes]).astype(np.float32)


def train_prototypes(recipe: recipes.Recipe, **options) -> recipes.TrainedModel:
    """Train with the shared loop, then store the push, the latent map and the quality metrics."""
    from interp_core.families.prototypes.explain import analyse, push_prototypes

    stage = options.get("on_stage") or (lambda _text: None)
    # The test-set UMAP Home shows is cut from the joint latent map below instead of fitted twice.
    trained = recipes.train_classifier(recipe, **{**options, "umap": False})
    store, dataset, model = options["store"], trained.dataset, trained.model
    stage("Pushing each prototype onto its nearest training case and measuring prototype quality")
    push = push_prototypes(model, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)
    report = analyse(model, dataset, seed=options.get("seed", 0), push=push)
    points = latent_points(report)
    maps = {"pca": pca_2d(points)}
    if options.get("umap", True):
        stage("Computing the UMAP map of the latent space (the first map in a process compiles numba code)")
        maps["umap"] = umap_2d(points, seed=options.get("seed", 0))
    if "umap" in maps:
        n_train, n_test = len(dataset.y_train), len(dataset.y_test)
        test_maps = {"pca": store.read_arrays(trained.artifact, projection_file("test-embedding"))["pca"], "umap": maps["umap"][n_train : n_train + n_test]}
        store.add_file(recipe.name, projection_file("test-embedding"), test_maps)
    store.add_file(recipe.name, PUSH_FILE, {"prototypes": push.prototypes, "train_index": push.train_index.astype(np.int64), "moved": push.moved.astype(np.float32)})
    metrics = {**trained.metrics, **{k: v for k, v in report.metrics.items() if k not in ("device",)}}
    artifact = store.add_file(recipe.name, projection_file(LATENT_MAP), maps, manifest_updates={"metrics": metrics})
    trained.artifact, trained.manifest = artifact, artifact.manifest
    return trained
