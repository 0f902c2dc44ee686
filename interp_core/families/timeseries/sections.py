"""The Time series page's global views as report sections: drawn by the page, the HTML report
(``python -m interp_core report``) and Compare from the same stored analyses and figure builders.
"""

from __future__ import annotations


from interp_core.report import Figure, Section, Table, Text, metrics_table
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog


def sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.timeseries import explain as tsx
    from interp_core.families.timeseries.figures import auprc_bars, class_profile, explanation_map, faithfulness_curves

    report = tsx.stored_report(_store(trained, catalog), trained.artifact)
    if report is None:
        return [Section("Attributions", [Text("This artifact has no stored attribution report; open the Time series page once or retrain it to compute one.")])]
    dataset = trained.dataset
    table = report.table()
    section = Section("How the attribution methods compare", intro=f"Every method on {len(report.example_index)} test series, each explained toward its true class.")
    view = table.drop(columns=["method"]).rename(columns={
        "label": "method", "auprc": "AUPRC", "aup": "AUP", "aur": "AUR", "deletion_auc": "deletion area (lower is better)",
        "insertion_auc": "insertion area (higher is better)", "series_per_s": "series / s",
    })
    section.items.append(Table("Scores per method", view))
    if report.has_masks:
        published = {f"TimeX paper, {tsx.method_label(k) if k in tsx.METHODS else 'TimeX'}": v for k, v in (tsx.TIMEX_PUBLISHED.get(dataset.name) or {}).items()}
        section.items.append(Figure(auprc_bars(table, published), "auprc_bars"))
    curves = {row.label: (report.arrays[row.method]["deletion_curve"], report.arrays[row.method]["insertion_curve"]) for row in table.itertuples()}
    section.items.append(Figure(faithfulness_curves(report.fractions, curves), "faithfulness_curves"))
    where = Section("Where each method looks, and which series it explains alike")
    for method in [m for m in report.methods if m != tsx.RANDOM]:
        arrays = report.arrays[method]
        where.items.append(Figure(class_profile(arrays["profile"], dataset.class_names, dataset.feature_names, title=f"Class-average profile: {tsx.method_label(method)}"), "class_profile"))
        if "map" in arrays:
            fig = explanation_map(arrays["map"], report.example_index, report.labels, report.predictions, dataset.class_names,
                                  color_by="class", selected=None, title=f"Explanation map: {tsx.method_label(method)}", method=(report.map_method or "pca").upper())
            where.items.append(Figure(fig, "explanation_map"))
    published = tsx.UCR_PUBLISHED.get(dataset.name)
    if published:
        section.items.insert(0, metrics_table({"test accuracy": trained.metrics["test_accuracy"], "published FCN": published[0], "published ResNet": published[1]}, "Accuracy beside published results (dl-4-tsc)"))
    return [section, where]
