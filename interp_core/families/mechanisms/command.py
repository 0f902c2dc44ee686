"""The CLI: ``python -m interp_core explain mechanisms [RECIPE] --json`` (older name: ``groups``)."""

from __future__ import annotations

from interp_core import recipes
from interp_core.errors import RecipeError
from interp_core.families.mechanisms import explain as explain
from interp_core.families.mechanisms.data import get_group
from interp_core.families.mechanisms.train import FAMILY
from interp_core.recipes import Recipe
from interp_core.store import catalog_at
from interp_core.families.mechanisms.artifacts import read_split


def _group_recipe(name: str | None) -> Recipe:
    names = [r.name for r in recipes.list_recipes(FAMILY)]
    recipe = recipes.get_recipe(name or "z113-mlp")
    if recipe.family != FAMILY:
        raise RecipeError(f"'{recipe.name}' is not a group-operations recipe; expected one of: {', '.join(names)}.")
    return recipe


def explain_mechanisms(args) -> dict:
    """``explain mechanisms [RECIPE]``: recompute the explanation of a trained group network and its checks."""
    if getattr(args, "data", None):
        raise RecipeError(f"explain {args.kind} works on the group recipes (e.g. z113-mlp), not on --data files; the datasets are generated from the group.")
    recipe = _group_recipe(args.recipe)
    trained = recipes.train_or_load(recipe, catalog_at(args.store), device=args.device, seed=args.seed)
    store = catalog_at(args.store).store_for(trained.artifact)
    split = read_split(trained.artifact, store)
    config = trained.manifest.get("train_config", {})
    key = trained.extras["group"]
    report, decomposition, _ = explain.analyse(trained.model.cpu().parts(), key, split, config.get("coverage", 0.9), config.get("prune_threshold", 0.5))
    bound = report.bound
    result = {
        "recipe": recipe.name,
        "group": get_group(key).title,
        "train_accuracy": report.train_accuracy,
        "test_accuracy": report.test_accuracy,
        "brute_force_accuracy": report.brute_force_accuracy,
        "explained_accuracy": report.explained_accuracy,
        "key_irreps": report.key_irreps,
        "bound": None if bound is None else bound["accuracy"],
        "memorising_neurons": report.memorising_neurons,
        "without_key_accuracy": report.without_key_accuracy,
        "key_share": report.key_share,
        "equivariance": report.equivariance,
        "bound_cost_ratio": None if bound is None else bound["cost_ratio"],
        "bound_seconds": None if bound is None else bound["seconds"],
        "brute_force_seconds": None if bound is None else bound["brute_force_seconds"],
        "pruning": {
            name: {"before": before, "after_pruning": after, "key_irreps_only": key_only, "pairs": pairs}
            for name, before, after, key_only, pairs in zip(*(report.pruning["accuracies"][c] for c in ("pairs scored", "before", "after", "key irreps only", "pairs")))
        },
        "recorded_test_accuracy": trained.metrics.get("test_accuracy"),
        "status": trained.status,
    }
    if not args.json:
        print(f"{recipe.name}: {result['group']} ({trained.status})")
        print(f"  train {report.train_accuracy:.4f}  held-out {report.test_accuracy:.4f}  brute force (all pairs) {report.brute_force_accuracy:.4f}")
        print(f"  key irreps {', '.join(report.key_irreps)} hold {report.key_share:.1%} of the weights")
        print(f"  key irreps only {report.explained_accuracy:.4f}  key irreps removed {report.without_key_accuracy:.4f}")
        print(f"  equivariance distance left {report.equivariance['left']:.3f}  right {report.equivariance['right']:.3f}")
        if bound:
            print(f"  proved lower bound {bound['accuracy']:.4f} at {bound['cost_ratio']:.0%} of brute-force FLOPs")
        print(f"  memorising neurons (less than {config.get('prune_threshold', 0.5):.0%} of their weight in the key irreps): {len(report.memorising_neurons)}")
        print(f"    {'accuracy on':<46} {'before':>7} {'pruned':>7} {'key only':>9}")
        for name, values in result["pruning"].items():
            if values["pairs"]:
                print(f"    {name:<46} {values['before']:>7.3f} {values['after_pruning']:>7.3f} {values['key_irreps_only']:>9.3f}")
    return result
