"""The Rules page's global views as report sections, one builder per page block: the page draws them
at the user's settings (plus its interactive parts: a node's examples, one example's path and
counterfactual), the HTML report (``python -m interp_core report``) and Compare draw them at the
page's default settings from the same stored analyses and figure builders.
"""

from __future__ import annotations

from interp_core.report import Figure, Metric, Metrics, Section, Table, Text, Verdict
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog

TRUST_LEVELS = {"high": "good", "moderate": "moderate", "low": "poor"}


def trust_section(trained, data, report, importance) -> Section:
    """Fidelity and accuracy of the rules, the verdict, and the known answer where the generator knows it."""
    from interp_core.families.rules import explain as rx

    trust = rx.trust_summary(report)
    section = Section("How far to trust these rules")
    section.items.append(Metrics([
        Metric("Fidelity (held-out)", f"{report.fidelity:.1%}", "Share of held-out examples where the rules give the black box's answer."),
        Metric("Black box accuracy", f"{report.blackbox_accuracy:.1%}"),
        Metric("Rules accuracy", f"{report.surrogate_accuracy:.1%}", "The rules' answers against the true labels."),
        Metric("Rules", report.n_rules),
        Metric("Features used", f"{len(report.surrogate.used_features())} of {data.X_train.shape[1]}"),
    ], "Key numbers"))
    section.items.append(Verdict(TRUST_LEVELS[trust.level], trust.text))
    if report.kind == "rulelist" and len(data.class_names) > 2:
        section.items.append(Text(f"The rule list answers \"{report.class_names[1]} or not\"; its fidelity and accuracy are measured on that yes/no question."))
    truth = trained.dataset.extras.get("rule_truth")
    if truth:
        section.items.append(Table(
            f"The known answer: the table was generated so that the label is `{truth['text']}`. A faithful explanation finds these features and thresholds",
            rx.compare_with_truth(report, truth, importance)))
    return section


def importance_section(trained, report, ranker, method: str, k: int) -> Section:
    """The ranking that picks the top k features (and, for images, the same ranking on the pixel grid)."""
    from interp_core.families.rules import explain as rx
    from interp_core.families.rules.figures import importance_chart, importance_image

    importance = ranker.importance(method)
    label = rx.RANKING_LABELS[method]
    section = Section("Which features the black box relies on")
    section.items.append(Figure(importance_chart(importance.table(), method, k, label=label), "rules_importance"))
    if trained.dataset.modality == "image":
        h, w = trained.dataset.input_shape[-2:]
        section.items.append(Figure(importance_image(importance.mean, (h, w), report.top_indices, f"{label.capitalize()} on the image grid"), "rules_importance_image"))
    if {"integrated_gradients", "permutation"} <= set(ranker.importances_):
        top_ig = set(ranker.importance("integrated_gradients").top(k))
        top_perm = set(ranker.importance("permutation").top(k))
        section.items.append(Text(f"Probing and perturbation agree on {len(top_ig & top_perm)} of the top {k} features (integrated gradients vs permutation)."))
    return section


def rules_section(data, report, path_nodes=None, selected_node: int | None = None, example: int | None = None) -> Section:
    """The surrogate drawn as a tree (an example's path in black), its rules as a table, and where they disagree with the black box."""
    from interp_core.families.rules import explain as rx
    from interp_core.families.rules.figures import surrogate_tree

    kind = "tree" if report.kind == "tree" else "rule list (read top-down: each split is an if, its square the rule)"
    title = f"Surrogate {kind}" + (f", path of example {example} in black" if example is not None else "")
    section = Section("The rules")
    section.items.append(Figure(surrogate_tree(report.nodes, report.class_names, path_nodes, selected_node, title), "rules_tree"))
    columns = [c for c in ["rule_id", "prediction", "coverage", "precision", "accuracy", "support", "rule"] if c in report.rules]
    section.items.append(Table(f"{report.n_rules} rules on {len(data.y_test)} held-out examples", report.rules[columns], "Click a column header to sort."))
    disagreements = rx.trust_summary(report).disagreements
    if not disagreements.empty:
        section.items.append(Text("Where the rules and the black box disagree most: " + "; ".join(
            f"rule {r.rule_id} ({r.disagree} of {r.support} examples)" for r in disagreements.itertuples()) + "."))
    return section


def tradeoff_section(depth_curve, k_curve, depth: int, k: int) -> Section:
    """Fidelity, accuracy and rule count as the depth and k change, the current setting marked."""
    from interp_core.families.rules.figures import tradeoff_chart

    section = Section("Trade-offs: fidelity against depth and k")
    for curve, chosen, parameter in ((depth_curve, depth, "depth"), (k_curve, k, "k")):
        section.items.append(Figure(tradeoff_chart(curve.values, curve.fidelity, curve.accuracy, curve.n_rules, chosen, parameter), "rules_tradeoff"))
    return section


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page's global views at its default setting (a combined-ranking tree at the recipe's k and depth)."""
    from interp_core.families.rules import explain as rx

    data = rx.model_data(trained)
    ranker = rx.stored_ranker(trained, _store(trained, catalog))
    k, depth = rx.default_setting(trained.name, data.X_train.shape[1])
    method, kind = "combined", "tree"
    report = rx.report_for(data, ranker, k, depth, kind, method)
    curves = [rx.tradeoff_for(data, ranker, parameter, k, depth, kind, method) for parameter in ("depth", "k")]
    intro = f"A depth-{depth} surrogate tree on the black box's top {k} features ranked by {rx.RANKING_LABELS[method]} (the page's default setting)."
    trust = trust_section(trained, data, report, ranker.importance(method))
    trust.intro = intro
    return [trust, importance_section(trained, report, ranker, method, k), rules_section(data, report), tradeoff_section(*curves, depth, k)]
