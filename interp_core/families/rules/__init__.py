"""Rules family: MLP black boxes explained by surrogate rules on their top-k features.

Registers the generated rule table, the group-lasso MLP, the "rules" trainer (the classifier
trainer, then the feature rankings stored beside the weights so the page opens instantly), the
four recipes, ``explain rules`` (command.py) and ``bench rules`` (bench.py).
"""

from __future__ import annotations

from interp_core import recipes
from interp_core.data import register_dataset
from interp_core.errors import DataError
from interp_core.families.rules import explain as rx
from interp_core.families.rules.bench import bench_rules
from interp_core.families.rules.command import explain_rules, user_recipe
from interp_core.families.rules.data import load_rule_table
from interp_core.families.rules.models import SparseInputMLP
from interp_core.families.rules.sections import sections as family_sections
from interp_core.families.rules.train import train_rules
from interp_core.family import Family, Uploads, register_family
from interp_core.models import register_architecture
from interp_core.recipes import Recipe, Trainer

register_dataset("rule_table", load_rule_table, "200 generated columns, 2 classes; the label follows a known rule over 3 of them")
register_architecture("sparse_mlp", SparseInputMLP)
recipes.register_trainer("rules", Trainer(train_rules, recipes.load_classifier))

_TABLE_TRAIN = {"epochs": 80, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-3, "patience": 20}
recipes.register(Recipe(
    "breast-cancer-rules", "rules", "breast_cancer", "mlp", {"hidden": [32], "dropout": 0.1}, _TABLE_TRAIN,
    "MLP black box on 30 cell measurements, explained by rules on its top features.", trainer="rules",
))
recipes.register(Recipe(
    "wine-rules", "rules", "wine", "mlp", {"hidden": [32], "dropout": 0.1}, {**_TABLE_TRAIN, "batch_size": 16, "lr": 2e-3},
    "MLP black box on 13 chemical measurements of three cultivars, explained by rules.", trainer="rules",
))
recipes.register(Recipe(
    "digits-rules", "rules", "digits", "mlp", {"hidden": [64], "dropout": 0.2},
    {"epochs": 60, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-3, "patience": 15},
    "MLP black box on 64 pixels of handwritten digits: rules over pixel intensities (0 to 1).", trainer="rules",
))
recipes.register(Recipe(
    "synthetic-rules", "rules", "rule_table", "sparse_mlp", {"hidden": [32], "dropout": 0.1, "group_lasso": 3e-2},
    {"epochs": 150, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-4, "patience": 25},
    "Group-lasso MLP on 200 generated columns whose label follows a known rule over three: can the rules find it?", trainer="rules",
))


def upload_defaults(dataset) -> list:
    """The page's default black box for an uploaded table or images: a group-lasso MLP."""
    if dataset.modality not in ("tabular", "image"):
        raise DataError(f"Rules explains tables and images; this file holds {dataset.modality} data (try Time series or Prototypes).")
    return [(user_recipe(dataset), None)]


register_family(Family(
    "rules", "Rules", icon=":material/account_tree:",
    pitch="A black box explained by surrogate decision rules, with fidelity, paths and counterfactuals.",
    explain=explain_rules, benches={"rules": bench_rules}, sections=family_sections, trainers=("rules",),
    uploads=Uploads(
        accepts="a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features) or images (n, h, w) / (n, channels, h, w).",
        model_label="black box (group-lasso MLP)", defaults=upload_defaults, modality_3d="image"),
    artifacts={rx.RANKING_FILE: "the three feature rankings (integrated gradients, feature ablation, permutation)"},
))
