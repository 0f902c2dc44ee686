"""The Prototypes page's global views as report sections: drawn by the page, the HTML report
(``python -m interp_core report``) and Compare from the same stored analyses and figure builders.
"""

from __future__ import annotations


from interp_core.projection import projection_file
from interp_core.report import Figure, Section, Table, metrics_table
from interp_core.sections import artifact_files as _files
from interp_core.sections import artifact_store as _store
from interp_core.sections import frame as _frame
from interp_core.store import Catalog


def sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.prototypes.explain import PushResult, analyse
    from interp_core.families.prototypes import LATENT_MAP, PUSH_FILE
    from interp_core.figures.common import class_color
    from interp_core.families.prototypes.figures import latent_map, picture_grid, profile_heatmap, prototype_label, uncertainty_by_correctness, weight_heatmap

    dataset, store, metrics = trained.dataset, _store(trained, catalog), trained.metrics
    push = None
    if PUSH_FILE in _files(trained) and "push_accuracy_after" in metrics:
        arrays = store.read_arrays(trained.artifact, PUSH_FILE)
        push = PushResult(arrays["prototypes"], arrays["train_index"], arrays["moved"], metrics["push_accuracy_before"], metrics["push_accuracy_after"])
    report = analyse(trained.model, dataset, seed=int(trained.manifest.get("seed", 0)), push=push)
    class_names = dataset.class_names
    m = len(report.prototype_class)
    labels = [prototype_label(j, report.prototype_class, class_names) for j in range(m)]
    numbers = {k: report.metrics[k] for k in ("test_accuracy", "prototype_purity", "stability", "decoded_distance", "push_accuracy_before", "push_accuracy_after", "uncertainty_auroc") if report.metrics.get(k) is not None}
    top = Section("Global: the prototypes", intro="Learned prototypes, decoded to input space.")
    top.items.append(metrics_table({**numbers, "prototypes": m}, "Key numbers"))
    purity = report.purity.purity
    if dataset.modality == "tabular":
        fig = profile_heatmap(report.decoded_scaled, report.decoded, [f"{labels[j]}, purity {purity[j]:.1f}" for j in range(m)], dataset.feature_names or [], "Prototype gallery: feature profiles")
        top.items.append(Figure(fig, "prototype_profiles"))
    else:
        references = dataset.X_train[report.decoded_nearest] if dataset.modality == "series" else None
        fig = picture_grid(report.decoded, [f"{labels[j]}<br>purity {purity[j]:.1f}" for j in range(m)], dataset.modality, "Prototype gallery",
                           columns=10 if dataset.modality == "image" else 3, references=references, colors=[class_color(int(c)) for c in report.prototype_class],
                           tile_height=130 if dataset.modality == "image" else 200)
        top.items.append(Figure(fig, "prototype_gallery"))
    details = _frame({"prototype": [f"P{j}" for j in range(m)], "class": [class_names[int(c)] for c in report.prototype_class], "purity": purity,
                      "distance to nearest real example": report.decoded_distance, "nearest training example": report.decoded_nearest})
    for k, cname in enumerate(class_names):
        details[f"weight to {cname}"] = report.weights[:, k]
    top.items.append(Table("Prototype details", details))
    top.items.append(Figure(weight_heatmap(report.weights, report.prototype_class, class_names), "prototype_weights"))
    if projection_file(LATENT_MAP) in _files(trained):
        maps = dict(store.read_arrays(trained.artifact, projection_file(LATENT_MAP)))
        method = next((k for k in ("pca", "umap") if k in maps), None)
        if method:
            fig = latent_map(maps[method], len(dataset.y_train), dataset.y_train, dataset.y_test, report.test.predictions, report.prototype_class, class_names, None, None, method.upper())
            top.items.append(Figure(fig, "latent_map"))
    if report.sampled is not None:
        wrong = report.test.predictions != dataset.y_test
        top.items.append(Figure(uncertainty_by_correctness(report.sampled.entropy, wrong), "uncertainty_by_correctness"))
    return [top]
