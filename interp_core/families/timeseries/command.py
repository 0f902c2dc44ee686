"""``explain timeseries`` (alias ``attributions``): score every method on a recipe's or a user file's test series."""

from __future__ import annotations

import sys
import time

from interp_core import recipes
from interp_core.errors import DataError, RecipeError
from interp_core.families.timeseries import explain as tsx
from interp_core.families.timeseries.explain import report as tsreport
from interp_core.families.timeseries.train import FAMILY, user_recipe
from interp_core.family import family_title


def _methods_arg(args) -> list[str]:
    value = getattr(args, "methods", None)
    return tsx.resolve_methods(value) if value else list(tsx.METHODS)


def _user_model(args, store):
    from interp_core.userdata import read_user_file

    dataset = _series(read_user_file(args.data, "timeseries", target=args.target), args.data)  # the app's rule: a 2-D or 3-D X is series
    return recipes.train(user_recipe(dataset), store=store, dataset=dataset, device=args.device, seed=args.seed, umap=False)


def _series(dataset, source):
    if dataset.modality != "series":
        raise DataError(f"'{source}': X has shape {dataset.X_train.shape[1:]} per example; expected series, (n, channels, time) or (n, time).")
    return dataset


def explain_timeseries(args) -> dict:
    """``explain attributions [RECIPE] [--data FILE] [--methods ...]``: score every method on the test set."""
    from interp_core.store import Catalog, Store

    methods = None if getattr(args, "model", None) else _methods_arg(args)  # a text model's methods are token methods (_token_names)
    if args.recipe and args.data and not getattr(args, "model", None):  # with --model, foreign_from_args says it
        raise RecipeError("Give either a RECIPE or --data, not both; a recipe names its own dataset.")
    store = Store(args.store) if args.store else Store()
    if getattr(args, "model", None):  # the user's own series classifier on the user's series
        from interp_core.causal_lm import is_causal_lm
        from interp_core.modelfiles import load_model_path
        from interp_core.userdata import foreign_from_args

        loaded = None if args.recipe else load_model_path(args.model, getattr(args, "config", None))
        if loaded is not None and is_causal_lm(loaded):  # a causal LM: token attributions for its predicted next token
            return _explain_causal_tokens(args, loaded)
        trained = foreign_from_args(args, FAMILY, loaded)
        if getattr(trained.model.spec, "tokens", False):  # a Hugging Face text classifier: token attributions
            return _explain_tokens(args, trained)
        _series(trained.dataset, args.data)
        methods = _methods_arg(args)
    elif args.data:
        trained = _user_model(args, store)
    elif args.recipe:
        recipe = recipes.get_recipe(args.recipe)
        if recipe.family != FAMILY:
            raise RecipeError(f"'{args.recipe}' is a {family_title(recipe.family)} recipe; 'explain {args.kind}' needs a time-series recipe: {', '.join(r.name for r in recipes.list_recipes(FAMILY))}.")
        trained = recipes.train_or_load(recipe, Catalog(store), device=args.device, seed=args.seed)
    else:
        raise RecipeError(f"'explain {args.kind}' needs a RECIPE ({', '.join(r.name for r in recipes.list_recipes(FAMILY))}) or --data FILE.npz.")
    start = time.perf_counter()
    report = tsx.build_report(trained.model, trained.dataset, methods=methods, n_examples=tsreport.REPORT_EXAMPLES, map_method="pca", seed=args.seed, progress=stderr_progress)
    seconds = time.perf_counter() - start
    result = {
        "recipe": trained.name,
        "dataset": trained.dataset.name,
        "test_accuracy": trained.metrics["test_accuracy"],
        "n_series": int(len(report.example_index)),
        "has_ground_truth": report.has_masks,
        "target": "true class",
        "methods": report.metrics(),
        "series_per_s": {m: round(len(report.example_index) / s, 2) for m, s in report.seconds.items() if s and m != tsx.RANDOM},
        "device": report.device,
        "seconds": round(seconds, 2),
    }
    if "loaded" in trained.extras:
        result["model"] = trained.extras["loaded"].description()
    if not args.json:
        _print_table(result)
    return result


def _explain_tokens(args, trained) -> dict:
    """``explain attributions --model HF_FOLDER --data texts``: every token method on the first test texts,
    with the keys of the series' JSON (``methods`` with ``deletion_auc`` / ``insertion_auc``, no ground truth)."""
    names = _token_names(args)
    loaded = trained.extras["loaded"]
    texts = trained.dataset.extras.get("texts", [])[len(trained.dataset.X_train):]  # the test texts (train ones first)
    from interp_core.families.timeseries.explain.tokens import token_report

    start = time.perf_counter()
    report = token_report(trained.model, trained.dataset.X_test, loaded.tokenizer, trained.dataset.class_names, methods=names, seed=args.seed, progress=stderr_progress)
    return _token_result(args, report, time.perf_counter() - start, texts, loaded,
                         {"recipe": trained.name, "dataset": trained.dataset.name, "test_accuracy": trained.metrics["test_accuracy"]}, "predicted class")


def _token_names(args) -> list[str] | None:
    names = [m.strip() for m in (getattr(args, "methods", None) or "").split(",") if m.strip()] or None
    from interp_core.families.timeseries.explain.tokens import TOKEN_METHODS

    unknown = [m for m in names or [] if m not in TOKEN_METHODS and m != tsx.RANDOM]
    if unknown:
        raise RecipeError(f"Unknown token attribution method '{unknown[0]}'; for a text model expected one of: {', '.join([*TOKEN_METHODS, tsx.RANDOM])}.")
    return names


def _explain_causal_tokens(args, loaded) -> dict:
    """``explain attributions --model CAUSAL_LM --data texts``: each method's token attributions for the next token the model
    predicts after each held-out text (its "class" is that token), with deletion / insertion as for a text classifier."""
    from interp_core import causal_lm as lm
    from interp_core.families.timeseries.explain.tokens import next_token_report

    if not args.data:
        raise RecipeError("--model needs --data FILE: the texts whose next token is explained (.txt, one text a line; .jsonl; or a CSV with a text column).")
    names = _token_names(args)
    data = lm.lm_texts(loaded, args.data)
    start = time.perf_counter()
    report, accuracy = next_token_report(loaded, data, methods=names, seed=args.seed, progress=stderr_progress)
    return _token_result(args, report, time.perf_counter() - start, data.texts[data.n_train:], loaded,
                         {"recipe": None, "dataset": data.name, "test_accuracy": accuracy, "next_token_accuracy": accuracy, "model_kind": "causal-lm"}, "predicted next token")


def _token_result(args, report, seconds: float, texts, loaded, head: dict, target: str) -> dict:
    """The JSON of a token ``report`` (``tokens.TokenReport``) with the keys of the series' JSON (``methods`` with ``deletion_auc`` / ``insertion_auc``, no ground truth)."""
    result = {
        **head,
        "n_series": len(report.ids),
        "n_texts": len(report.ids),
        "has_ground_truth": False,
        "target": target,
        "replacement_token": report.replacement,
        "methods": report.metrics(),
        "series_per_s": {m: round(len(report.ids) / s, 2) for m, s in report.seconds.items() if s and m != tsx.RANDOM},
        "examples": [{"index": i, "text": texts[i] if i < len(texts) else None, "class": report.class_names[int(report.target[i])], "probability": round(float(report.probability[i]), 4),
                      "tokens": {m: [[t, round(float(a), 5)] for t, a in report.example(i, m)] for m in report.methods}} for i in range(min(3, len(report.ids)))],
        "device": "cpu",
        "seconds": round(seconds, 2),
        "model": loaded.description(),
    }
    if not args.json:
        accuracy = "no labels" if result["test_accuracy"] is None else f"test accuracy {result['test_accuracy']:.3f}"
        _print_table(result, f"{result['recipe'] or result['dataset']}: {accuracy}; token attributions of {result['n_texts']} test texts for the {target}, "
                             f"deleted / inserted as '{result['replacement_token']}' (deletion: lower is better, insertion: higher)")
    return result


def stderr_progress(text: str, share: float) -> None:
    if text != "done":
        print(f"[{share:4.0%}] {text}", file=sys.stderr, flush=True)


def _print_table(result: dict, heading: str | None = None) -> None:
    print(heading or f"{result['recipe']}: test accuracy {result['test_accuracy']:.3f}; {result['n_series']} test series scored on {result['device']}")
    header = f"{'method':<28} {'AUPRC':>7} {'AUP':>7} {'AUR':>7} {'deletion':>9} {'insertion':>9} {'series/s':>9}"
    print(header)
    print("-" * len(header))
    for m, scores in result["methods"].items():
        def cell(k, width):
            v = scores.get(k)
            return f"{v:>{width}.3f}" if v is not None else f"{'-':>{width}}"
        speed = result["series_per_s"].get(m)
        print(f"{m:<28} {cell('auprc', 7)} {cell('aup', 7)} {cell('aur', 7)} {cell('deletion_auc', 9)} {cell('insertion_auc', 9)} {(f'{speed:9.1f}' if speed else '-'):>9}")
