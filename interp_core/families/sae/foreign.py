"""SAE features at a layer of a user's own model (``--model PATH --layer NAME``).

The model is ``foreign.foreign_model``'s TrainedModel (part 1's adapter: the data checked against the
model, labels aligned with its outputs, the layer picked). The layer's activations over the user's
data (one flat vector per example, ``interp_core.layerhost``)
are collected in batches and cached in the store; an SAE is trained on the training part with the
family's trainer (``default_sae``: the same default as ``explain sae --data acts.npz``), or an
SAELens SAE folder for that layer is opened (its ``d_in`` must be the layer's width). Then the
family's own ``measure`` computes every view of the page: reconstruction on held-out examples, the
feature table with each feature's top class, top examples, class effects (the decoder rows times
the model's mean logit gradients at the layer) and the spliced accuracy (the model with the layer replaced by the SAE's reconstruction, or zero-ablated).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from interp_core.errors import ModelFileError
from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae.models import SparseAutoencoder, SplicedModel
from interp_core.families.sae.train import FAMILY, measure, rounded, train_default_sae
from interp_core.layerhost import LayerHost, cached_activations, output_directions
from interp_core.recipes import Recipe, TrainedModel

SOURCE_KIND = "model"  # ActivationSource.kind of a user's model's layer


@dataclass
class ForeignSAE:
    """What the page and the CLI show for an SAE at a user's model's layer."""

    sae: SparseAutoencoder
    source: sources.ActivationSource
    model: SplicedModel
    metrics: dict
    analysis: explain.SAEAnalysis
    cached: bool  # the activations came from the store
    origin: str  # "trained" or the SAELens folder's path


def layer_source(trained: TrainedModel, store, *, progress=None) -> tuple[sources.ActivationSource, bool]:
    """The picked layer's activations over the dataset (training examples first) as an ActivationSource,
    and whether they came from the store. ``trained``: ``foreign.foreign_model`` of the user's model."""
    host = LayerHost(trained.model).eval()
    dataset = trained.dataset
    loaded = trained.extras["loaded"]
    X = np.concatenate([dataset.X_train, dataset.X_test])
    acts, cached = cached_activations(store, host, X, progress=progress, describe=loaded.description())
    directions = output_directions(host, dataset.X_train)
    source = sources.ActivationSource(
        kind=SOURCE_KIND, acts=acts.astype(np.float32), n_train=len(dataset.X_train), dataset=dataset, model=host,
        description=f"Layer '{host.layer}' of {Path(loaded.path or loaded.summary.file).name}: {len(acts)} examples of {dataset.name}, {acts.shape[1]} values each.",
        output_names=list(dataset.class_names) if directions is not None else None, output_directions=directions,
        example_labels=np.concatenate([dataset.y_train, dataset.y_test]).astype(np.int64), label_names=list(dataset.class_names),
    )
    return source, cached


def open_saelens(path: str | Path, source: sources.ActivationSource, layer: str) -> SparseAutoencoder:
    """An SAELens SAE folder for the layer; one sentence when its d_in is not the layer's width."""
    from interp_core.families.sae.saelens import load_saelens_sae

    sae = load_saelens_sae(path)
    if sae.d_in != source.d:
        hook = f" (it was saved for '{sae.config.hook_name}')" if sae.config.hook_name else ""
        raise ModelFileError(f"The SAE in '{Path(path).name}' reads {sae.d_in} values per example{hook} but layer '{layer}' gives {source.d}; "
                             "open it on the layer it was trained on, or train an SAE on this layer (leave out --sae).")
    return sae


def explain_layer(trained: TrainedModel, store, *, sae_path: str | Path | None = None, device="cpu", seed: int = 0,
                  progress=None, collect_progress=None, stage=None) -> ForeignSAE:
    """Collect (or read back) the picked layer's activations, train or open an SAE, and measure it as the page does."""
    stage = stage or (lambda _text: None)
    device = torch.device(device)
    layer, dataset = trained.model.layer, trained.dataset
    stage(f"Reading layer '{layer}' over {len(dataset.X_train) + len(dataset.X_test):,} examples")
    source, cached = layer_source(trained, store, progress=collect_progress)
    if sae_path is not None:
        sae, origin = open_saelens(sae_path, source, layer).to(device), str(sae_path)
        arch, settings = "saelens", {"architecture": sae.config.architecture}
    else:
        stage(f"Training an SAE on {source.n_train:,} activations of dimension {source.d}")
        sae, arch, settings = train_default_sae(source.acts_train, None, device=device, seed=seed, progress=progress)
        origin = "trained"
    model = SplicedModel(sae, source.model).to(device).eval()
    recipe = Recipe(f"{FAMILY}-{layer}", FAMILY, dataset.name, f"sae-{arch}", {"source": SOURCE_KIND, **settings})
    metrics, analysis = measure(recipe, sae, source, model, device, seed, False, stage, None, {})
    return ForeignSAE(sae, source, model, metrics, analysis, cached, origin)


def feature_rows(result: ForeignSAE, n: int = 10, n_examples: int = 5) -> list[dict]:
    """The ``n`` most active features (by density): label, density, top examples (indices into the
    data, training examples first) and, with class effects, the classes each one pushes up most."""
    table = result.analysis.features
    order = np.argsort(-table["density"].to_numpy(), kind="stable")[:n]
    rows = []
    for j in order:
        column = result.analysis.codes.column(int(j))
        top, values = explain.top_examples(column, n_examples)
        row = {"feature": int(j), "label": str(table["label"].iloc[j]), "density": rounded(float(table["density"].iloc[j])),
               "top_examples": [int(i) for i in top], "top_activations": [rounded(float(v)) for v in values]}
        if result.analysis.promoted is not None and result.source.output_names:
            row["promotes"] = [result.source.output_names[int(k)] for k in result.analysis.promoted[j][:2]]
        rows.append(row)
    return rows
