"""The Concepts page's global views as report sections, one builder per block of the page: the key
numbers and the dataset's ground truth above the views (``overview_section``), the TCAV view
(``tcav_section``) and the concept bottleneck view (``cbm_section``). The page (views/concepts.py,
ui/concepts_page.py) calls them with the user's settings and draws what they return; ``sections``
calls them with the page's defaults (every class and layer for TCAV, the recipe's own training mode)
for the HTML report (``python -m interp_core report``) and Compare. Defining a concept, the
what-if sliders and one example's drill-down exist on the page only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from interp_core.report import Figure, Metric, Metrics, Section, Table, Text
from interp_core.sections import frame as _frame
from interp_core.store import Catalog

OVERVIEW = "Key numbers"
TCAV = "TCAV: which concepts each class is sensitive to"
CBM = "Concept bottleneck: accuracy and intervention"
TCAV_TABLE = "All TCAV results"
WRONG_TABLE = "Test examples the model gets wrong"
MODES_TABLE = "Training modes"


def truth_of(dataset) -> dict | None:
    """The known rule behind a generated dataset's classes (which concepts decide them), or None."""
    from interp_core.families.concepts import TRUTH

    return TRUTH.get(dataset.name)


def headline(trained) -> Metrics:
    """The page's key numbers: test accuracy, the bottleneck's concept numbers (or the counts of
    concepts and classes), and how many TCAV tests passed against how many random runs."""
    metrics, dataset, result = trained.metrics, trained.dataset, trained.extras.get("tcav")
    values = [Metric("Test accuracy", f"{metrics['test_accuracy']:.3f}", "Share of test examples whose class the model predicts correctly.")]
    if trained.extras.get("kind") == "cbm":
        values += [Metric("Concept accuracy", f"{metrics['concept_accuracy']:.3f}", "Mean over concepts of the test accuracy of the predicted concepts."),
                   Metric("All concepts corrected", f"{metrics['intervention_all_accuracy']:.3f}", "Test accuracy when every predicted concept is replaced by its true label.")]
    else:
        values += [Metric("Concepts", len(dataset.concept_names or [])), Metric("Classes", dataset.n_classes)]
    if result is not None:
        from interp_core.families.concepts.explain.causal import holm

        adjusted = int((np.nan_to_num(holm(result.p_values), nan=1.0) < result.alpha).sum())
        values += [Metric("Significant TCAV tests", f"{adjusted} / {result.significant.size}",
                          f"(concept, class, layer) triples whose scores differ from random concepts' (two-sided t-test, p < {result.alpha} after Holm's adjustment "
                          f"for the run's {result.significant.size} tests; {int(result.significant.sum())} without the adjustment)."),
                   Metric("Random runs", result.run_scores.shape[-1], "Random concept sets each concept was tested against; as many random-vs-random pairs form the null.")]
    return Metrics(values)


def truth_sentence(truth: dict) -> str:
    return (f"**Ground truth of this dataset:** {truth['rule']}. The concepts {', '.join(truth['unrelated'])} are drawn independently of the class. "
            "TCAV results are shown as computed, whatever they say about them.")


def overview_section(trained) -> Section:
    section = Section(OVERVIEW, [headline(trained)])
    truth = truth_of(trained.dataset)
    if truth:
        section.items.append(Text(truth_sentence(truth)))
    return section


def _significance(result, k: int, explain: bool) -> str:
    significant = result.significant[:, k, :].any(axis=1)
    text = (f"For class **{result.class_names[k]}**, {int(significant.sum())} of {len(result.concept_names)} concepts are significant at one layer or more "
            f"({', '.join(n for n, s in zip(result.concept_names, significant) if s) or 'none'}).")
    if explain:
        text += (" Significant means the concept's scores differ from random concepts' — not that the concept causes the class: "
                 "TCAV counts only the sign of the class score's change along the concept's direction, so a small but consistent sensitivity passes too.")
    return text


def _against_truth(table, truth: dict) -> str:
    decided = table[table["concept"].isin(truth["determining"])].groupby("concept")["significant"].any()
    unrelated = table[table["concept"].isin(truth["unrelated"])].groupby("concept")["significant"].any()
    return (f"**Against the ground truth:** {int(decided.sum())} of {len(decided)} class-deciding concepts are significant for some class and layer; "
            f"{int(unrelated.sum())} of {len(unrelated)} unrelated concepts are too ({', '.join(unrelated.index[unrelated]) or 'none'}). "
            "An unrelated concept that passes shows what TCAV measures: whether the model's class score moves consistently one way along the concept, "
            "however little (the model's sensitivity, not the rule that made the data).")


def check_items(check, result, classes: Sequence[int], truth: dict | None) -> list:
    """TCAV checked against the concepts' effects: the trust numbers, one chart per class of the
    effect beside TCAV's verdicts, and what the numbers mean."""
    from interp_core.families.concepts import figures as figs

    against = "CaCE" if check.effect.causal else "the observed effect"
    values = [
        Metric("Significant after Holm", f"{int(check.significant_adjusted.sum())} / {int((~np.isnan(result.p_values)).sum())}",
               f"Tests still significant after Holm's adjustment for all the run's tests ({int(result.significant.sum())} at p < {result.alpha} without it)."),
        Metric(f"TCAV verdicts that agree with {against}", "–" if check.agreement is None else f"{check.agreement:.0%}",
               "A verdict agrees when TCAV (adjusted) and the effect both say the concept matters, in the same direction, or both say it does not."),
    ]
    if check.independent_flagged is not None:
        values.append(Metric("Independent concepts flagged", f"{check.independent_flagged:.0%}",
                             f"Tests of the concepts the generator draws independently of the class ({', '.join(check.independent)}) still significant after adjustment."))
    items = [Metrics(values, "TCAV checked against the causal effect")]
    items += [Figure(figs.cace_vs_tcav(check, result, k, truth), "cace_vs_tcav") for k in classes]
    from interp_core.families.concepts.explain.causal import MIN_EFFECT

    if check.effect.causal:
        items.append(Text(
            f"**How this is checked.** The generator draws {int(check.effect.n.max())} pictures twice, identical but for one concept, and CaCE is the mean change "
            f"of the class logit (Goyal et al. 2019). An effect counts when its 95% interval excludes zero and it is at least {MIN_EFFECT:g} standard deviations "
            "of the class logit. TCAV's p-values are adjusted with Holm's method, so 'significant' keeps its 5% meaning across all the tests. "
            "Where they disagree, TCAV's sign count misses an effect the model has (often at late layers, where random directions also score 0 or 1) "
            "or flags a direction the picture's concept does not move the class along."))
    else:
        items.append(Text(
            "**How this is checked.** This dataset has no generator that can switch one concept alone, so the effect is **observational**: the class logit's "
            "difference between examples with and without the concept, matched on the other concepts. It is **not causal**: a measurement that moves with the "
            "concept moves it too."))
    return items


def tcav_section(result, truth: dict | None, classes: Sequence[int] | None = None, concept: int = 0, layers: Sequence[int] | None = None, check=None) -> Section:
    """The TCAV view, items in this order: for each of ``classes`` (all by default) its bars by layer
    and a sentence on which concepts pass; the box plot of ``concept`` for the first class; the
    heatmap of each of ``layers`` (all by default); the check against the concepts' effects (with
    ``check``, a causal.TCAVCheck: its numbers, charts and sentence, and every significance after
    Holm's adjustment); the comparison with the ground truth (when the dataset has one); the table
    of every result."""
    from interp_core.families.concepts import figures as figs

    if check is not None:
        result = result.adjusted(check.p_adjusted, check.adjustment)
    classes = range(len(result.class_names)) if classes is None else classes
    layers = range(len(result.layer_names)) if layers is None else layers
    section = Section(TCAV)
    for i, k in enumerate(classes):
        section.items += [Figure(figs.tcav_bars(result, k, truth), "tcav_bars"), Text(_significance(result, k, explain=i == 0))]
    section.items.append(Figure(figs.tcav_box(result, concept, list(classes)[0]), "tcav_box"))
    section.items += [Figure(figs.tcav_heatmap(result, layer, truth), "tcav_heatmap") for layer in layers]
    if check is not None:
        section.items += check_items(check, result, list(classes), truth)
    table = result.table()
    if truth:
        section.items.append(Text(_against_truth(table, truth)))
    section.items.append(Table(TCAV_TABLE, table))
    return section


def tcav_check(trained, result=None):
    """A TCAV run of ``trained`` (its stored one by default) checked against the concepts' causal
    (or, without a generator, observed) effects; None without TCAV."""
    from interp_core.families.concepts.explain.causal import check_tcav, concept_effects

    result = result if result is not None else trained.extras.get("tcav")
    if result is None:
        return None
    effect = concept_effects(trained.model, trained.dataset, device=trained.device)
    return check_tcav(result, effect, (truth_of(trained.dataset) or {}).get("unrelated"))


def mode_class_probabilities(trained, mode: str, concept_probabilities: np.ndarray | None = None) -> np.ndarray:
    """(n_test, classes) class probabilities of the ``mode`` bottleneck model on the test set, from
    its predicted ``concept_probabilities`` (n_test, concepts), computed here when not given."""
    from interp_core.families.concepts.explain import class_probabilities_from_concepts, concept_probabilities as predict_concepts

    model = trained.extras["cbm_models"][mode]
    if concept_probabilities is None:
        concept_probabilities = predict_concepts(model, trained.dataset.X_test, trained.device)
    return class_probabilities_from_concepts(model, concept_probabilities, trained.device)


def falling_modes(reports: dict) -> list[str]:
    """Training modes whose accuracy drops when every concept is corrected."""
    return [m for m, r in reports.items() if r.curves["random"].accuracy[-1] < r.curves["random"].accuracy[0] - 0.005]


def cbm_section(trained, mode: str, class_probabilities: np.ndarray) -> Section:
    """The concept bottleneck view for one training mode, items in this order: its four numbers; the
    intervention curves of every mode (and a sentence when correcting concepts hurts one); its
    per-concept accuracy; its head's weights (a one-layer head); the test examples it gets wrong
    (``class_probabilities``: its test-set class probabilities); the table of every mode."""
    from interp_core.families.concepts import figures as figs

    dataset = trained.dataset
    reports = trained.extras["cbm_reports"]
    main_mode = trained.extras["mode"]
    report = reports[mode]
    corrected = report.curves["random"].accuracy
    section = Section(CBM)
    section.items.append(Metrics([Metric("Task accuracy", f"{report.task_accuracy:.3f}"), Metric("Concept accuracy", f"{report.mean_concept_accuracy:.3f}"),
                                  Metric("With all concepts corrected", f"{corrected[-1]:.3f}"), Metric("Gain from correcting", f"{corrected[-1] - corrected[0]:+.3f}")]))
    section.items.append(Figure(figs.intervention_curves(reports, main_mode), "intervention_curve"))
    falling = falling_modes(reports)
    if falling:
        section.items.append(Text(
            f"Correcting concepts lowers the accuracy of: {', '.join(falling)}. The true 0/1 concepts then carry less about the class "
            "than the model's own graded concept probabilities (the concepts are not sufficient for the task, or a joint head uses "
            "information leaked through the soft probabilities). A bottleneck buys intervention only when the classes really go through the concepts."))
    section.items.append(Figure(figs.concept_accuracy(dataset.concept_names, report.concept_accuracy, report.concept_baseline, mode), "concept_accuracy"))
    head = trained.extras["cbm_models"][mode].head
    if len(head) == 1:
        section.items.append(Figure(figs.head_weights(head[0].weight.detach().cpu().numpy(), dataset.concept_names, dataset.class_names), "head_weights"))
    predictions = class_probabilities.argmax(1)
    wrong = np.flatnonzero(predictions != dataset.y_test)
    section.items.append(Table(WRONG_TABLE, _frame({
        "example": wrong,
        "true class": [dataset.class_names[dataset.y_test[i]] for i in wrong],
        "predicted": [dataset.class_names[predictions[i]] for i in wrong],
        "probability": class_probabilities[wrong, predictions[wrong]],
    }), note=f"{len(wrong)} of {len(dataset.y_test)} test examples are misclassified by the {mode} model."))
    section.items.append(Table(MODES_TABLE, _frame([
        {"mode": m + (" (this recipe's model)" if m == main_mode else ""), "task accuracy": r.task_accuracy, "concept accuracy": r.mean_concept_accuracy,
         "all concepts corrected": r.curves["random"].accuracy[-1], "gain from correcting": r.curves["random"].accuracy[-1] - r.curves["random"].accuracy[0]}
        for m, r in reports.items()])))
    return section


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page at its defaults: the key numbers, TCAV for every class and layer, the recipe's own bottleneck."""
    out = [overview_section(trained)]
    result = trained.extras.get("tcav")
    if result is not None:
        out.append(tcav_section(result, truth_of(trained.dataset), check=tcav_check(trained)))
    if trained.extras.get("kind") == "cbm":
        mode = trained.extras["mode"]
        out.append(cbm_section(trained, mode, mode_class_probabilities(trained, mode)))
    return out
