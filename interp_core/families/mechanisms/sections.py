"""The Mechanisms page's global views as report sections: drawn by the page, the HTML report
(``python -m interp_core report``) and Compare from the same stored analyses and figure builders.
"""

from __future__ import annotations


from interp_core.report import Figure, Section, Text, metrics_table
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog


def sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.mechanisms import explain as gx
    from interp_core.families.mechanisms import figures as figs

    from interp_core.families.mechanisms.artifacts import read_report

    store = _store(trained, catalog)
    stored = read_report(trained.artifact, store)
    if stored is None:
        return [Section("Mechanism", [Text("This artifact has no stored analysis; open the Mechanisms page or retrain it.")])]
    report, arrays = stored
    key = trained.extras["group"]
    basis = gx.fourier_basis(key)
    key_irreps = [int(k) for k in arrays["key_irreps"]]
    history = store.read_json(trained.artifact, "history.json")
    metrics = trained.metrics
    bound = report.get("bound")
    top = Section("The network, taken apart on the group's irreps")
    top.items.append(metrics_table({
        "train accuracy": report.get("train_accuracy"), "held-out accuracy": report.get("test_accuracy"), "brute force": report.get("brute_force_accuracy"),
        "key irreps only": report.get("explained_accuracy"), "proved bound": "not computed" if not bound else f">= {bound['accuracy']:.3f}",
        "key irreps": ", ".join(report.get("key_irreps", [])),
    }, "Key numbers"))
    top.items.append(Figure(figs.training_curves(history, metrics.get("memorise_step"), metrics.get("grok_step")), "group_training"))
    if "neuron_share" in arrays and "dominant" in arrays:
        top.items.append(Figure(figs.neuron_irrep_map(arrays["neuron_share"], arrays["dominant"], basis.irrep_names, key_irreps, None), "neuron_irrep_map"))
    check = Section("Verification")
    check.items.append(Figure(figs.verification_chart(report), "verification"))
    if report.get("bound_frontier"):
        check.items.append(Figure(figs.bound_frontier_chart(report["bound_frontier"], report["brute_force_accuracy"], bound.get("unexplained_rank") if bound else None), "bound_frontier"))
    return [top, check]
