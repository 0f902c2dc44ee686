"""The CLI: ``python -m interp_core explain concepts [RECIPE] [--data file.npz] --json``."""

from __future__ import annotations

import argparse

import numpy as np

from interp_core import recipes
from interp_core.data import Dataset
from interp_core.errors import RecipeError
from interp_core.families.concepts import explain as explain
from interp_core.families.concepts.sections import tcav_check
from interp_core.families.concepts.train import FAMILY, user_recipes
from interp_core.store import catalog_at

DEFAULT_RECIPE = "shapes-cnn"
# A classifier recipe and the bottleneck model on the same data explain each other on the page and in the CLI.
PAIRS = {"shapes-cnn": "shapes-cbm", "shapes-cbm": "shapes-cnn", "breast-cancer-concept-mlp": "breast-cancer-cbm", "breast-cancer-cbm": "breast-cancer-concept-mlp"}


def _user_dataset(path: str, target: str | None) -> Dataset:
    """A table or images with concept labels; a 3-D X is grey images here (the app's rule)."""
    from interp_core.userdata import read_user_file

    return read_user_file(path, FAMILY, target=target)


def explain_concepts(args: argparse.Namespace) -> dict:
    import sys

    if getattr(args, "model", None):
        return _explain_user_model(args)
    catalog = catalog_at(args.store)
    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; a recipe names its own dataset.")
    if args.data:
        dataset = _user_dataset(args.data, args.target)
        explain.check_binary_concepts(dataset.concepts_train, f"'{args.data}'")
        classifier_recipe, cbm_recipe = user_recipes(dataset)
        options = dict(store=catalog.store, dataset=dataset, device=args.device, seed=args.seed, umap=False)
        print(f"training {classifier_recipe.name} and {cbm_recipe.name} on {dataset.name}...", file=sys.stderr)
        tcav_model = recipes.train(classifier_recipe, **options)
        cbm_model = recipes.train(cbm_recipe, **options)
    else:
        name = args.recipe or DEFAULT_RECIPE
        recipe = recipes.get_recipe(name)
        if recipe.family != FAMILY:
            names = ", ".join(r.name for r in recipes.list_recipes(FAMILY))
            raise RecipeError(f"'{name}' is not a Concepts recipe; expected one of: {names}.")
        tcav_model = recipes.train_or_load(recipe, catalog, device=args.device, seed=args.seed, umap=False)
        cbm_model = tcav_model if tcav_model.extras.get("kind") == "cbm" else recipes.train_or_load(PAIRS[name], catalog, device=args.device, seed=args.seed, umap=False)
    result: explain.TCAVResult = tcav_model.extras["tcav"]
    runs = getattr(args, "random_runs", None)
    if runs and runs != result.run_scores.shape[-1]:
        from interp_core.families.concepts.train import compute_tcav, tcav_settings

        print(f"recomputing TCAV of {tcav_model.name} against {runs} random sets...", file=sys.stderr)
        settings = {**tcav_settings(tcav_model.manifest.get("train_config", {})), "n_random": runs}
        result = compute_tcav(tcav_model.model, tcav_model.dataset, settings, args.seed, tcav_model.device)
    check = tcav_check(tcav_model, result)
    mode = cbm_model.extras["mode"]
    report: explain.CBMReport = cbm_model.extras["cbm_reports"][mode]
    out = {
        "tcav_recipe": tcav_model.name,
        "cbm_recipe": cbm_model.name,
        **_tcav_keys(result, check),
        "cbm_task_accuracy": round(report.task_accuracy, 6),
        "cbm_concept_accuracy": round(report.mean_concept_accuracy, 6),
        "intervention_curve": [round(float(a), 6) for a in report.curves["random"].accuracy],
        "intervention_curve_uncertain_first": [round(float(a), 6) for a in report.curves["uncertain"].accuracy],
        "cbm_mode": mode,
        "cbm_modes": {name: {"task_accuracy": round(r.task_accuracy, 6), "concept_accuracy": round(r.mean_concept_accuracy, 6), "intervention_curve": [round(float(a), 6) for a in r.curves["random"].accuracy]} for name, r in cbm_model.extras["cbm_reports"].items()},
        "per_concept_accuracy": {c: round(float(a), 6) for c, a in zip(cbm_model.dataset.concept_names, report.concept_accuracy)},
        "classifier_test_accuracy": tcav_model.metrics.get("test_accuracy"),
        "device": tcav_model.device.type,
    }
    if not args.json:
        _print_summary(out, result)
    return out


def _tcav_keys(result: explain.TCAVResult, check) -> dict:
    """The TCAV part of ``explain concepts --json``: the rows (with their check) and the counts."""
    return {
        "tcav": [{**row, **extra} for row, extra in zip(result.to_records(), check.rows(result))],
        "tcav_cace_agreement": _rounded(check.agreement) if check.effect.causal else None,
        "tcav_effect_agreement": _rounded(check.agreement),
        "independent_flagged": _rounded(check.independent_flagged),
        "independent_concepts": check.independent,
        "p_value_adjustment": check.adjustment,
        "significant_raw": int(result.significant.sum()),
        "significant_adjusted": int(check.significant_adjusted.sum()),
        "n_tests": int((~np.isnan(result.p_values)).sum()),
        "effect_method": check.effect.method,
        "n_random": int(result.run_scores.shape[-1]),
        "alpha": result.alpha,
    }


# keys of a recipe's run that need the concept bottleneck model the family trains beside it: null for a user's model
CBM_KEYS = ("cbm_recipe", "cbm_task_accuracy", "cbm_concept_accuracy", "intervention_curve", "intervention_curve_uncertain_first", "cbm_mode", "cbm_modes", "per_concept_accuracy")


def _explain_user_model(args: argparse.Namespace) -> dict:
    """``explain concepts --model PATH --data FILE [--layer NAME]``: TCAV of the data's concepts at a layer of the user's model."""
    import sys

    from interp_core.families.concepts.foreign import foreign_tcav
    from interp_core.userdata import foreign_from_args

    trained = foreign_from_args(args, FAMILY)
    print(f"TCAV at layer '{trained.model.layer}' of {trained.extras['loaded'].summary.file}...", file=sys.stderr)
    found = foreign_tcav(trained, n_random=getattr(args, "random_runs", None), seed=args.seed)
    accuracy = trained.metrics.get("test_accuracy")
    out = {"model": trained.extras["loaded"].description(), "layer": trained.model.layer, "tcav_recipe": None, **dict.fromkeys(CBM_KEYS),
           **_tcav_keys(found.result, found.check), "classifier_test_accuracy": accuracy, "test_accuracy": accuracy, "device": trained.device.type}
    if not args.json:
        _print_summary(out, found.result)
    return out


def _rounded(value):
    return None if value is None else round(float(value), 6)


def _print_summary(out: dict, result: explain.TCAVResult) -> None:
    explained = out["tcav_recipe"] or f"layer '{out['layer']}' of {out['model']['path']}"
    print(f"TCAV of {explained} ({out['n_random']} random sets, two-sided t-test, alpha {out['alpha']}); * = significant")
    table = result.table()
    for cls in result.class_names:
        print(f"\nclass {cls}")
        part = table[table["class"] == cls].pivot(index="concept", columns="layer", values="score").reindex(index=result.concept_names, columns=result.layer_names)
        marks = table[table["class"] == cls].pivot(index="concept", columns="layer", values="significant").reindex(index=result.concept_names, columns=result.layer_names)
        print(f"  {'concept':<18}" + "".join(f"{layer:>12}" for layer in result.layer_names))
        for concept in result.concept_names:
            cells = "".join(f"{part.loc[concept, layer]:>11.2f}{'*' if marks.loc[concept, layer] else ' '}" for layer in result.layer_names)
            print(f"  {concept:<18}{cells}")
    agreement = out["tcav_effect_agreement"]
    print(f"\n{out['significant_raw']} of {out['n_tests']} tests significant at alpha {out['alpha']}, {out['significant_adjusted']} after {out['p_value_adjustment']}'s adjustment for the {out['n_tests']} tests.")
    if agreement is not None:
        print(f"Checked against each concept's effect on the class logit ({out['effect_method']}): {agreement:.0%} of TCAV verdicts agree.")
    if out["independent_flagged"] is not None:
        print(f"Concepts drawn independently of the class ({', '.join(out['independent_concepts'])}): {out['independent_flagged']:.0%} of their tests still significant after adjustment.")
    if out["cbm_recipe"] is None:
        return
    print(f"\nCBM {out['cbm_recipe']} ({out['cbm_mode']}): task accuracy {out['cbm_task_accuracy']:.3f}, concept accuracy {out['cbm_concept_accuracy']:.3f}")
    print("intervention curve (0 .. all concepts corrected): " + " ".join(f"{a:.3f}" for a in out["intervention_curve"]))
