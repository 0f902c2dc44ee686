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


# -- a user's Hugging Face text classifier: token attributions (explain/tokens.py) -------------------
TOKEN_EXAMPLE = "Which tokens made the model decide"
TOKEN_FAITHFULNESS = "How faithful each method is, over the texts"


def token_sections(report, metrics: dict, example: int = 0) -> list[Section]:
    """A text classifier's page: headline numbers, text ``example``'s tokens coloured by each method, and each
    method's deletion / insertion areas and mean curves. ``report``: a ``tokens.TokenReport``."""
    from interp_core.families.timeseries.explain.tokens import token_method_label
    from interp_core.families.timeseries.figures import token_attribution

    scores = report.metrics()
    scored = [m for m in report.methods if m != tsx.RANDOM]
    best = min(scored, key=lambda m: scores[m]["deletion_auc"])
    accuracy = metrics.get("test_accuracy")
    headline = Metrics([
        Metric("Texts attributed", f"{len(report.ids)}"),
        Metric("Next-token accuracy" if "next_token_accuracy" in metrics else "Test accuracy", "no labels" if accuracy is None else f"{accuracy:.3f}"),
        Metric("Best deletion area", f"{scores[best]['deletion_auc']:.3f}",
               f"{token_method_label(best)}; random order: {scores[tsx.RANDOM]['deletion_auc']:.3f} (lower is better)" if tsx.RANDOM in scores else token_method_label(best)),
    ])
    predicted = report.class_names[int(report.target[example])]
    rows = {token_method_label(m): report.attributions[m][example] for m in report.methods}
    heat = token_attribution(report.tokens[example], rows, title=f"Text {example}: which tokens made the model say '{predicted}' ({report.probability[example]:.2f})")
    table = pd.DataFrame([{"method": token_method_label(m), **scores[m]} for m in report.methods])
    curves = {token_method_label(m): (c.deletion.mean(0), c.insertion.mean(0)) for m, c in report.curves.items()}
    fractions = next(iter(report.curves.values())).fractions
    return [
        Section(HEADLINE, [headline], intro=(
            "Every token of a text is scored by how much it pushed the model toward the class it predicts, at the model's input embeddings "
            "(Integrated Gradients from a text of pad tokens, and gradient x input). There is no ground truth for words, so each method is "
            "checked by deletion and insertion: masking the tokens it ranks first.")),
        Section(TOKEN_EXAMPLE, [Figure(heat, "token_attribution")]),
        Section(TOKEN_FAITHFULNESS, [
            Table("Deletion and insertion areas per method", table, "Deletion area: lower is better; insertion area: higher is better (means over the texts)."),
            Figure(faithfulness_curves(fractions, curves, title=f"Masking tokens as '{report.replacement}', most attributed first", unit="tokens"), "token_faithfulness"),
        ]),
    ]


def reads_tokens(trained) -> bool:
    """Whether ``trained`` is a user's text classifier (its model reads token ids)."""
    return bool(getattr(getattr(trained.model, "spec", None), "tokens", False))


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page's sections, with the profile and map of every method but the random reference."""
    if reads_tokens(trained):  # a user's text classifier: token attributions, computed here (nothing is stored for them)
        from interp_core.families.timeseries.explain.tokens import PAGE_TEXTS, token_report

        loaded = trained.extras["loaded"]
        report = token_report(trained.model, trained.dataset.X_test, loaded.tokenizer, trained.dataset.class_names, n_texts=PAGE_TEXTS)
        return token_sections(report, trained.metrics)
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
