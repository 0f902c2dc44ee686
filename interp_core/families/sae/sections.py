"""The SAE features page's global views as report sections, one builder per block of the page:
the key numbers above the views (``headline``), the Features view (``features_section``: the map
and the table) and the Quality view (``quality_section``). The page (views/sae.py, ui/sae_page.py)
calls them with the user's settings and draws what they return; ``sections`` calls them with the
page's defaults for the HTML report (``python -m interp_core report``) and Compare. The Feature and
Example views are one feature's and one input's drill-downs and exist on the page only.
"""

from __future__ import annotations

import pandas as pd

from interp_core import recipes
from interp_core.report import Figure, Metric, Metrics, Section, Table
from interp_core.sections import artifact_files as _files
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog

OVERVIEW = "Key numbers"
FEATURES = "Features: the map and the table"
QUALITY = "Quality: how faithful is this SAE?"
TABLE_COLUMNS = ["feature", "label", "label_precision", "label_recall", "density", "mean_activation", "max_activation"]
MAP_METHODS = ("umap", "pca")
QUALITY_LABELS = {
    "l0": "L0 (mean active features, held-out)", "explained_variance": "explained variance (held-out)", "mse": "MSE per example (held-out, input units)",
    "dead_fraction": "dead fraction (never fire)", "mmcs": "MMCS (toy ground truth)", "mcc": "Hungarian MCC (toy ground truth)",
    "absorption": "absorption (parent latent silent, a child's latent took its direction)", "parent_silent": "parent latent silent (any reason)",
    "accuracy_clean": "accuracy, clean", "accuracy_sae": "accuracy, SAE spliced in", "accuracy_zero": "accuracy, layer zeroed", "loss_recovered": "loss recovered",
    "cosine_sae": "sentence-embedding cosine, SAE spliced in", "cosine_zero": "sentence-embedding cosine, layer zeroed",
}

# How each quality number reads, as the key numbers above write it (11.3%, not 0.1133).
QUALITY_FORMATS = {
    "l0": "{:.1f}", "explained_variance": "{:.3f}", "mse": "{:.4g}", "dead_fraction": "{:.1%}", "mmcs": "{:.3f}", "mcc": "{:.3f}",
    "absorption": "{:.1%}", "parent_silent": "{:.1%}",
    "accuracy_clean": "{:.3f}", "accuracy_sae": "{:.3f}", "accuracy_zero": "{:.3f}", "loss_recovered": "{:.1%}",
    "cosine_sae": "{:.4f}", "cosine_zero": "{:.4f}",
}


def headline(trained) -> Metrics:
    """The page's key numbers: width, L0, explained variance, dead share, and the toy's recovery or the splice."""
    analysis = trained.extras["analysis"]
    metrics = analysis.metrics
    values = [
        Metric("Features", f"{len(analysis.features):,}", "Latents of the SAE (its width)."),
        Metric("L0", f"{metrics['l0']:.1f}", "Mean number of features firing per example (held-out)."),
        Metric("Explained var.", f"{metrics['explained_variance']:.3f}", "1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2) on held-out activations."),
        Metric("Dead", f"{metrics['dead_fraction']:.1%}", "Share of features that never fire on any of the examples."),
    ]
    if "mmcs" in metrics:
        values += [Metric("MMCS", f"{metrics['mmcs']:.3f}", "Mean over the toy's true features of the best cosine with a decoder row (1 = all recovered)."),
                   Metric("MCC", f"{metrics['mcc']:.3f}", "Mean |cosine| after matching true features to SAE features one to one.")]
        if metrics.get("absorption") is not None:
            values.append(Metric("Absorption", f"{metrics['absorption']:.1%}", "Held-out examples with a parent and a child feature on where the parent's latent stays silent because a child's latent writes the parent's direction."))
    elif "accuracy_sae" in metrics:  # an uploaded activations file has no model to splice into
        values += [Metric("Spliced acc.", f"{metrics['accuracy_sae']:.3f}", "The model's test accuracy with the layer replaced by the SAE's reconstruction.",
                          delta=f"{metrics['accuracy_sae'] - metrics['accuracy_clean']:+.3f} vs clean"),
                   Metric("Loss recovered", f"{metrics['loss_recovered']:.1%}", "(loss zero-ablated - loss with SAE) / (loss zero-ablated - loss clean); 100% = nothing lost.")]
        if metrics.get("cosine_sae") is not None:  # MiniLM: the splice judged on the sentence embedding
            values.append(Metric("Embedding cos.", f"{metrics['cosine_sae']:.3f}", "Mean cosine between the clean sentence embedding and the one with the reconstruction spliced in (1 = unchanged).",
                                 delta=f"{metrics['cosine_zero']:.3f} zeroed", delta_color="off"))
    return Metrics(values)


def overview_section(trained) -> Section:
    return Section(OVERVIEW, [headline(trained)])


def map_methods(analysis) -> list[str]:
    """The stored feature maps, UMAP first."""
    return maps_in(analysis.maps)


def maps_in(maps: dict) -> list[str]:
    """The methods of ``maps`` (decoder maps by method), UMAP first."""
    return [m for m in MAP_METHODS if m in maps]


def feature_rows(features: pd.DataFrame, search: str = "", show_dead: bool = False, min_precision: float = 0.0) -> pd.DataFrame:
    """The feature table as the page filters it: live features only unless ``show_dead``, those
    whose label contains ``search`` (or whose number it is, '7' or '#7'), and, when ``min_precision``
    is above 0, those whose label's held-out precision reaches it."""
    table = features if show_dead else features[~features["dead"]]
    if min_precision > 0 and "label_precision" in table:
        table = table[table["label_precision"].fillna(-1.0) >= min_precision]
    search = (search or "").strip().lower()
    if search:
        found = table["label"].str.lower().str.contains(search, regex=False)
        if search.lstrip("#").isdigit():
            found |= table["feature"] == int(search.lstrip("#"))
        table = table[found]
    return table


def features_section(trained, method: str | None = None, selected: int | None = None, search: str = "", show_dead: bool = False,
                     window: tuple[float, float, float, float] | None = None, min_precision: float = 0.0) -> Section:
    """The Features view: the feature map (``method``: a stored map, UMAP by default; ``selected``
    ringed; ``window``: the part of the map zoomed in on) and the feature table filtered as the page's
    search box and dead-feature switch say."""
    analysis = trained.extras["analysis"]
    return features_of(analysis.maps, analysis.features, method, selected, search, show_dead, window, min_precision)


def features_of(maps: dict, features: pd.DataFrame, method: str | None = None, selected: int | None = None, search: str = "", show_dead: bool = False,
                window: tuple[float, float, float, float] | None = None, min_precision: float = 0.0) -> Section:
    """``features_section`` from its parts: the decoder maps (``explain.decoder_maps``) and the feature table
    (``explain.feature_table``), so an SAE that is no stored recipe (a causal LM's, on the SAE page) gets the same view."""
    from interp_core.families.sae import figures as figs

    section = Section(FEATURES)
    methods = maps_in(maps)
    method = method if method in methods else (methods[0] if methods else None)
    if method:
        fig = figs.feature_map(maps[method], features["density"].to_numpy(), features["label"].tolist(), selected, method.upper(), window)
        section.items.append(Figure(fig, "sae_feature_map"))
    table = feature_rows(features, search, show_dead, min_precision)
    n_dead = int(features["dead"].sum())
    note = (f"{len(table):,} of {len(features):,} features" + ("" if show_dead else f" ({n_dead} dead hidden)")
            + (f", label precision at least {min_precision:.0%}" if min_precision > 0 else "") + ".")
    section.items.append(Table("Feature table", table[TABLE_COLUMNS + (["dead"] if show_dead else [])], note=note))
    return section


def sweep_rows(trained, catalog: Catalog) -> list[dict]:
    """This SAE's k sweep plus every stored SAE recipe of the same source (the width/architecture sweep)."""
    analysis = trained.extras["analysis"]
    name = trained.name
    config = trained.manifest.get("train_config", {})
    source = trained.manifest.get("model_config", {}).get("source")
    sweep_group = f"{name}, other k ({config.get('sweep_epochs', '?')} epochs each)"
    this_group = f"{name} ({config.get('epochs', '?')} epochs)"
    rows = [{**row, "group": this_group if row.get("this") else sweep_group, "label": f"{row['arch']} width {row['width']}, k {row['k']}"} for row in analysis.sweep]
    for recipe in recipes.list_recipes("sae"):
        if recipe.name == name or recipe.model_config.get("source") != source or recipe.model_config.get("block") != trained.manifest.get("model_config", {}).get("block"):  # a transcoder of another block is no sweep of this one
            continue
        try:
            artifact = recipes.find_artifact(recipe.name, catalog, verify=False)
        except Exception:  # noqa: BLE001 - a broken neighbour must not break this page
            artifact = None
        if artifact is None or "l0" not in artifact.manifest.get("metrics", {}):
            continue
        m = artifact.manifest["metrics"]
        rows.append({"arch": recipe.arch, "width": m.get("n_features"), "k": recipe.model_config.get("k"), "l0": m["l0"],
                     "explained_variance": m["explained_variance"], "group": recipe.name, "label": recipe.description})
    return rows


def quality_table(metrics: dict, note: str, labels: dict | None = None) -> Table:
    """The quality numbers that ``metrics`` has, each labelled (``QUALITY_LABELS``, or ``labels``) and formatted as the key numbers write it."""
    rows = [(label, QUALITY_FORMATS.get(key, "{:.4g}").format(metrics[key])) for key, label in (labels or QUALITY_LABELS).items() if metrics.get(key) is not None]
    return Table("Quality numbers", pd.DataFrame(rows, columns=["metric", "value"]), note=note)


def quality_section(trained, sweep: list[dict], history: dict | None) -> Section:
    """The Quality view: the faithfulness numbers, the splice, the sweep (``sweep_rows``), the
    feature-density histogram, the training curve (``history``) and, for the toy, feature recovery."""
    from interp_core.families.sae import figures as figs

    analysis = trained.extras["analysis"]
    metrics = analysis.metrics
    section = Section(QUALITY)
    n_test = trained.dataset.n_features and len(trained.dataset.y_test)
    section.items.append(quality_table(metrics, f"Loss: {metrics.get('loss_kind', 'n/a')}. Measured on the {n_test:,} test examples; see docs/sae.md for the definitions."))
    if "accuracy_sae" in metrics:
        section.items.append(Figure(figs.splice_chart(metrics), "sae_splice"))
    if sweep:
        section.items.append(Figure(figs.sweep_chart(sweep), "sae_sweep"))
    if analysis.density_histogram:
        section.items.append(Figure(figs.density_histogram(analysis.density_histogram), "sae_density_histogram"))
    if history:
        section.items.append(Figure(figs.training_curve(history), "sae_training_curve"))
    if analysis.recovery is not None:
        section.items.append(Figure(figs.recovery_chart(analysis.recovery.best_cosine, analysis.recovery.mmcs), "sae_recovery"))
    if analysis.comparison:
        from interp_core.families.sae.models import ARCH_TITLES

        section.items.append(Figure(figs.arch_comparison(analysis.comparison, ARCH_TITLES), "sae_arch_comparison"))
    return section


CAUSAL = "Causal vs decoder-direction effects"


def causal_section(trained) -> Section | None:
    """The most often firing features' measured causal effect (ablation) beside their decoder-direction
    effect, as ``explain sae --json`` lists them (``steer.causal_rows``); None without a classifier
    to ablate them in, and for MiniLM, whose ablations run MiniLM and belong to the page's Steer block."""
    from interp_core.families.sae.steer import causal_rows

    if trained.extras.get("source_kind") != "image" or getattr(trained.model, "source", None) is None:
        return None
    rows = pd.DataFrame(causal_rows(trained))
    note = ("For the features that fire most often: the class whose probability falls most when the feature is zeroed (mean over the test "
            "examples where it fires, keeping the SAE's error term) beside the class its decoder direction raises most per unit of activation. "
            "Where they disagree, the direct readout is not what the model does with the feature.")
    return Section(CAUSAL, [Table("Causal vs decoder-direction effects", rows, note=note)])


def sections(trained, catalog: Catalog) -> list[Section]:
    """The page at its defaults: key numbers, the Features view (UMAP, live features), the Quality view, and the causal effects."""
    history = _store(trained, catalog).read_json(trained.artifact, "history.json") if "history.json" in _files(trained) else None
    causal = causal_section(trained)
    return [overview_section(trained), features_section(trained), quality_section(trained, sweep_rows(trained, catalog), history)] + ([causal] if causal else [])

