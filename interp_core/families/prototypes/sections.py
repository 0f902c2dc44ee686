"""The Prototypes page's global views as report sections, one builder per page block: the page
(views/prototypes.py) calls them with the user's settings, the HTML report (``python -m interp_core
report``) and Compare through ``sections`` with the page's defaults (learned prototypes, the first
map). Pure: no Streamlit; the page adds its interactive parts (clicks, the prototype picker, the
local explanation of one example) around them.
"""

from __future__ import annotations

import numpy as np

from interp_core.families.prototypes.explain import PURITY_NEIGHBOURS, metric_readings
from interp_core.families.prototypes.figures import latent_map, picture_grid, profile_heatmap, prototype_label, uncertainty_by_correctness, weight_heatmap
from interp_core.families.prototypes.view import PrototypeView, prototype_view
from interp_core.figures.common import class_color
from interp_core.report import Figure, Metric, Metrics, Section, Table, Text, Verdict
from interp_core.sections import artifact_store, frame
from interp_core.store import Catalog

GLOBAL = "Global: the prototypes"
MISCLASSIFIED = "Misclassified test examples"
QUALITY = "Quality: can these explanations be trusted?"


def prototype_labels(view: PrototypeView, class_names) -> list[str]:
    classes = view.report.prototype_class
    return [prototype_label(j, classes, class_names) for j in range(len(classes))]


def map_methods(view: PrototypeView) -> list[str]:
    """The latent maps there are, PCA first (linear, spread out, easy to click)."""
    return [k for k in ("pca", "umap") if k in view.maps]


def _auroc(metrics: dict) -> str:
    value = metrics.get("uncertainty_auroc")
    return "n/a" if value is None else f"{value:.2f}"


def key_numbers(view: PrototypeView) -> Metrics:
    """The page's headline numbers (the uncertainty AUROC for probabilistic prototypes only)."""
    metrics, m = view.report.metrics, len(view.report.prototype_class)
    values = [
        Metric("Test accuracy", f"{metrics['test_accuracy']:.3f}", "Share of held-out examples classified correctly."),
        Metric("Prototype purity", f"{metrics['prototype_purity']:.2f}", f"Share of a prototype's {PURITY_NEIGHBOURS} nearest training examples in its class, averaged."),
        Metric("Stability", f"{metrics['stability']:.2f}", "Share of test examples whose most similar prototype survives small input noise."),
        Metric("Prototypes", f"{m}", "Learned cases in the prototype layer, assigned equally to the classes."),
    ]
    if view.report.sampled is not None:
        values.append(Metric("Uncertainty AUROC", _auroc(metrics), "How well predictive uncertainty separates wrong from right predictions (0.5 = chance)."))
    return Metrics(values)


def global_section(view: PrototypeView, dataset, method: str | None = None, example: int | None = None, selected: int | None = None) -> Section:
    """Headline numbers, the prototype gallery, their details, their weights and the latent map
    (``method``: which map, the first by default; ``example`` / ``selected``: the test example and
    the prototype the map highlights)."""
    report, class_names = view.report, dataset.class_names
    m = len(report.prototype_class)
    labels = prototype_labels(view, class_names)
    purity = report.purity.purity
    section = Section(GLOBAL, [key_numbers(view)], intro=f"Pictures show {view.picture_source}. {dataset.description}")
    if dataset.modality == "tabular":
        fig = profile_heatmap(view.prototype_scaled, view.prototype_pictures, [f"{labels[j]}, purity {purity[j]:.1f}" for j in range(m)], dataset.feature_names or [], "Prototype gallery: feature profiles")
        section.items.append(Figure(fig, "prototype_profiles"))
    else:
        references = None if view.pushed or dataset.modality != "series" else dataset.X_train[report.decoded_nearest]
        weight_notes = ["weights: " + ", ".join(f"{c} {report.weights[j, k]:+.2f}" for k, c in enumerate(class_names)) for j in range(m)]
        fig = picture_grid(view.prototype_pictures, [f"{labels[j]}<br>purity {purity[j]:.1f}" for j in range(m)], dataset.modality, "Prototype gallery",
                           columns=10 if dataset.modality == "image" else 3, references=references, colors=[class_color(int(c)) for c in report.prototype_class],
                           tile_height=130 if dataset.modality == "image" else 200, notes=weight_notes)
        section.items.append(Figure(fig, "prototype_gallery_pushed" if view.pushed else "prototype_gallery"))
    details = frame({"prototype": [f"P{j}" for j in range(m)], "class": [class_names[int(c)] for c in report.prototype_class], "purity": purity})
    if view.pushed:
        details["pushed onto training example"] = view.push.train_index
        details["latent distance moved"] = view.push.moved
    else:
        details["distance to nearest real example"] = report.decoded_distance
        details["nearest training example"] = report.decoded_nearest
    if report.sampled is not None:
        details["spread (mean SD)"] = report.prototype_std.mean(axis=1)
    for k, cname in enumerate(class_names):
        details[f"weight to {cname}"] = report.weights[:, k]
    section.items.append(Table("Prototype details", details))
    section.items.append(Figure(weight_heatmap(report.weights, report.prototype_class, class_names), "prototype_weights"))
    section.items.append(latent_figure(view, dataset, method, example, selected))
    return section


def latent_figure(view: PrototypeView, dataset, method: str | None = None, example: int | None = None, selected: int | None = None) -> Figure:
    """The latent map (``method``: which map, the first by default) with the test ``example`` and the
    ``selected`` prototype highlighted: global_section's last item, which the page redraws alone
    when only the example or the prototype changes."""
    report = view.report
    method = method or map_methods(view)[0]
    fig = latent_map(view.maps[method], len(dataset.y_train), dataset.y_train, dataset.y_test, report.test.predictions, report.prototype_class, dataset.class_names, example, selected, method.upper())
    return Figure(fig, "latent_map")


def neighbours_section(view: PrototypeView, dataset, prototype: int, train_scaled: np.ndarray | None = None) -> Section:
    """One prototype and its nearest training examples (``train_scaled``: the training inputs in
    the model's scaled units, needed for tables). A drill-down: the page draws it, the report does not."""
    report, class_names = view.report, dataset.class_names
    labels = prototype_labels(view, class_names)
    label, purity = labels[prototype], report.purity.purity[prototype]
    neighbours = report.purity.neighbours[prototype]
    titles = [f"#{i} ({class_names[int(dataset.y_train[i])]})<br>d={d:.2f}" for i, d in zip(neighbours, report.purity.distances[prototype])]
    own = int(report.prototype_class[prototype])
    intro = (f"{label}: purity {purity:.1f} ({int(round(purity * len(neighbours)))} of its {len(neighbours)} nearest training examples are of class "
             f"{class_names[own]}); weight to its own class {report.weights[prototype, own]:.2f}.")
    if dataset.modality == "tabular":
        if train_scaled is None:
            raise ValueError("a table's neighbours are drawn in scaled units: pass train_scaled")
        fig = profile_heatmap(
            np.concatenate([view.prototype_scaled[prototype][None], train_scaled[neighbours]]),
            np.concatenate([np.asarray(view.prototype_pictures[prototype]).reshape(1, -1), dataset.X_train[neighbours].reshape(len(neighbours), -1)]),
            [label, *[t.replace("<br>", " ") for t in titles]], dataset.feature_names or [], f"{label} and its nearest training examples",
        )
    elif dataset.modality == "image":
        fig = picture_grid(np.concatenate([view.prototype_pictures[prototype][None], dataset.X_train[neighbours]]), [label, *titles], "image", f"{label} and its nearest training examples", columns=11, tile_height=150)
    else:
        fig = picture_grid(dataset.X_train[neighbours], titles, "series", f"{label} (black) and its nearest training examples", columns=5,
                           colors=[class_color(int(dataset.y_train[i])) for i in neighbours], overlay=view.prototype_pictures[prototype], overlay_name=label, tile_height=170)
    return Section(f"Nearest training examples of prototype P{prototype}", [Figure(fig, "nearest_training_examples")], intro=intro)


def misclassified_section(view: PrototypeView, dataset) -> Section:
    """Every wrong test prediction with its confidence and most similar prototype (and, for
    probabilistic prototypes, whether it is flagged uncertain)."""
    report, class_names = view.report, dataset.class_names
    wrong = np.flatnonzero(report.test.predictions != dataset.y_test)
    if not len(wrong):
        return Section(MISCLASSIFIED, [Verdict("good", "Every test example is classified correctly.")])
    labels = prototype_labels(view, class_names)
    table = frame({
        "example": wrong,
        "true class": [class_names[int(dataset.y_test[i])] for i in wrong],
        "predicted": [class_names[int(report.test.predictions[i])] for i in wrong],
        "confidence": report.test.probabilities[wrong, report.test.predictions[wrong]],
        "most similar prototype": [labels[int(report.test.top_prototype[i])] for i in wrong],
    })
    if report.sampled is not None:
        table["flagged"] = report.sampled.flagged[wrong]
        table["top changes"] = report.sampled.top_change_rate[wrong]
    return Section(MISCLASSIFIED, [Table("", table)], intro=f"{len(wrong)} of {len(dataset.y_test)} test examples are misclassified.")


def quality_section(view: PrototypeView, dataset, name: str) -> Section:
    """Each quality number (one Metrics item) followed by its plain reading (a Text), then for
    probabilistic prototypes how well the uncertainty flags errors."""
    report = view.report
    metrics = report.metrics
    readings = metric_readings(metrics)
    push = f"{metrics['push_accuracy_after'] - metrics['push_accuracy_before']:+.3f} vs learned"
    rows = [
        (Metric("Test accuracy", f"{metrics['test_accuracy']:.3f}"), "test_accuracy"),
        (Metric("Prototype purity", f"{metrics['prototype_purity']:.2f}"), "prototype_purity"),
        (Metric("Decoded-to-real distance", f"{metrics['decoded_distance']:.3f}"), "decoded_distance"),
        (Metric("Stability under noise", f"{metrics['stability']:.2f}"), "stability"),
        (Metric("Accuracy after push", f"{metrics['push_accuracy_after']:.3f}", delta=push, delta_color="off" if push.startswith("+0.000") else "normal"), "push"),
    ]
    if report.sampled is not None:
        rows.append((Metric("Uncertainty AUROC", _auroc(metrics)), "uncertainty_auroc"))
    section = Section(QUALITY, intro=(
        f"Computed on {len(dataset.y_test)} test and {len(dataset.y_train)} training examples; stability uses Gaussian noise of {metrics['noise_level']:g} "
        "in the model's scaled units (min-max for images, standard deviations otherwise), 5 draws. "
        f"Same numbers from the command line: `python -m interp_core explain prototypes {name} --json`."))
    for number, key in rows:
        section.items += [Metrics([number]), Text(readings.get(key, ""))]
    if report.sampled is not None:
        flagged = report.sampled.flagged
        wrong = report.test.predictions != dataset.y_test
        section.items.append(Text(
            f"**Flags.** {flagged.mean():.0%} of test predictions are flagged uncertain; they hold "
            f"{(flagged & wrong).sum()} of the {wrong.sum()} errors. "
            f"Explanation-uncertainty AUROC (top-prototype change rate): {metrics.get('explanation_uncertainty_auroc') or float('nan'):.2f}."))
        section.items.append(Figure(uncertainty_by_correctness(report.sampled.entropy, wrong), "uncertainty_by_correctness"))
    return section


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page at its defaults: learned prototypes, the first latent map, nothing selected."""
    view = prototype_view(trained, artifact_store(trained, catalog), pushed=False)
    dataset = trained.dataset
    return [global_section(view, dataset), misclassified_section(view, dataset), quality_section(view, dataset, trained.name)]
