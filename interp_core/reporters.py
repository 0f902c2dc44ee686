"""Reports of a recipe from the store: what its family page shows globally, built from the stored
analyses with the same pure figure builders the pages use (``python -m interp_core report``).

``REPORTERS[family] = fn(trained, catalog) -> list[Section]``; a family may register its own. Every
classifier recipe also gets Home's section (metrics, training curve, embedding map). Stored
analyses are read, not recomputed; where a page computes on first view (prototype similarities,
a rules surrogate) the reporter computes the same thing once with the page's default settings.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from interp_core import recipes
from interp_core.errors import DataError, RecipeError, ReportError
from interp_core.projection import pca_2d, projection_file
from interp_core.report import Figure, Report, Section, Table, Text, metrics_table, now_utc, provenance
from interp_core.store import Catalog

Reporter = Callable[[recipes.TrainedModel, Catalog], list[Section]]
REPORTERS: dict[str, Reporter] = {}


def _store(trained, catalog: Catalog):
    return catalog.store_for(trained.artifact)


def _files(trained) -> dict:
    return trained.artifact.manifest.get("files", {})


def _frame(rows, columns=None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


# -- Home: every classifier ------------------------------------------------------------------------
def classifier_section(trained, catalog: Catalog) -> Section:
    from interp_core.figures.models import embedding_map, training_curve

    metrics = trained.metrics
    section = Section("Model: metrics, training curve and embedding map", intro=trained.dataset.description)
    shown = {k: metrics[k] for k in ("test_accuracy", "train_accuracy", "n_parameters", "epochs_run", "best_epoch") if k in metrics}
    section.items.append(metrics_table(shown or metrics, "Metrics"))
    store = _store(trained, catalog)
    if "history.json" in _files(trained):
        history = store.read_json(trained.artifact, "history.json")
        if history.get("epoch"):
            section.items.append(Figure(training_curve(history, metrics.get("best_epoch")), "training_curve"))
    if trained.is_classifier:
        maps = {}
        if projection_file("test-embedding") in _files(trained):
            maps = dict(store.read_arrays(trained.artifact, projection_file("test-embedding")))
        method = next((m for m in ("umap", "pca") if m in maps), None)
        coords = maps[method] if method else pca_2d(trained.embed(trained.dataset.X_test))
        predictions = trained.predict_proba(trained.dataset.X_test).argmax(1)
        fig = embedding_map(coords, trained.dataset.y_test, trained.dataset.class_names, predictions, None, (method or "pca").upper())
        section.items.append(Figure(fig, "embedding_map"))
    return section


# -- Time series -----------------------------------------------------------------------------------
def timeseries_sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.timeseries import explain as tsx
    from interp_core.families.timeseries.figures import auprc_bars, class_profile, explanation_map, faithfulness_curves

    report = tsx.stored_report(_store(trained, catalog), trained.artifact)
    if report is None:
        return [Section("Attributions", [Text("This artifact has no stored attribution report; open the Time series page once or retrain it to compute one.")])]
    dataset = trained.dataset
    table = report.table()
    section = Section("How the attribution methods compare", intro=f"Every method on {len(report.example_index)} test series, each explained toward its true class.")
    view = table.drop(columns=["method"]).rename(columns={
        "label": "method", "auprc": "AUPRC", "aup": "AUP", "aur": "AUR", "deletion_auc": "deletion area (lower is better)",
        "insertion_auc": "insertion area (higher is better)", "series_per_s": "series / s",
    })
    section.items.append(Table("Scores per method", view))
    if report.has_masks:
        published = {f"TimeX paper, {tsx.method_label(k) if k in tsx.METHODS else 'TimeX'}": v for k, v in (tsx.TIMEX_PUBLISHED.get(dataset.name) or {}).items()}
        section.items.append(Figure(auprc_bars(table, published), "auprc_bars"))
    curves = {row.label: (report.arrays[row.method]["deletion_curve"], report.arrays[row.method]["insertion_curve"]) for row in table.itertuples()}
    section.items.append(Figure(faithfulness_curves(report.fractions, curves), "faithfulness_curves"))
    where = Section("Where each method looks, and which series it explains alike")
    for method in [m for m in report.methods if m != tsx.RANDOM]:
        arrays = report.arrays[method]
        where.items.append(Figure(class_profile(arrays["profile"], dataset.class_names, dataset.feature_names, title=f"Class-average profile: {tsx.method_label(method)}"), "class_profile"))
        if "map" in arrays:
            fig = explanation_map(arrays["map"], report.example_index, report.labels, report.predictions, dataset.class_names,
                                  color_by="class", selected=None, title=f"Explanation map: {tsx.method_label(method)}", method=(report.map_method or "pca").upper())
            where.items.append(Figure(fig, "explanation_map"))
    published = tsx.UCR_PUBLISHED.get(dataset.name)
    if published:
        section.items.insert(0, metrics_table({"test accuracy": trained.metrics["test_accuracy"], "published FCN": published[0], "published ResNet": published[1]}, "Accuracy beside published results (dl-4-tsc)"))
    return [section, where]


# -- Rules -----------------------------------------------------------------------------------------
def rules_sections(trained, catalog: Catalog) -> list[Section]:
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


# -- SAE features ----------------------------------------------------------------------------------
def sae_sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.sae import figures as figs

    analysis = trained.extras["analysis"]
    metrics = analysis.metrics
    features = analysis.features
    quality = Section("Quality: how faithful is this SAE?")
    names = {"l0": "L0 (mean active features, held-out)", "explained_variance": "explained variance (held-out)", "mse": "MSE per example (held-out)",
             "dead_fraction": "dead fraction (never fire)", "mmcs": "MMCS (toy ground truth)", "mcc": "Hungarian MCC (toy ground truth)",
             "accuracy_clean": "accuracy, clean", "accuracy_sae": "accuracy, SAE spliced in", "accuracy_zero": "accuracy, layer zeroed", "loss_recovered": "loss recovered"}
    quality.items.append(metrics_table({"features": len(features), **{label: metrics[key] for key, label in names.items() if key in metrics}}, "Key numbers"))
    if "accuracy_sae" in metrics:
        quality.items.append(Figure(figs.splice_chart(metrics), "sae_splice"))
    if analysis.sweep:
        config = trained.manifest.get("train_config", {})
        rows = [{**row, "group": f"{trained.name} ({config.get('epochs', '?')} epochs)" if row.get("this") else f"{trained.name}, other k",
                 "label": f"{row['arch']} width {row['width']}, k {row['k']}"} for row in analysis.sweep]
        quality.items.append(Figure(figs.sweep_chart(rows), "sae_sweep"))
    if analysis.density_histogram:
        quality.items.append(Figure(figs.density_histogram(analysis.density_histogram), "sae_density_histogram"))
    if "history.json" in _files(trained):
        quality.items.append(Figure(figs.training_curve(_store(trained, catalog).read_json(trained.artifact, "history.json")), "sae_training_curve"))
    if analysis.recovery is not None:
        quality.items.append(Figure(figs.recovery_chart(analysis.recovery.best_cosine, analysis.recovery.mmcs), "sae_recovery"))
    listing = Section("Features: the map and the table")
    method = next((m for m in ("umap", "pca") if m in analysis.maps), None)
    if method:
        listing.items.append(Figure(figs.feature_map(analysis.maps[method], features["density"].to_numpy(), features["label"].tolist(), None, method.upper()), "sae_feature_map"))
    columns = [c for c in features.columns if features[c].map(np.isscalar).all()]
    top = features.sort_values("density", ascending=False)[columns].head(100) if "density" in features else features[columns].head(100)
    listing.items.append(Table("The 100 most frequent features", top, note=f"Of {len(features)} features."))
    return [quality, listing]


# -- Concepts --------------------------------------------------------------------------------------
def concepts_sections(trained, catalog: Catalog) -> list[Section]:
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


# -- Prototypes ------------------------------------------------------------------------------------
def prototypes_sections(trained, catalog: Catalog) -> list[Section]:
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


# -- Mechanisms ------------------------------------------------------------------------------------
def mechanisms_sections(trained, catalog: Catalog) -> list[Section]:
    from interp_core.families.mechanisms import explain as gx
    from interp_core.families.mechanisms import figures as figs

    store = _store(trained, catalog)
    files = _files(trained)
    if "analysis.json" not in files or "analysis.safetensors" not in files:
        return [Section("Mechanism", [Text("This artifact has no stored analysis; open the Mechanisms page or retrain it.")])]
    report = store.read_json(trained.artifact, "analysis.json")
    arrays = dict(store.read_arrays(trained.artifact, "analysis.safetensors"))
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


REPORTERS.update({
    "timeseries": timeseries_sections,
    "rules": rules_sections,
    "sae": sae_sections,
    "concepts": concepts_sections,
    "prototypes": prototypes_sections,
    "mechanisms": mechanisms_sections,
})


def recipe_report(name: str, catalog: Catalog | None = None, device: str = "auto", progress: Callable[[str], None] | None = None) -> Report:
    """The report of one stored recipe: Home's section for classifiers, then its family page's."""
    catalog = catalog or Catalog()
    family, description = _family_of(name, catalog)
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
    reporter = REPORTERS.get(family)
    if reporter is not None:
        say(f"{recipes.FAMILIES.get(family, family)} sections")
        sections.extend(reporter(trained, catalog))
    if not any(section.items for section in sections):
        raise ReportError(f"'{name}' has nothing to report yet; open its page once or retrain it.")
    status = "shipped" if trained.artifact.shipped else "trained"
    title = f"Interp Explorer report: {name} ({recipes.FAMILIES.get(family, family)})"
    settings = {"recipe": name, "family": recipes.FAMILIES.get(family, family), "device used for this report": str(trained.device), "store": str(catalog.store.root)}
    return Report(title, sections, settings, [provenance(trained.manifest, status)], now_utc(), subtitle=description)


def _family_of(name: str, catalog: Catalog) -> tuple[str, str]:
    """A registered recipe's family, or that of a stored model trained on a user's file (train --data)."""
    try:
        recipe = recipes.get_recipe(name)
        return recipe.family, recipe.description
    except RecipeError:
        artifact = recipes.find_artifact(name, catalog, verify=False)
        if artifact is None:
            raise
        return artifact.manifest["family"], artifact.manifest.get("description", "")


def cli_report(args) -> dict:
    """``python -m interp_core report RECIPE --out FILE.html``: build, write, and say what was written."""
    import os
    import sys
    import time
    from pathlib import Path

    from tqdm import tqdm

    from interp_core.device import resolve_device
    from interp_core.report import render_html, write_html
    from interp_core.store import Store

    if getattr(args, "data", None):
        raise ReportError("report reads a trained recipe from the store; give a recipe name (see: python -m interp_core recipes).")
    out = Path(args.out).expanduser()
    if out.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"--out should name an .html file, not '{out}'.")
    if not out.parent.is_dir():
        raise ReportError(f"Cannot write the report to '{out}': the folder '{out.parent}' does not exist.")
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ReportError(f"Cannot write the report to '{out}': no permission to write there.")
    device = resolve_device(args.device)
    catalog = Catalog(Store(args.store) if args.store else Store())
    _family_of(args.recipe, catalog)  # an unknown name fails before any progress bar is drawn
    start = time.perf_counter()
    bar = tqdm(total=5, desc=f"report {args.recipe}", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)

    def step(text: str) -> None:
        bar.set_postfix_str(text, refresh=False)
        bar.update(1)

    try:
        report = recipe_report(args.recipe, catalog, device, progress=step)
        step("rendering HTML (plotly.js inlined once)")
        html_text = render_html(report)
        step(f"writing {out.name}")
        size = write_html(html_text, out)
    finally:
        bar.close()
    result = {
        "recipe": args.recipe,
        "out": str(out.resolve()),
        "figures": report.n_figures,
        "tables": sum(isinstance(item, Table) for section in report.sections for item in section.items),
        "sections": [section.title for section in report.sections],
        "bytes": size,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if not args.json:
        print(f"{args.recipe}: {result['figures']} figures and {result['tables']} tables in {len(report.sections)} sections, {size / 1e6:.1f} MB")
        print(f"written to {result['out']} (opens offline in any browser)")
    return result
