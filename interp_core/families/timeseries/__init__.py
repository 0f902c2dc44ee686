"""The Time-series family: datasets, architectures, recipes, a trainer that stores every
attribution method's scores with the model, ``explain attributions`` and ``bench attributions``."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np

from interp_core import recipes
from interp_core.family import Family, family_title, Uploads, register_family
from interp_core.families.timeseries.sections import sections as family_sections
from interp_core.data import register_dataset
from interp_core.families.timeseries import data as tsdata
from interp_core.errors import DataError, RecipeError
from interp_core.families.timeseries import explain as tsx
from interp_core.models import register_architecture
from interp_core.families.timeseries.models import MaskedFCN1d, SeriesTransformer
from interp_core.recipes import Recipe, Trainer, register, register_trainer

FAMILY = "timeseries"

# -- datasets and architectures -------------------------------------------------------------------
for _name in tsdata.GENERATORS:
    register_dataset(_name, (lambda n=_name: tsdata.synthetic(n)), tsdata.GENERATORS[_name][2].split(":")[0] + " (generated, ground-truth masks)")
register_dataset("arrowhead", tsdata.load_arrow_head, "univariate series, 251 steps, 3 classes (aeon)")
register_dataset("italy_power", tsdata.load_italy_power, "univariate series, 24 steps, 2 classes (aeon)")
register_dataset("japanese_vowels", tsdata.load_japanese_vowels, "12-channel series, 7-29 steps padded to 29 + observed channel, 9 classes (aeon)")
register_architecture("ts-transformer", SeriesTransformer)
register_architecture("fcn-masked", MaskedFCN1d)


# -- trainer: the shared classifier trainer, then every method scored and stored ------------------
def train_timeseries(recipe: Recipe, *, store, dataset, device, seed, epochs, progress, cancel, umap, on_stage) -> recipes.TrainedModel:
    trained = recipes.train_classifier(recipe, store=store, dataset=dataset, device=device, seed=seed, epochs=epochs, progress=progress, cancel=cancel, umap=umap, on_stage=on_stage)
    stage = on_stage or (lambda _text: None)
    _report, artifact = tsx.compute_and_store_report(store, trained.artifact, trained.model, trained.dataset, map_method="umap" if umap else "pca", seed=seed, progress=lambda text, _share: stage(f"Scoring attributions: {text}"))
    trained.artifact, trained.manifest = artifact, artifact.manifest
    return trained


register_trainer(FAMILY, Trainer(train_timeseries, recipes.load_classifier))

# -- recipes --------------------------------------------------------------------------------------
FCN = {"channels": [32, 64, 32], "kernels": [7, 5, 3]}
SYNTH_TRAIN = {"epochs": 40, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "patience": 8, "val_fraction": 0.2}
for _recipe, _dataset, _what in (
    ("freqshapes-cnn", "freqshapes", "FreqShapes (spike shape and spacing decide the class; ground truth known)"),
    ("seqcomb-uv-cnn", "seqcomb_uv", "SeqComb-UV (two ramps over a NARMA background; ground truth known)"),
    ("seqcomb-mv-cnn", "seqcomb_mv", "SeqComb-MV (two ramps in two of four channels; ground truth known)"),
    ("lowvar-cnn", "lowvar", "LowVar (a low-variance segment's channel and level; ground truth known)"),
):
    register(Recipe(_recipe, FAMILY, _dataset, "fcn", FCN, SYNTH_TRAIN, f"Fully convolutional network on {_what}.", trainer=FAMILY))
register(Recipe(
    "gunpoint-cnn", FAMILY, "gunpoint", "fcn", FCN,
    {"epochs": 150, "batch_size": 16, "lr": 2e-3, "weight_decay": 1e-4, "patience": 40, "val_fraction": 0.2},
    "Fully convolutional network on GunPoint (gun draw vs point).", trainer=FAMILY,
))
register(Recipe(
    "gunpoint-transformer", FAMILY, "gunpoint", "ts-transformer",
    {"d_model": 32, "n_heads": 4, "n_layers": 2, "d_ff": 64, "patch": 5, "dropout": 0.1},
    {"epochs": 300, "batch_size": 16, "lr": 1e-3, "weight_decay": 1e-2, "patience": 80, "val_fraction": 0.2},
    "Small transformer (5-step patches, 2 layers) on GunPoint: the same data as gunpoint-cnn, another architecture.", trainer=FAMILY,
))
register(Recipe(
    "basicmotions-cnn", FAMILY, "basic_motions", "fcn", FCN,
    {"epochs": 100, "batch_size": 8, "lr": 2e-3, "weight_decay": 1e-4, "patience": 30, "val_fraction": 0.2},
    "Fully convolutional network on BasicMotions (6 sensor channels, four activities).", trainer=FAMILY,
))
register(Recipe(
    "italypower-cnn", FAMILY, "italy_power", "fcn", FCN,
    # dl-4-tsc's protocol: no validation split (13 series would saturate at accuracy 1.0 within a
    # few epochs and stop training early); the epoch with the lowest training loss is kept.
    {"epochs": 300, "batch_size": 16, "lr": 1e-3, "weight_decay": 1e-4, "patience": 300, "val_fraction": 0.0},
    "Fully convolutional network on ItalyPowerDemand (a day of hourly loads: winter vs summer half-year).", trainer=FAMILY,
))
register(Recipe(
    "japanesevowels-cnn", FAMILY, "japanese_vowels", "fcn-masked", FCN,
    {"epochs": 150, "batch_size": 16, "lr": 2e-3, "weight_decay": 1e-4, "patience": 30, "val_fraction": 0.2},
    "Masked fully convolutional network on JapaneseVowels (variable-length, 12 channels, nine speakers; padding masked out).", trainer=FAMILY,
))

DEFAULT_USER_RECIPE = {"arch": "fcn", "model_config": FCN, "train_config": {"epochs": 100, "batch_size": 32, "lr": 2e-3, "weight_decay": 1e-4, "patience": 20, "val_fraction": 0.2}}


# -- CLI: explain attributions --------------------------------------------------------------------
def _methods_arg(args) -> list[str]:
    value = getattr(args, "methods", None)
    return tsx.resolve_methods(value) if value else list(tsx.METHODS)


def _user_model(args, store):
    from interp_core.data import load_user_file

    dataset = load_user_file(args.data, modality="series")
    if dataset.modality != "series":
        raise DataError(f"'{args.data}': X has shape {dataset.X_train.shape[1:]} per example; expected series, (n, channels, time) or (n, time).")
    return recipes.train(user_recipe(dataset), store=store, dataset=dataset, device=args.device, seed=args.seed, umap=False)


def user_recipe(dataset) -> Recipe:
    """The family's default classifier for a user's series: the FCN, scored by every method at train time."""
    return Recipe(f"user-{dataset.name}-fcn", FAMILY, dataset.name, DEFAULT_USER_RECIPE["arch"], DEFAULT_USER_RECIPE["model_config"], DEFAULT_USER_RECIPE["train_config"], f"Default FCN on {dataset.source}")


def explain_attributions(args) -> dict:
    """``explain attributions [RECIPE] [--data FILE] [--methods ...]``: score every method on the test set."""
    from interp_core.store import Catalog, Store

    methods = _methods_arg(args)
    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; a recipe names its own dataset.")
    store = Store(args.store) if args.store else Store()
    if args.data:
        trained = _user_model(args, store)
    elif args.recipe:
        recipe = recipes.get_recipe(args.recipe)
        if recipe.family != FAMILY:
            raise RecipeError(f"'{args.recipe}' is a {family_title(recipe.family)} recipe; 'explain attributions' needs a time-series recipe: {', '.join(r.name for r in recipes.list_recipes(FAMILY))}.")
        trained = recipes.train_or_load(recipe, Catalog(store), device=args.device, seed=args.seed)
    else:
        raise RecipeError(f"'explain attributions' needs a RECIPE ({', '.join(r.name for r in recipes.list_recipes(FAMILY))}) or --data FILE.npz.")
    start = time.perf_counter()
    report = tsx.build_report(trained.model, trained.dataset, methods=methods, n_examples=tsx.REPORT_EXAMPLES, map_method="pca", seed=args.seed, progress=_stderr_progress)
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
    if not args.json:
        _print_table(result)
    return result


def _stderr_progress(text: str, share: float) -> None:
    if text != "done":
        print(f"[{share:4.0%}] {text}", file=sys.stderr, flush=True)


def _print_table(result: dict) -> None:
    print(f"{result['recipe']}: test accuracy {result['test_accuracy']:.3f}; {result['n_series']} test series scored on {result['device']}")
    header = f"{'method':<28} {'AUPRC':>7} {'AUP':>7} {'AUR':>7} {'deletion':>9} {'insertion':>9} {'series/s':>9}"
    print(header)
    print("-" * len(header))
    for m, scores in result["methods"].items():
        def cell(k, width):
            v = scores.get(k)
            return f"{v:>{width}.3f}" if v is not None else f"{'-':>{width}}"
        speed = result["series_per_s"].get(m)
        print(f"{m:<28} {cell('auprc', 7)} {cell('aup', 7)} {cell('aur', 7)} {cell('deletion_auc', 9)} {cell('insertion_auc', 9)} {(f'{speed:9.1f}' if speed else '-'):>9}")





# -- benchmark: bench attributions ----------------------------------------------------------------
SYNTHETIC_RECIPES = {"freqshapes": "freqshapes-cnn", "seqcomb_uv": "seqcomb-uv-cnn", "seqcomb_mv": "seqcomb-mv-cnn", "lowvar": "lowvar-cnn"}
REAL_RECIPES = {"gunpoint-cnn": "gunpoint", "gunpoint-transformer": "gunpoint", "italypower-cnn": "italy_power", "japanesevowels-cnn": "japanese_vowels", "basicmotions-cnn": "basic_motions"}


def bench_attributions(args) -> dict:
    """AUPRC of every method on the four synthetic sets beside TimeX's published numbers, throughput
    per method, and test accuracy on the real sets beside the published FCN/ResNet figures."""
    from interp_core.device import device_name, resolve_device
    from interp_core.store import Catalog, Store

    device = resolve_device(args.device)
    catalog = Catalog(Store(args.store) if args.store else Store())
    quick = bool(getattr(args, "quick", False))
    # TSR re-runs a method once per window (up to 50) and per channel of the relevant windows, so
    # its variants are scored on fewer series; GPU runs can afford more.
    n_examples, n_tsr = (30, 0) if quick else (100, 100 if device.type == "cuda" else 25)
    plain = list(tsx.METHODS) + [tsx.RANDOM]
    rescaled = [m + tsx.TSR_SUFFIX for m in tsx.METHODS] if n_tsr else []
    out = {"device": device_name(device), "n_series": {"plain": n_examples, "tsr": n_tsr}, "target": "true class", "synthetic": {}, "real": {}}
    for dataset_name, recipe_name in SYNTHETIC_RECIPES.items():
        print(f"bench attributions: {recipe_name} on {device_name(device)}...", file=sys.stderr, flush=True)
        trained = recipes.train_or_load(recipe_name, catalog, device=device, seed=args.seed)
        rows, signed_ig = {}, float("nan")
        for methods, n in ((plain, n_examples), (rescaled, n_tsr)):
            if not methods:
                continue
            report = tsx.build_report(trained.model, trained.dataset, methods=methods, n_examples=n, map_method=None, seed=args.seed, keep_signed=True, progress=_stderr_progress)
            table = report.table().set_index("method")
            for m in methods:
                rows[m] = {"auprc": round(float(table.loc[m, "auprc"]), 4), "series_per_s": None if m == tsx.RANDOM else round(float(table.loc[m, "series_per_s"]), 2), "n_series": int(len(report.example_index))}
            if "integrated_gradients" in methods:
                signed_ig = float(np.nanmean(report.arrays["integrated_gradients"]["auprc_signed"]))
        methods = plain + rescaled
        best = max((m for m in methods if m != tsx.RANDOM), key=lambda m: rows[m]["auprc"])
        published = tsx.TIMEX_PUBLISHED[dataset_name]
        out["synthetic"][dataset_name] = {
            "recipe": recipe_name,
            "test_accuracy": trained.metrics["test_accuracy"],
            "methods": rows,
            "integrated_gradients_signed_auprc": round(signed_ig, 4),
            "published": published,
            "best_method": best,
            "best_auprc": rows[best]["auprc"],
            "best_at_or_above_timex": rows[best]["auprc"] >= published["timex"],
        }
    for recipe_name, dataset_name in REAL_RECIPES.items():
        trained = recipes.train_or_load(recipe_name, catalog, device=device, seed=args.seed)
        fcn, resnet = tsx.UCR_PUBLISHED.get(dataset_name, (None, None))
        out["real"][recipe_name] = {"dataset": dataset_name, "test_accuracy": trained.metrics["test_accuracy"], "published_fcn": fcn, "published_resnet": resnet}
    if not quick:
        out["real"]["arrowhead (FCN, not shipped)"] = _arrowhead_accuracy(device, args.seed)
    if not args.json:
        _print_bench(out)
    return out


def _arrowhead_accuracy(device, seed: int) -> dict:
    """ArrowHead is trained here, not shipped: its honest ~0.8 accuracy would sit below the hub's demo bar."""
    import tempfile

    from interp_core.store import Store

    recipe = Recipe("arrowhead-fcn-bench", FAMILY, "arrowhead", "fcn", FCN, {"epochs": 200, "batch_size": 8, "lr": 2e-3, "weight_decay": 1e-4, "patience": 50, "val_fraction": 0.2}, "bench only")
    with tempfile.TemporaryDirectory() as tmp:
        trained = recipes.train(recipe, store=Store(tmp), device=device, seed=seed, umap=False)
    fcn, resnet = tsx.UCR_PUBLISHED["arrowhead"]
    return {"dataset": "arrowhead", "test_accuracy": trained.metrics["test_accuracy"], "published_fcn": fcn, "published_resnet": resnet}


def _print_bench(out: dict) -> None:
    print(f"device: {out['device']}; AUPRC against the ground-truth masks on {out['n_series']['plain']} test series per set ({out['n_series']['tsr']} for the TSR variants)")
    for name, row in out["synthetic"].items():
        pub = row["published"]
        print(f"\n{name} ({row['recipe']}, test accuracy {row['test_accuracy']:.3f}); TimeX paper: IG {pub['integrated_gradients']:.3f}, TimeX {pub['timex']:.3f}")
        for m, r in row["methods"].items():
            speed = f"{r['series_per_s']:>9.1f} series/s" if r["series_per_s"] else ""
            print(f"  {m:<28} AUPRC {r['auprc']:.3f}   {speed}")
        print(f"  {'IG, signed (as TimeX scores it)':<28} AUPRC {row['integrated_gradients_signed_auprc']:.3f}")
        print(f"  best: {row['best_method']} {row['best_auprc']:.3f} ({'at or above' if row['best_at_or_above_timex'] else 'below'} TimeX)")
    print("\nreal sets: test accuracy (published FCN / ResNet)")
    for name, row in out["real"].items():
        pub = f"{row['published_fcn']:.3f} / {row['published_resnet']:.3f}" if row["published_fcn"] else "not published in our references"
        print(f"  {name:<32} {row['test_accuracy']:.3f}   ({pub})")


def upload_defaults(dataset) -> list:
    """The page's default classifier for uploaded series, scored by every attribution method at train time."""
    if dataset.modality != "series":
        raise DataError(f"Time series needs series, X shaped (n, time) or (n, channels, time) in an NPZ; this file holds {dataset.modality} data.")
    return [(replace(user_recipe(dataset), trainer=FAMILY), None)]


register_family(Family(
    FAMILY, "Time series", icon=":material/show_chart:", url_path="time-series",
    pitch="Which part of a signal drove a classification: attributions scored against ground truth.",
    aliases=("attributions",), explain=explain_attributions, benches={FAMILY: bench_attributions}, sections=family_sections,
    compare_pair=("gunpoint-cnn", "gunpoint-transformer"), trainers=(FAMILY,),
    uploads=Uploads(
        accepts="an NPZ with X, series (n, time) or (n, channels, time), and y; an optional mask (the shape of X) marks the truly relevant steps and adds ground-truth scores.",
        model_label="time-series classifier (FCN)", defaults=upload_defaults, modality_3d="series"),
))
