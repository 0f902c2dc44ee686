"""The Rules page's global views as report sections: drawn by the page, the HTML report
(``python -m interp_core report``) and Compare from the same stored analyses and figure builders.
"""

from __future__ import annotations


from interp_core.report import Figure, Section, Table, metrics_table
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog


def sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.rules import explain as rx
    from interp_core.families.rules.figures import importance_chart, surrogate_tree, tradeoff_chart

    data = rx.model_data(trained)
    ranker = rx.stored_ranker(trained, _store(trained, catalog))
    k, depth = rx.default_setting(trained.name, data.X_train.shape[1])
    method, kind = "combined", "tree"
    report = rx.report_for(data, ranker, k, depth, kind, method)
    trust = rx.trust_summary(report)
    section = Section("How far to trust these rules", intro=f"A depth-{depth} surrogate tree on the black box's top {k} features ranked by {rx.RANKING_LABELS[method]} (the page's default setting). {trust.text}")
    section.items.append(metrics_table({
        "fidelity (held-out)": report.fidelity, "black box accuracy": report.blackbox_accuracy, "rules accuracy": report.surrogate_accuracy,
        "rules": report.n_rules, "features used": f"{len(report.surrogate.used_features())} of {data.X_train.shape[1]}",
    }, "Key numbers"))
    truth = trained.dataset.extras.get("rule_truth")
    importance = ranker.importance(method)
    if truth:
        section.items.append(Table(f"The known answer: {truth['text']}", rx.compare_with_truth(report, truth, importance)))
    section.items.append(Figure(importance_chart(importance.table(), method, k, label=rx.RANKING_LABELS[method]), "rules_importance"))
    rules = Section("The rules")
    rules.items.append(Figure(surrogate_tree(report.nodes, report.class_names, None, None, "Surrogate tree"), "rules_tree"))
    columns = [c for c in ["rule_id", "prediction", "coverage", "precision", "accuracy", "support", "rule"] if c in report.rules]
    rules.items.append(Table(f"{report.n_rules} rules on {len(data.y_test)} held-out examples", report.rules[columns]))
    trade = Section("Trade-offs: fidelity against size")
    for parameter, chosen in (("depth", depth), ("k", k)):
        curve = rx.tradeoff_for(data, ranker, parameter, k, depth, kind, method)
        trade.items.append(Figure(tradeoff_chart(curve.values, curve.fidelity, curve.accuracy, curve.n_rules, chosen, parameter), "rules_tradeoff"))
    return [section, rules, trade]
