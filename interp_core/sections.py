"""Report sections shared by every family, and a recipe's whole report.

A family's global views are a function ``sections(trained, catalog) -> [Section]`` in its folder
(``interp_core/families/<family>/sections.py``), named by its Family spec; the page, the HTML report
and Compare draw the same sections. Every classifier recipe also gets Home's section (metrics,
training curve, embedding map): ``model_section``, which Home draws at its settings (the map it
shows, the example it highlights) and ``classifier_section`` builds at Home's defaults. Stored
analyses are read, not recomputed; where a page computes on first view (prototype similarities, a
rules surrogate) the section computes the same thing once with the page's default settings.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from interp_core import recipes
from interp_core.errors import DataError, RecipeError, ReportError
from interp_core.family import family_title, find_family
from interp_core.projection import pca_2d, projection_file
from interp_core.report import Figure, Metric, Metrics, Report, Section, Verdict, now_utc, provenance
from interp_core.store import Catalog


def artifact_store(trained, catalog: Catalog):
    """The store that holds ``trained``'s artifact (the user's or the shipped one)."""
    return catalog.store_for(trained.artifact)


def artifact_files(trained) -> dict:
    return trained.artifact.manifest.get("files", {})


def frame(rows, columns=None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


MODEL_SECTION = "Model: metrics, training curve and embedding map"


def read_history(trained, store) -> dict:
    """The stored training history ({} for a model stored without one, e.g. an uploaded model)."""
    return store.read_json(trained.artifact, "history.json") if "history.json" in artifact_files(trained) else {}


def embedding_maps(trained, store) -> dict[str, np.ndarray]:
    """Stored maps of the test-set embedding; PCA is computed at once if none was stored."""
    maps = {}
    if projection_file("test-embedding") in artifact_files(trained):
        maps = dict(store.read_arrays(trained.artifact, projection_file("test-embedding")))
    if "pca" not in maps:
        maps["pca"] = pca_2d(trained.embed(trained.dataset.X_test))
    return maps


def map_methods(maps: dict) -> list[str]:
    """The embedding maps there are, UMAP first (the default)."""
    return [m for m in ("umap", "pca") if m in maps]


def model_metrics(trained) -> Metrics:
    """Home's headline numbers of a classifier (an uploaded model was not trained here: no epochs)."""
    metrics = trained.metrics
    uploaded = bool(trained.manifest.get("uploaded"))  # a model from "Bring your own model"
    def accuracy(value) -> str:  # None: a user's texts without labels (labelled with the model's own predictions)
        return "no labels" if value is None else f"{value:.3f}"

    return Metrics([
        Metric("Test accuracy", accuracy(metrics["test_accuracy"])),
        Metric("Train accuracy", accuracy(metrics["train_accuracy"])),
        Metric("Parameters", f"{metrics['n_parameters']:,}"),
        Metric("Epochs (kept)", "-" if uploaded else f"{metrics.get('epochs_run', '?')} ({metrics.get('best_epoch', '?')})"),
        Metric("Status", "uploaded" if uploaded else trained.status),
    ])


def model_section(trained, history: dict, maps: dict | None = None, method: str | None = None, predictions: np.ndarray | None = None, example: int | None = None) -> Section:
    """Home's model blocks: the headline numbers, the training curve (or why there is none) and the
    map of the test-set embedding (``method``: which of ``maps``, the first by default; ``example``:
    the test example it highlights). No map without ``maps`` and ``predictions``."""
    from interp_core.figures.models import training_curve

    manifest, dataset = trained.manifest, trained.dataset
    described = dataset.description.rstrip()
    described += "" if described.endswith((".", "!", "?")) else "."  # an upload's is its file's name: 'Uploaded file table.npz'
    if manifest.get("uploaded"):  # a user's own model: measured here, not trained
        intro = f"{described} Your model, evaluated on the CPU at {manifest.get('created')}."
    else:
        intro = f"{described} Trained on {manifest.get('device_name')} at {manifest.get('created')}, seed {manifest.get('seed')}."
    section = Section(MODEL_SECTION, [model_metrics(trained)], intro=intro)
    if history.get("epoch"):
        section.items.append(Figure(training_curve(history, trained.metrics.get("best_epoch")), "training_curve"))
    else:  # an uploaded model (ui/uploads.py) was not trained here; the app shows this as an info box
        section.items.append(Verdict("moderate", f"{trained.name} was uploaded, not trained here, so there is no training curve; its accuracy above is measured on this dataset's test split."))
    if maps and predictions is not None:
        section.items.append(embedding_figure(trained, maps, predictions, method, example))
    return section


def embedding_figure(trained, maps: dict, predictions: np.ndarray, method: str | None = None, example: int | None = None) -> Figure:
    """The map of the test-set embedding (``method``: which of ``maps``, the first by default),
    ``example`` highlighted: model_section's last item, which Home redraws alone when only the
    example changes."""
    from interp_core.figures.models import embedding_map

    method = method or map_methods(maps)[0]
    dataset = trained.dataset
    layer = trained.manifest.get("model_config", {}).get("layer") if trained.manifest.get("trainer") == "foreign" else None  # a user's model: the picked layer
    return Figure(embedding_map(maps[method], dataset.y_test, dataset.class_names, predictions, example, method.upper(), layer), "embedding_map")


def classifier_section(trained, catalog: Catalog) -> Section:
    """Home's model section at its defaults (the first map, no example highlighted)."""
    store = artifact_store(trained, catalog)
    maps = predictions = None
    if trained.is_classifier:
        maps = embedding_maps(trained, store)
        predictions = trained.predict_proba(trained.dataset.X_test).argmax(1)
    return model_section(trained, read_history(trained, store), maps, predictions=predictions)


def recipe_report(name: str, catalog: Catalog | None = None, device: str = "auto", progress: Callable[[str], None] | None = None, trained=None) -> Report:
    """The report of one stored recipe: Home's section for classifiers, then its family page's.
    ``trained``: the recipe's model when the caller has it loaded already (the app's cache)."""
    catalog = catalog or Catalog()
    family, description = family_of(name, catalog)
    say = progress or (lambda _text: None)
    say(f"loading {name}")
    try:
        trained = trained if trained is not None else recipes.load(name, catalog, device)
    except DataError:
        if name in {r.name for r in recipes.list_recipes()}:
            raise
        raise ReportError(f"'{name}' was trained on a user file, which the store does not keep, so the command line cannot report it; use Download report in the app, where the file was uploaded.") from None
    sections: list[Section] = []
    if family == "classifier" or trained.is_classifier:
        say("model section")
        sections.append(classifier_section(trained, catalog))
    spec = find_family(family)
    if spec is not None and spec.sections is not None:
        say(f"{spec.title} sections")
        sections.extend(spec.sections(trained, catalog))
    if not any(section.items for section in sections):
        raise ReportError(f"'{name}' has nothing to report yet; open its page once or retrain it.")
    status = "shipped" if trained.artifact.shipped else "trained"
    title = f"Interp Explorer report: {name} ({family_title(family)})"
    settings = {"recipe": name, "family": family_title(family), "device used for this report": str(trained.device), "store": str(catalog.store.root)}
    return Report(title, sections, settings, [provenance(trained.manifest, status)], now_utc(), subtitle=description)


def family_of(name: str, catalog: Catalog) -> tuple[str, str]:
    """A registered recipe's family, or that of a stored model trained on a user's file (train --data)."""
    try:
        recipe = recipes.get_recipe(name)
        return recipe.family, recipe.description
    except RecipeError:
        artifact = recipes.find_artifact(name, catalog, verify=False)
        if artifact is None:
            raise
        return artifact.manifest["family"], artifact.manifest.get("description", "")
