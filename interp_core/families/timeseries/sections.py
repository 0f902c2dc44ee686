"""The Time series page's global views as report sections, one builder per page block: the page
draws them with its settings (the methods picked for the profile and the map, the colouring, the
series in view), the HTML report (``python -m interp_core report``) and Compare draw them through
``sections`` from the same stored attribution report and figure builders.

Each builder is pure: it takes the stored report and dataset (and the user's settings) and returns
a ``Section``. The per-series attributions of the page's "Series N" block are computed on demand
for the series in view and stay on the page.
"""

from __future__ import annotations

import pandas as pd

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.families.timeseries.figures import auprc_bars, class_profile, explanation_map, faithfulness_curves
from interp_core.report import Figure, Metric, Metrics, Section, Table, Text
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog

HEADLINE = "Headline numbers"
COMPARE = "How the methods compare"
WHERE = "Where each method looks, and which series it explains alike"
PUBLISHED = "Accuracy beside published results"
PUBLISHED_NOTE = ("Published: UCR/UEA test accuracy from dl-4-tsc (Ismail Fawaz et al. 2019), same train/test split. Synthetic sets and BasicMotions "
                  "have no published figure in our references. ArrowHead is measured by the benchmark (docs/timeseries.md), not shipped.")


def headline_section(metrics: dict, dataset, report: tsx.AttributionReport, description: str = "") -> Section:
    """Test accuracy beside the published one, and the best method by ground truth (synthetic sets)
    or by deletion area (every set). ``description``: the recipe's, shown before the dataset's."""
    table = report.table()
    scored = table[table["method"] != tsx.RANDOM]
    published_acc = tsx.UCR_PUBLISHED.get(dataset.name)
    published_auprc = tsx.TIMEX_PUBLISHED.get(dataset.name)
    values = [Metric("Test accuracy", f"{metrics['test_accuracy']:.3f}")]
    if published_acc:
        values.append(Metric("Published FCN / ResNet", f"{published_acc[0]:.3f} / {published_acc[1]:.3f}", "UCR/UEA test accuracy reported by dl-4-tsc (Ismail Fawaz et al. 2019)."))
    else:
        values.append(Metric("Channels x steps", f"{dataset.input_shape[0]} x {dataset.input_shape[1]}"))
    if report.has_masks:
        best = scored.loc[scored["auprc"].idxmax()]
        values.append(Metric("Best AUPRC", f"{best['auprc']:.3f}", f"{best['label']}; random attribution scores {table.set_index('method').loc[tsx.RANDOM, 'auprc']:.3f}."))
        if published_auprc:
            values.append(Metric("TimeX paper AUPRC", f"{published_auprc['integrated_gradients']:.3f} / {published_auprc['timex']:.3f}",
                                 "Integrated Gradients / TimeX, as the TimeX paper reports them on its own version of this set (5000/1000 series, a transformer)."))
    else:
        best = scored.loc[scored["deletion_auc"].idxmin()]
        values.append(Metric("Lowest deletion area", f"{best['deletion_auc']:.3f}",
                             f"{best['label']}: the most faithful method without ground truth: deleting the steps it points at first lowers the class probability fastest."))
        values.append(Metric("Series scored", f"{len(report.example_index)}"))
    return Section(HEADLINE, [Metrics(values)], intro=" ".join(part for part in (description, dataset.description) if part))


def comparison_section(report: tsx.AttributionReport, dataset_name: str) -> Section:
    """Every method's mean scores on the stored test series, the AUPRC bars beside the TimeX paper's
    for ``dataset_name`` (synthetic sets) and the deletion / insertion curves. The table keeps the report's column names
    (auprc, deletion_auc, series_per_s, ...); the intro says what they mean."""
    table = report.table()
    has_truth = report.has_masks
    intro = (
        f"Every method on {len(report.example_index)} test series, each explained toward its true class (as TimeX scores). "
        + ("AUPRC, AUP and AUR: agreement with the ground-truth mask after min-max scaling each map (1 is perfect). " if has_truth else "")
        + "Deletion and insertion areas: see the curves below. Series per second: attribution speed on "
        + f"{'a GPU' if report.device == 'cuda' else 'the CPU'} when the model was stored."
    )
    shown = table.drop(columns=["method"]).rename(columns={"label": "method"})
    shown["series_per_s"] = [_number(v, ".1f") for v in shown["series_per_s"]]  # the random reference has no speed: "—", not None
    items = [Table("Scores per method", shown)]
    if has_truth:
        published = {f"TimeX paper, {tsx.method_label(k) if k in tsx.METHODS else 'TimeX'}": v for k, v in (tsx.TIMEX_PUBLISHED.get(dataset_name) or {}).items()}
        items.append(Figure(auprc_bars(table, published), "auprc_bars"))
    curves = {row.label: (report.arrays[row.method]["deletion_curve"], report.arrays[row.method]["insertion_curve"]) for row in table.itertuples()}
    items.append(Figure(faithfulness_curves(report.fractions, curves), "faithfulness_curves"))
    return Section(COMPARE, items, intro=intro)


def where_section(report: tsx.AttributionReport, dataset, profile_methods, map_methods, colour: str = "class", selected: int | None = None) -> Section:
    """The class-average profile of each of ``profile_methods``, then the explanation map of each
    of ``map_methods`` (those with a stored map), coloured by ``colour`` ("class" or "prediction")
    with test series ``selected`` ringed. The page passes the one method of each it shows."""
    items = []
    for method in profile_methods:
        title = f"Class-average profile: {tsx.method_label(method)}"
        items.append(Figure(class_profile(report.arrays[method]["profile"], dataset.class_names, dataset.feature_names, title=title), "class_profile"))
    for method in (m for m in map_methods if "map" in report.arrays[m]):
        fig = explanation_map(report.arrays[method]["map"], report.example_index, report.labels, report.predictions, dataset.class_names,
                              color_by=colour, selected=selected, title=f"Explanation map: {tsx.method_label(method)}", method=(report.map_method or "pca").upper())
        items.append(Figure(fig, "explanation_map"))
    return Section(WHERE, items)


def published_section(catalog: Catalog) -> Section:
    """Every time-series recipe's test accuracy (as the catalog holds it) beside dl-4-tsc's FCN and ResNet."""
    rows = []
    for recipe in recipes.list_recipes("timeseries"):
        status = recipes.recipe_status(recipe, catalog)
        fcn, resnet = tsx.UCR_PUBLISHED.get(recipe.dataset, (None, None))
        rows.append({"recipe": recipe.name, "dataset": recipe.dataset, "architecture": recipe.arch, "test accuracy": status["test_accuracy"],
                     "published FCN": _number(fcn, ".3f"), "published ResNet": _number(resnet, ".3f"), "status": status["status"]})
    return Section(PUBLISHED, [Table("", pd.DataFrame(rows), PUBLISHED_NOTE)])


def _number(value, spec: str) -> str:
    """A table cell: the number in ``spec`` format, "—" where there is none (no published figure, no speed)."""
    return "—" if value is None or value != value else format(float(value), spec)


def methods_with_map(report: tsx.AttributionReport) -> list[str]:
    """The stored methods that have an explanation map."""
    return [m for m in report.methods if "map" in report.arrays[m]]


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page's sections, with the profile and map of every method but the random reference."""
    report = tsx.stored_report(_store(trained, catalog), trained.artifact)
    if report is None:
        return [Section("Attributions", [Text("This artifact has no stored attribution report; open the Time series page once or retrain it to compute one.")])]
    dataset = trained.dataset
    methods = [m for m in report.methods if m != tsx.RANDOM]
    return [
        headline_section(trained.metrics, dataset, report, trained.manifest.get("description", "")),
        comparison_section(report, dataset.name),
        where_section(report, dataset, methods, methods),
        published_section(catalog),
    ]
