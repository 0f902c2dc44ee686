"""The Concepts family: datasets with concept labels, the classifier TCAV probes, concept bottleneck
models (independent, sequential and joint), their trainers, stored TCAV results, and
``python -m interp_core explain concepts``.

This module registers them; the work is in ``train`` (the two trainers, "concepts-classifier" and
"concepts-cbm", and their loader), ``interactive`` (what the page computes on demand), ``command``
(the CLI) and ``bench`` (the benchmark); the analyses themselves are in ``explain``.
"""

from __future__ import annotations

from interp_core import recipes
from interp_core.data import Dataset, register_dataset
from interp_core.errors import DataError
from interp_core.family import Family, Uploads, register_family
from interp_core.families.concepts import explain as explain
from interp_core.families.concepts.bench import bench_concepts
from interp_core.families.concepts.command import DEFAULT_RECIPE, PAIRS, explain_concepts
from interp_core.families.concepts.data import SHAPES_TRUTH, load_breast_cancer_concepts, load_shapes
from interp_core.families.concepts.interactive import score_concept, what_if
from interp_core.families.concepts.models import ConceptBottleneck, ConceptCNN, ConceptMLP
from interp_core.families.concepts.sections import sections as family_sections
from interp_core.families.concepts.train import (
    CAV_FILE,
    CBM_FILE,
    FAMILY,
    TCAV_DEFAULTS,
    TCAV_FILE,
    PhasedProgress,
    compute_tcav,
    load_concepts_model,
    load_tcav,
    tcav_settings,
    train_cbm,
    train_concept_classifier,
    user_recipes,
)
from interp_core.models import register_architecture
from interp_core.recipes import Recipe, Trainer

__all__ = [
    "CAV_FILE", "CBM_FILE", "DEFAULT_RECIPE", "FAMILY", "PAIRS", "TCAV_DEFAULTS", "TCAV_FILE", "TRUTH",
    "PhasedProgress", "bench_concepts", "compute_tcav", "explain", "explain_concepts", "load_concepts_model",
    "load_tcav", "score_concept", "tcav_settings", "train_cbm", "train_concept_classifier", "upload_defaults",
    "user_recipes", "what_if",
]

register_dataset("shapes", load_shapes, "generated 28x28 colour shapes, 3 classes, 8 concept labels with known ground truth")
register_dataset("breast_cancer_concepts", load_breast_cancer_concepts, "breast_cancer with 5 thresholded concept groups (size, texture, shape...)")
register_architecture("concept-cnn", ConceptCNN)
register_architecture("concept-mlp", ConceptMLP)
register_architecture("cbm", ConceptBottleneck)

TRUTH = {"shapes": SHAPES_TRUTH}


recipes.register_trainer("concepts-classifier", Trainer(train_concept_classifier, load_concepts_model))
recipes.register_trainer("concepts-cbm", Trainer(train_cbm, load_concepts_model))


# -- recipes ------------------------------------------------------------------------------------
recipes.register(Recipe(
    "shapes-cnn", FAMILY, "shapes", "concept-cnn",
    {"channels": [8, 16, 32], "hidden": 32},
    {"epochs": 60, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4, "patience": 12, "tcav": TCAV_DEFAULTS},
    "Small CNN on generated shapes whose class depends only on fill and shape; TCAV tests which concepts it uses.",
    trainer="concepts-classifier",
))
recipes.register(Recipe(
    "shapes-cbm", FAMILY, "shapes", "cbm",
    {"channels": [8, 16, 32], "hidden": 32, "head_hidden": [], "concept_weight": 5.0},
    {"epochs": 60, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4, "patience": 12, "mode": "sequential", "head_epochs": 100, "head_lr": 1e-2, "tcav": TCAV_DEFAULTS},
    "Concept bottleneck model on generated shapes: image -> 8 concepts -> class; set the concepts by hand.",
    trainer="concepts-cbm",
))
recipes.register(Recipe(
    "breast-cancer-concept-mlp", FAMILY, "breast_cancer_concepts", "concept-mlp",
    {"hidden": [32, 16]},
    {"epochs": 80, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-3, "patience": 20, "tcav": {**TCAV_DEFAULTS, "set_size": 40}},
    "MLP on 30 cell measurements; TCAV asks whether it uses size, texture and shape-irregularity concepts.",
    trainer="concepts-classifier",
))
recipes.register(Recipe(
    "breast-cancer-cbm", FAMILY, "breast_cancer_concepts", "cbm",
    {"hidden": [32, 16], "head_hidden": [], "concept_weight": 5.0},
    {"epochs": 80, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-3, "patience": 20, "mode": "sequential", "head_epochs": 100, "head_lr": 1e-2, "tcav": {**TCAV_DEFAULTS, "set_size": 40}},
    "Concept bottleneck model on breast_cancer: 30 measurements -> 5 concept groups -> malignant or benign.",
    trainer="concepts-cbm",
))


def upload_defaults(dataset: Dataset) -> list:
    """The page's default classifier and concept bottleneck model for an upload with 0/1 concept labels."""
    if dataset.modality not in ("tabular", "image"):
        raise DataError(f"Concepts needs a table or images with concept labels; this file holds {dataset.modality} data.")
    explain.check_binary_concepts(dataset.concepts_train, "This file")
    classifier, cbm = user_recipes(dataset)
    return [(classifier, cbm.name), (cbm, classifier.name)]


register_family(Family(
    FAMILY, "Concepts", icon=":material/lightbulb:",
    pitch="TCAV scores with significance tests, and a concept-bottleneck model you can steer by hand.",
    explain=explain_concepts, benches={FAMILY: bench_concepts}, sections=family_sections,
    compare_pair=("shapes-cnn", "shapes-cbm"), trainers=("concepts-classifier", "concepts-cbm"),
    artifacts={TCAV_FILE: "TCAV scores and significance tests per concept, class and layer", CAV_FILE: "the concept activation vectors", CBM_FILE: "the concept bottleneck models' accuracies and intervention curves"},
    uploads=Uploads(
        accepts="an NPZ with X (a table or images), y, concepts (n, k) of 0/1 labels and optional concept_names.",
        model_label="classifier and concept bottleneck model", defaults=upload_defaults, modality_3d="image"),
))
