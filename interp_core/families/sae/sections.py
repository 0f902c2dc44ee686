"""The SAE features page's global views as report sections: drawn by the page, the HTML report
(``python -m interp_core report``) and Compare from the same stored analyses and figure builders.
"""

from __future__ import annotations

import numpy as np

from interp_core.report import Figure, Section, Table, metrics_table
from interp_core.sections import artifact_files as _files
from interp_core.sections import artifact_store as _store
from interp_core.store import Catalog


def sections(trained, catalog: Catalog) -> list[Section]:
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
