"""The Concepts page's global views as report sections: drawn by the page, the HTML report
(``python -m interp_core report``) and Compare from the same stored analyses and figure builders.
"""

from __future__ import annotations


from interp_core.report import Figure, Section, Table, metrics_table
from interp_core.sections import frame as _frame
from interp_core.store import Catalog


def sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.concepts import TRUTH
    from interp_core.families.concepts import figures as figs

    sections = []
    result = trained.extras.get("tcav")
    dataset = trained.dataset
    if result is not None:
        truth = TRUTH.get(dataset.name)
        tcav = Section("TCAV: which concepts each class is sensitive to")
        tcav.items.append(metrics_table({"significant TCAV tests": f"{int(result.significant.sum())} / {result.significant.size}", "random runs": result.run_scores.shape[-1]}, "Key numbers"))
        for k in range(len(result.class_names)):
            tcav.items.append(Figure(figs.tcav_bars(result, k, truth), "tcav_bars"))
        for layer in range(len(result.layer_names)):
            tcav.items.append(Figure(figs.tcav_heatmap(result, layer, truth), "tcav_heatmap"))
        sections.append(tcav)
    if trained.extras.get("kind") == "cbm":
        reports = trained.extras["cbm_reports"]
        main_mode = trained.extras["mode"]
        cbm = Section("Concept bottleneck: accuracy and intervention")
        cbm.items.append(Table("Training modes", _frame([
            {"mode": m + (" (this recipe's model)" if m == main_mode else ""), "task accuracy": r.task_accuracy, "concept accuracy": r.mean_concept_accuracy,
             "all concepts corrected": r.curves["random"].accuracy[-1], "gain from correcting": r.curves["random"].accuracy[-1] - r.curves["random"].accuracy[0]}
            for m, r in reports.items()])))
        cbm.items.append(Figure(figs.intervention_curves(reports, main_mode), "intervention_curve"))
        report = reports[main_mode]
        cbm.items.append(Figure(figs.concept_accuracy(dataset.concept_names, report.concept_accuracy, report.concept_baseline, main_mode), "concept_accuracy"))
        head = trained.extras["cbm_models"][main_mode].head
        if len(head) == 1:
            cbm.items.append(Figure(figs.head_weights(head[0].weight.detach().cpu().numpy(), dataset.concept_names, dataset.class_names), "head_weights"))
        sections.append(cbm)
    return sections
