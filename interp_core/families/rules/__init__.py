"""Rules family: MLP black boxes explained by surrogate rules on their top-k features.

Registers the generated rule table, the group-lasso MLP, the "rules" trainer (the classifier
trainer, then the feature rankings stored beside the weights so the page opens instantly), the
four recipes, and ``explain rules``.
"""

from __future__ import annotations

import argparse
import sys

from interp_core import recipes
from interp_core.family import Family, Uploads, register_family
from interp_core.families.rules.sections import sections as family_sections
from interp_core.store import catalog_at
from interp_core.data import register_dataset
from interp_core.families.rules.data import load_rule_table
from interp_core.errors import DataError, RecipeError
from interp_core.families.rules import explain as rx
from interp_core.models import register_architecture
from interp_core.families.rules.models import SparseInputMLP
from interp_core.recipes import Recipe, Trainer

register_dataset("rule_table", load_rule_table, "200 generated columns, 2 classes; the label follows a known rule over 3 of them")
register_architecture("sparse_mlp", SparseInputMLP)


def train_rules(recipe: Recipe, **options) -> recipes.TrainedModel:
    """The plain classifier trainer, then the three feature rankings saved with the artifact."""
    trained = recipes.train_classifier(recipe, **options)
    if options.get("on_stage"):
        options["on_stage"]("Ranking the features (integrated gradients, feature ablation, permutation)")
    ranker = rx.rank_features(trained, options.get("seed", 0))
    ranking = {"methods": list(ranker.importances_), "n_repeats": ranker.n_repeats, "max_samples": ranker.max_samples, "n_steps": ranker.n_steps}
    artifact = options["store"].add_file(recipe.name, rx.RANKING_FILE, ranker.to_arrays(), {"rules_ranking": ranking})
    trained.artifact, trained.manifest = artifact, artifact.manifest
    return trained


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


def _user_recipe(args) -> tuple[Recipe, object]:
    from interp_core.data import load_user_file

    dataset = load_user_file(args.data, target=args.target)
    if dataset.modality not in ("tabular", "image"):
        raise RecipeError(f"explain rules needs a table (CSV with --target) or images; '{args.data}' holds {dataset.modality} data.")
    return user_recipe(dataset), dataset


def user_recipe(dataset) -> Recipe:
    """The family's default black box for a user's table or images: a group-lasso MLP."""
    return Recipe(f"user-{dataset.name}-rules", "rules", dataset.name, "sparse_mlp", {"hidden": [64], "dropout": 0.1, "group_lasso": 1e-3},
                  {"epochs": 100, "patience": 20}, f"Group-lasso MLP on {dataset.source}", trainer="rules")


def explain_rules(args: argparse.Namespace) -> dict:
    """``explain rules [RECIPE] [--data F --target COL] [--k N] [--depth N]``: the surrogate's numbers and rules."""
    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; a recipe names its own dataset.")
    catalog = catalog_at(args.store)
    if args.data:
        recipe, dataset = _user_recipe(args)
        trained = recipes.train(recipe, store=catalog.store, dataset=dataset, device=args.device, seed=args.seed, umap=False)
    elif args.recipe:
        recipe = recipes.get_recipe(args.recipe)
        trained = recipes.train_or_load(recipe, catalog, device=args.device, seed=args.seed, umap=False)
    else:
        names = ", ".join(r.name for r in recipes.list_recipes("rules"))
        raise RecipeError(f"explain rules needs a RECIPE ({names}) or --data FILE --target COLUMN.")
    if not trained.is_classifier:
        raise RecipeError(f"explain rules needs a classifier recipe; '{trained.name}' is not one.")
    data = rx.model_data(trained)
    k, depth = rx.default_setting(trained.name, data.X_train.shape[1])
    k = args.k if getattr(args, "k", None) is not None else k
    depth = args.depth if getattr(args, "depth", None) is not None else depth
    ranker = rx.stored_ranker(trained, catalog.store_for(trained.artifact))
    report = rx.report_for(data, ranker, k, depth, "tree")
    rule_list = rx.report_for(data, ranker, k, depth, "rulelist")
    importance = ranker.importance("combined")
    result = {
        "recipe": trained.name,
        **report.summary(),
        "top_importance": [round(float(v), 6) for v in importance.mean[report.top_indices]],
        "rulelist": {key: rule_list.summary()[key] for key in ("fidelity", "surrogate_accuracy", "n_rules", "rules")}
        | {"positive_class": rule_list.class_names[-1]},
    }
    if not args.json:
        _print_report(result)
    return result


def _print_report(result: dict) -> None:
    out = sys.stdout
    print(f"{result['recipe']}: black box accuracy {result['blackbox_accuracy']:.3f}, surrogate tree (k={result['k']}, depth={result['depth']}) "
          f"accuracy {result['surrogate_accuracy']:.3f}, fidelity {result['fidelity']:.3f} on {result['n_test']} held-out examples", file=out)
    print("top features: " + ", ".join(result["top_features"]), file=out)
    print(f"{result['n_rules']} rules (largest coverage first):", file=out)
    for rule in result["rules"]:
        print(f"  {rule}", file=out)
    rl = result["rulelist"]
    print(f"rule list (imodels, {rl['positive_class']} or not): fidelity {rl['fidelity']:.3f}, {rl['n_rules']} rules", file=out)


def bench_rules(args: argparse.Namespace) -> dict:
    """``bench rules``: seconds for what the page does on a cold cache, per shipped recipe, and for
    the rankings it reads instead of computing (the reason they are stored with the model)."""
    import time

    catalog = catalog_at(args.store)
    names = [r.name for r in recipes.list_recipes("rules")]
    names = names[:2] if args.quick else names
    rows = {}
    for name in names:
        timings = {}

        def timed(label, fn):
            start = time.perf_counter()
            value = fn()
            timings[label] = round(time.perf_counter() - start, 4)
            return value

        trained = timed("load_s", lambda: recipes.load(name, catalog, device=args.device))
        data = timed("predictions_s", lambda: rx.model_data(trained))
        ranker = timed("stored_ranking_s", lambda: rx.stored_ranker(trained, catalog.store_for(trained.artifact)))
        k, depth = rx.default_setting(name, data.X_train.shape[1])
        report = timed("tree_s", lambda: rx.report_for(data, ranker, k, depth, "tree"))
        timed("rule_list_s", lambda: rx.report_for(data, ranker, k, depth, "rulelist"))
        timed("depth_curve_s", lambda: rx.tradeoff_for(data, ranker, "depth", k, depth))
        timed("k_curve_s", lambda: rx.tradeoff_for(data, ranker, "k", k, depth))
        blackbox = rx.BlackBox.from_trained(trained)
        timed("counterfactual_s", lambda: rx.nearest_counterfactual(report.surrogate, data.X_test[0], data.scale, blackbox))
        timed("ranking_from_scratch_s", lambda: rx.rank_features(trained, trained.manifest.get("seed", 0)))
        timings["page_compute_s"] = round(sum(v for key, v in timings.items() if key not in ("ranking_from_scratch_s",)), 4)
        timings["n_features"] = int(data.X_train.shape[1])
        rows[name] = timings
        if not args.json:
            print(f"{name:<22} " + "  ".join(f"{key}={value}" for key, value in timings.items()))
    from interp_core.device import device_name

    return {"rules": rows, "device": device_name(args.device)}


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
