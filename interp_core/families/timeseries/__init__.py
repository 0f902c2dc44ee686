"""The Time-series family: datasets, architectures, recipes, a trainer that stores every
attribution method's scores with the model (train.py), ``explain timeseries`` (alias ``attributions``) (command.py) and
``bench timeseries`` (bench.py)."""

from __future__ import annotations

from dataclasses import replace

from interp_core import recipes
from interp_core.data import register_dataset
from interp_core.errors import DataError
from interp_core.families.timeseries import data as tsdata
from interp_core.families.timeseries.bench import bench_timeseries
from interp_core.families.timeseries.command import explain_timeseries
from interp_core.families.timeseries.models import MaskedFCN1d, SeriesTransformer
from interp_core.families.timeseries.sections import sections as family_sections
from interp_core.families.timeseries.train import DEFAULT_USER_RECIPE, FAMILY, FCN, train_timeseries, user_recipe
from interp_core.family import Family, Uploads, register_family
from interp_core.models import register_architecture
from interp_core.recipes import Recipe, Trainer, register, register_trainer
from interp_core.families.timeseries.explain.report import REPORT_ARRAYS, REPORT_META

__all__ = ["DEFAULT_USER_RECIPE", "FAMILY", "FCN", "bench_timeseries", "explain_timeseries", "train_timeseries", "user_recipe"]


# -- datasets and architectures -------------------------------------------------------------------
for _name in tsdata.GENERATORS:
    register_dataset(_name, (lambda n=_name: tsdata.synthetic(n)), tsdata.GENERATORS[_name][2].split(":")[0] + " (generated, ground-truth masks)")
register_dataset("arrowhead", tsdata.load_arrow_head, "univariate series, 251 steps, 3 classes (aeon)")
register_dataset("italy_power", tsdata.load_italy_power, "univariate series, 24 steps, 2 classes (aeon)")
register_dataset("japanese_vowels", tsdata.load_japanese_vowels, "12-channel series, 7-29 steps padded to 29 + observed channel, 9 classes (aeon)")
register_architecture("ts-transformer", SeriesTransformer)
register_architecture("fcn-masked", MaskedFCN1d)


# -- trainer: the shared classifier trainer, then every method scored and stored ------------------
register_trainer(FAMILY, Trainer(train_timeseries, recipes.load_classifier))

# -- recipes --------------------------------------------------------------------------------------
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


def upload_defaults(dataset) -> list:
    """The page's default classifier for uploaded series, scored by every attribution method at train time."""
    if dataset.modality != "series":
        raise DataError(f"Time series needs series, X shaped (n, time) or (n, channels, time) in an NPZ; this file holds {dataset.modality} data.")
    return [(replace(user_recipe(dataset), trainer=FAMILY), None)]


register_family(Family(
    FAMILY, "Time series", icon=":material/show_chart:", url_path="time-series",
    pitch="Which part of a signal drove a classification: attributions scored against ground truth.",
    aliases=("attributions",), explain=explain_timeseries, benches={FAMILY: bench_timeseries}, sections=family_sections,
    compare_pair=("gunpoint-cnn", "gunpoint-transformer"), trainers=(FAMILY,),
    artifacts={REPORT_META: "every attribution method's scores on the test set", REPORT_ARRAYS: "the attributions, maps and curves behind them"},
    uploads=Uploads(
        accepts="an NPZ with X, series (n, time) or (n, channels, time), and y; an optional mask (the shape of X) marks the truly relevant steps and adds ground-truth scores.",
        model_label="time-series classifier (FCN)", defaults=upload_defaults, modality_3d="series"),
))
