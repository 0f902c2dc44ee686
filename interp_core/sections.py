"""Report sections shared by every family, and a recipe's whole report.

A family's global views are a function ``sections(trained, catalog) -> [Section]`` in its folder
(``interp_core/families/<family>/sections.py``), named by its Family spec; the page, the HTML report
and Compare draw the same sections. Every classifier recipe also gets Home's section (metrics,
training curve, embedding map). Stored analyses are read, not recomputed; where a page computes on
first view (prototype similarities, a rules surrogate) the section computes the same thing once with
the page's default settings.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from interp_core import recipes
from interp_core.errors import DataError, RecipeError, ReportError
from interp_core.family import family_title, find_family
from interp_core.projection import pca_2d, projection_file
from interp_core.report import Figure, Report, Section, metrics_table, now_utc, provenance
from interp_core.store import Catalog


def artifact_store(trained, catalog: Catalog):
    """The store that holds ``trained``'s artifact (the user's or the shipped one)."""
    return catalog.store_for(trained.artifact)


def artifact_files(trained) -> dict:
    return trained.artifact.manifest.get("files", {})


def frame(rows, columns=None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def classifier_section(trained, catalog: Catalog) -> Section:
    from interp_core.figures.models import embedding_map, training_curve

    metrics = trained.metrics
    section = Section("Model: metrics, training curve and embedding map", intro=trained.dataset.description)
    shown = {k: metrics[k] for k in ("test_accuracy", "train_accuracy", "n_parameters", "epochs_run", "best_epoch") if k in metrics}
    section.items.append(metrics_table(shown or metrics, "Metrics"))
    store = artifact_store(trained, catalog)
    if "history.json" in artifact_files(trained):
        history = store.read_json(trained.artifact, "history.json")
        if history.get("epoch"):
            section.items.append(Figure(training_curve(history, metrics.get("best_epoch")), "training_curve"))
    if trained.is_classifier:
        maps = {}
        if projection_file("test-embedding") in artifact_files(trained):
            maps = dict(store.read_arrays(trained.artifact, projection_file("test-embedding")))
        method = next((m for m in ("umap", "pca") if m in maps), None)
        coords = maps[method] if method else pca_2d(trained.embed(trained.dataset.X_test))
        predictions = trained.predict_proba(trained.dataset.X_test).argmax(1)
        fig = embedding_map(coords, trained.dataset.y_test, trained.dataset.class_names, predictions, None, (method or "pca").upper())
        section.items.append(Figure(fig, "embedding_map"))
    return section



def recipe_report(name: str, catalog: Catalog | None = None, device: str = "auto", progress: Callable[[str], None] | None = None) -> Report:
    """The report of one stored recipe: Home's section for classifiers, then its family page's."""
    catalog = catalog or Catalog()
    family, description = family_of(name, catalog)
    say = progress or (lambda _text: None)
    say(f"loading {name}")
    try:
        trained = recipes.load(name, catalog, device)
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
