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
from interp_core.families.sae.train import FAMILY, default_user_sae, measure, rounded, train_default_sae
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


CLI_INSTEAD = "train an SAE on this layer (leave out --sae)"
APP_INSTEAD = "train an SAE on this layer with the button above"


def open_saelens(path: str | Path, source: sources.ActivationSource, layer: str, label: str | None = None, instead: str = CLI_INSTEAD) -> SparseAutoencoder:
    """An SAELens SAE folder for the layer; one sentence when its d_in is not the layer's width (``label``: the folder as named to the user)."""
    from interp_core.families.sae.saelens import load_saelens_sae

    return check_width(load_saelens_sae(path, label), label or path, source.d, layer, instead=instead)


def check_width(sae, path: str | Path, d: int, layer: str, unit: str = "example", instead: str = CLI_INSTEAD):
    """``sae`` when it reads ``d`` values (the layer's width), else one sentence naming both (and the layer it was saved for)."""
    if sae.d_in != d:
        hook = f" (it was saved for '{sae.config.hook_name}')" if sae.config.hook_name else ""
        raise ModelFileError(f"The SAE in '{Path(path).name}' reads {sae.d_in} values per {unit}{hook} but layer '{layer}' gives {d}; "
                             f"open it on the layer it was trained on, or {instead}.")
    return sae


def explain_layer(trained: TrainedModel, store, *, sae_path: str | Path | None = None, device="cpu", seed: int = 0,
                  progress=None, collect_progress=None, stage=None, arch: str = "topk", sae_label: str | None = None, instead: str = CLI_INSTEAD) -> ForeignSAE:
    """Collect (or read back) the picked layer's activations, train or open an SAE, and measure it as the page does
    (``sae_label``: the SAELens folder as its refusals name it; ``instead``: what they suggest doing instead)."""
    stage = stage or (lambda _text: None)
    device = torch.device(device)
    layer, dataset = trained.model.layer, trained.dataset
    stage(f"Reading layer '{layer}' over {len(dataset.X_train) + len(dataset.X_test):,} examples")
    source, cached = layer_source(trained, store, progress=collect_progress)
    if sae_path is not None:
        sae, origin = open_saelens(sae_path, source, layer, sae_label, instead).to(device), sae_label or str(sae_path)
        arch, settings = "saelens", {"architecture": sae.config.architecture}
    else:
        stage(f"Training a {arch} SAE on {source.n_train:,} activations of dimension {source.d}")
        sae, arch, settings = train_default_sae(source.acts_train, None, device=device, seed=seed, progress=progress, arch=arch)
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
               "top_examples": [int(i) for i in top], "top_activations": [rounded(float(v)) for v in values],
               "label_precision": _or_none(table["label_precision"].iloc[j]), "label_recall": _or_none(table["label_recall"].iloc[j])}
        if result.analysis.promoted is not None and result.source.output_names:
            row["promotes"] = [result.source.output_names[int(k)] for k in result.analysis.promoted[j][:2]]
        rows.append(row)
    return rows


def _or_none(value: float) -> float | None:
    """A held-out precision or recall for JSON: None where it is undefined (never fired, label never present)."""
    return rounded(float(value)) if value == value else None


# -- an SAE at a layer of a user's model, stored as a recipe the SAE page opens (trainer "sae-foreign") --
TRAINER = "sae-foreign"


OPENED = "saelens"  # the arch of an SAELens SAE opened on the layer rather than trained


def layer_slug(layer: str) -> str:
    """A module name as part of a recipe name, every part kept: 'encoder.layer.0' and 'encoder.layer.1' stay apart
    (data.safe_name reads the last part as a file extension and drops it)."""
    import re

    return re.sub(r"[^a-z0-9_]+", "-", str(layer).lower()).strip("-")[:60] or "layer"


def foreign_sae_recipe(base: str, layer: str, dataset_name: str, arch: str = "topk", opened: str | None = None) -> Recipe:
    """The recipe of an SAE of ``arch`` on layer ``layer`` of the stored user's model ``base`` (a "foreign" recipe);
    ``opened``: the name of the SAELens folder opened on that layer instead (arch ``saelens``)."""
    config = {"source": SOURCE_KIND, "base_recipe": base, "layer": layer}
    if opened is not None:
        return Recipe(f"{base}-sae-{layer_slug(layer)}-{OPENED}", FAMILY, dataset_name, f"sae-{OPENED}", {**config, "opened": opened}, {},
                      f"The SAELens SAE '{opened}' opened on layer '{layer}' of your model ({base})", trainer=TRAINER)
    default_user_sae(1, None, arch)  # an unknown architecture is refused in one sentence before any work
    suffix = "" if arch == "topk" else f"-{arch}"
    return Recipe(f"{base}-sae-{layer_slug(layer)}{suffix}", FAMILY, dataset_name, f"sae-{arch}", config, {},
                  f"A {arch} SAE on layer '{layer}' of your model ({base})", trainer=TRAINER)


def _base_model(base: str, layer: str, catalog, dataset=None) -> TrainedModel:
    """The stored user's model, embedding at ``layer`` (its stored metrics kept: nothing measured again)."""
    from interp_core import recipes
    from interp_core.foreign import foreign_model

    stored = recipes.load(base, catalog, "cpu", dataset=dataset)
    return foreign_model(stored.extras["loaded"], stored.dataset, layer, name=stored.name, manifest=stored.manifest)


def train_foreign_sae(recipe: Recipe, *, store, dataset=None, device="cpu", seed: int = 0, epochs=None, progress=None, cancel=None, umap: bool = False, on_stage=None,
                      sae_path: str | Path | None = None, sae_label: str | None = None) -> TrainedModel:
    """Train an SAE on the recipe's layer of the user's model stored in ``store`` and save it like the family's recipes;
    for an opened recipe (``foreign_sae_recipe(..., opened=...)``) the SAELens folder ``sae_path`` is opened instead
    (``open_foreign_sae``) and its weights stored in the artifact the same way."""
    import time

    from interp_core.errors import RecipeError
    from interp_core.families.sae.train import _trained
    from interp_core.manifest import model_manifest
    from interp_core.store import Catalog

    start = time.perf_counter()
    config = recipe.model_config
    opening = recipe.arch == f"sae-{OPENED}"
    if opening and sae_path is None:
        raise RecipeError(f"'{recipe.name}' is an SAELens SAE opened on your model's layer, not trained here; open its folder again on the SAE features page.")
    trained = _base_model(config["base_recipe"], config["layer"], Catalog(store), dataset)
    result = explain_layer(trained, store, sae_path=sae_path if opening else None, device=device, seed=seed, progress=progress, stage=on_stage,
                           arch=recipe.arch.removeprefix("sae-"), sae_label=sae_label, instead=APP_INSTEAD)
    source, sae = result.source, result.sae
    result.analysis.metrics = result.metrics
    manifest = model_manifest(
        recipe, dataset=trained.dataset.summary(), model_config={**config, "width": sae.width, "k": int(getattr(sae.config, "k", 0) or 0)}, train_config={}, seed=seed,
        config_hash=recipe.config_hash(seed), metrics=result.metrics, device=torch.device(device), train_seconds=time.perf_counter() - start,
        sae={"arch": sae.arch, "config": sae.config.to_dict()},
        source={"kind": SOURCE_KIND, "description": source.description, "n_train": source.n_train, "n": len(source.acts), "d": source.d,
                "base_recipe": config["base_recipe"], "layer": config["layer"]},
    )
    weights = {f"sae.{k}": v.detach().cpu().float() for k, v in sae.state_dict().items()}  # the user's model stays in its own artifact
    artifact = store.save(recipe.name, {"model.safetensors": weights, "history.json": {}, **result.analysis.to_files()}, manifest)
    stored = _trained(recipe.name, result.model, trained.dataset, artifact, torch.device(device), result.analysis, source)
    stored.extras["recipe"] = recipe  # a session lists it (the app's panel)
    return stored


def open_foreign_sae(base: str, layer: str, dataset, files: dict[str, bytes], label: str, *, store, device="cpu", progress=None, on_stage=None) -> TrainedModel:
    """The SAELens folder given as its files (``foreign.folder_files``/``zip_files``: plain names, within the limits), opened on
    layer ``layer`` of the stored user's model ``base`` and stored as a recipe like a trained one (``foreign_sae_recipe(..., opened=label)``).
    A folder that is no SAELens SAE, or whose d_in is not the layer's width, is one sentence naming ``label``."""
    import tempfile

    from interp_core.data import safe_name

    recipe = foreign_sae_recipe(base, layer, dataset.name, opened=label)
    with tempfile.TemporaryDirectory(prefix="interp-saelens-") as scratch:
        folder = Path(scratch) / safe_name(Path(label).stem or "sae")
        folder.mkdir()
        for name, data in files.items():
            (folder / Path(name).name).write_bytes(data)
        return train_foreign_sae(recipe, store=store, dataset=dataset, device=device, progress=progress, on_stage=on_stage, sae_path=folder, sae_label=label)


def load_foreign_sae(artifact, catalog, device, dataset=None) -> TrainedModel:
    """The stored SAE and the user's model it reads (rebuilt through the safe loaders), as the page opens a recipe."""
    from interp_core.errors import StoreError
    from interp_core.families.sae.artifacts import read_analysis_files
    from interp_core.families.sae.train import _trained
    from interp_core.models import build_model

    manifest = artifact.manifest
    store = catalog.store_for(artifact)
    try:
        sae = build_model(f"sae-{manifest['sae']['arch']}", manifest["sae"]["config"])  # the family's architectures, and an opened SAELens SAE
        info = manifest["source"]
        base, layer = info["base_recipe"], info["layer"]
    except (KeyError, TypeError) as exc:
        raise StoreError(f"Artifact '{artifact.name}' has a manifest this version cannot build ({exc}); train it again.") from None
    trained = _base_model(base, layer, catalog, dataset)
    state = {k.removeprefix("sae."): v.float() for k, v in store.read_tensors(artifact).items()}
    if set(state) != set(sae.state_dict()):
        raise StoreError(f"Artifact '{artifact.name}' holds weights that do not fit its SAE ({len(set(state) ^ set(sae.state_dict()))} mismatched tensors); train it again.")
    sae.load_state_dict(state)
    model = SplicedModel(sae, LayerHost(trained.model).eval()).to(device).eval()
    analysis = explain.SAEAnalysis.from_files(*read_analysis_files(artifact, store), None)
    return _trained(artifact.name, model, trained.dataset, artifact, device, analysis, None)


def foreign_sae_builds(manifest) -> list:
    """What ``load_foreign_sae`` builds: the SAE (the user's model is its own artifact's, checked when it loads)."""
    sae = manifest.sae or {}
    return [("sae.config", f"sae-{sae.get('arch')}", sae.get("config"))]


def register() -> None:
    from interp_core import recipes

    recipes.register_trainer(TRAINER, recipes.Trainer(train_foreign_sae, load_foreign_sae, foreign_sae_builds))


register()
