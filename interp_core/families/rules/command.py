"""``explain rules``: the CLI handler, and the family's default black box for a user's data."""

from __future__ import annotations

import argparse
import sys

from interp_core import recipes
from interp_core.errors import RecipeError
from interp_core.families.rules import explain as rx
from interp_core.recipes import Recipe
from interp_core.store import catalog_at


def _user_recipe(args) -> tuple[Recipe, object]:
    from interp_core.userdata import read_user_file

    dataset = read_user_file(args.data, "rules", target=args.target)  # the app's rule: a 3-D X is grey images
    return user_recipe(_table(dataset, args.data)), dataset


def _table(dataset, source):
    if dataset.modality not in ("tabular", "image"):
        raise RecipeError(f"explain rules needs a table (CSV with --target) or images; '{source}' holds {dataset.modality} data.")
    return dataset


def user_recipe(dataset) -> Recipe:
    """The family's default black box for a user's table or images: a group-lasso MLP."""
    return Recipe(f"user-{dataset.name}-rules", "rules", dataset.name, "sparse_mlp", {"hidden": [64], "dropout": 0.1, "group_lasso": 1e-3},
                  {"epochs": 100, "patience": 20}, f"Group-lasso MLP on {dataset.source}", trainer="rules")


def explain_rules(args: argparse.Namespace) -> dict:
    """``explain rules [RECIPE] [--data F --target COL] [--k N] [--depth N]``: the surrogate's numbers and rules."""
    if args.recipe and args.data and not getattr(args, "model", None):  # with --model, foreign_from_args says it
        raise RecipeError("Give either a RECIPE or --data, not both; a recipe names its own dataset.")
    catalog = catalog_at(args.store)
    if getattr(args, "model", None):  # the user's own classifier on the user's table
        from interp_core.userdata import foreign_from_args

        trained = foreign_from_args(args, "rules")
        _table(trained.dataset, args.data)
    elif args.data:
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
    if "loaded" in trained.extras:
        result["model"] = trained.extras["loaded"].description()
        result["test_accuracy"] = trained.metrics["test_accuracy"]
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
