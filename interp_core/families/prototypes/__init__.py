"""Prototypes family: registers the prototype networks, the "prototypes" trainer (train.py: the
shared fit loop, then the push, the latent map and the quality metrics stored with the model), the
recipes and ``explain prototypes`` (command.py).
"""

from __future__ import annotations

from interp_core import recipes
from interp_core.data import Dataset
from interp_core.families.prototypes.command import explain_cli, user_recipe
from interp_core.families.prototypes.models import ARCHITECTURES
from interp_core.families.prototypes.sections import sections as family_sections
from interp_core.families.prototypes.train import LATENT_MAP, PUSH_FILE, latent_points, train_prototypes
from interp_core.family import Family, Uploads, register_family
from interp_core.models import register_architecture
from interp_core.projection import projection_file

__all__ = ["LATENT_MAP", "PUSH_FILE", "explain_cli", "latent_points", "train_prototypes", "user_recipe"]

for _name, _cls in ARCHITECTURES.items():
    register_architecture(_name, _cls)
recipes.register_trainer("prototypes", recipes.Trainer(train_prototypes, recipes.load_classifier))

_IMAGE_TRAIN = {"epochs": 200, "batch_size": 128, "lr": 2e-3, "patience": 40}
recipes.register(recipes.Recipe(
    "digits-protonet", "prototypes", "digits", "protonet-conv2d",
    {"prototypes_per_class": 2, "loss_weights": {"ce": 20, "recon": 60, "r1": 1, "r2": 1, "l1": 1e-4}},
    _IMAGE_TRAIN,
    "Prototype network (Li et al. 2017) on 8x8 digits: conv autoencoder, 20 prototypes decoded to images.",
    trainer="prototypes",
))
recipes.register(recipes.Recipe(
    "digits-protonet-prob", "prototypes", "digits", "protonet-conv2d",
    {"prototypes_per_class": 2, "probabilistic": True, "prior_std": 0.1, "init_log_var": -5.0,
     "loss_weights": {"ce": 20, "recon": 60, "r1": 1, "r2": 1, "l1": 1e-4, "kl": 1.0}},
    _IMAGE_TRAIN,
    "Probabilistic (Gaussian) prototypes on 8x8 digits: sampled prototype sets give predictions and explanations with uncertainty.",
    trainer="prototypes",
))
recipes.register(recipes.Recipe(
    "breast-cancer-protonet", "prototypes", "breast_cancer", "protonet-mlp",
    {"prototypes_per_class": 3, "hidden": [32], "latent_dim": 8, "loss_weights": {"ce": 20, "recon": 5, "r1": 1, "r2": 1, "l1": 1e-4}},
    {"epochs": 300, "batch_size": 32, "lr": 2e-3, "patience": 60},
    "Prototype network on 30 cell measurements: MLP autoencoder, 6 prototypes shown as feature profiles.",
    trainer="prototypes",
))
recipes.register(recipes.Recipe(
    "gunpoint-protonet", "prototypes", "gunpoint", "protonet-conv1d",
    {"prototypes_per_class": 3, "channels": [16, 16, 16, 2], "kernel": 7, "loss_weights": {"ce": 20, "recon": 20, "r1": 5, "r2": 5, "l1": 1e-4}},
    {"epochs": 300, "batch_size": 16, "lr": 2e-3, "patience": 60, "val_fraction": 0.2},
    "Prototype network on GunPoint: 1-D conv autoencoder, 6 prototypes decoded to curves.",
    trainer="prototypes",
))


def upload_defaults(dataset: Dataset) -> list:
    """The page's default model for an uploaded table or images: a prototype network."""
    return [(user_recipe(dataset), None)]


register_family(Family(
    "prototypes", "Prototypes", icon=":material/photo_library:",
    pitch="A network that decides by similarity to learned cases: \"this looks like that\", with uncertainty.",
    explain=explain_cli, sections=family_sections, compare_pair=("digits-protonet", "digits-protonet-prob"), trainers=("prototypes",),
    uploads=Uploads(
        accepts="a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features) or images (n, h, w) / (n, channels, h, w).",
        model_label="prototype network", defaults=upload_defaults, modality_3d="image"),
    artifacts={PUSH_FILE: "the push: each prototype's nearest training example", projection_file(LATENT_MAP): "the latent map's 2-D coordinates"},
))
