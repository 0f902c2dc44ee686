"""The SAE trainer and loader: train an SAE on its source's activations, measure it and precompute
everything the page shows, store it (SAE weights as float16); rebuild it from the store; and the
default SAE recipe for a user's activations."""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from interp_core import recipes
from interp_core.data import Dataset, load_dataset, safe_name
from interp_core.device import device_name
from interp_core.errors import DataError, RecipeError, StoreError
from interp_core.families.sae import data as sources
from interp_core.families.sae import distributed
from interp_core.families.sae import explain as explain
from interp_core.families.sae import synth
from interp_core.families.sae.activations import block_description, build_source
from interp_core.families.sae.hosts import DigitsHidden, MiniLMBlock, MiniLMTopics, MLPBlock, ToyModel
from interp_core.families.sae.models import SplicedModel, build_sae
from interp_core.manifest import model_manifest
from interp_core.models import build_model, count_parameters
from interp_core.recipes import Recipe, TrainedModel
from interp_core.store import Artifact, Catalog, Store
from interp_core.families.sae.artifacts import EXAMPLES_FILE, WINDOWS_FILE, read_analysis_files
from interp_core.families.sae.shards import ShardSet, StreamedActivations, feature_statistics, peak_rss_mb, shard_folder

FAMILY = "sae"
TRAINER = "sae"

SAE_SETTINGS = ("width", "k", "l1_coefficient", "tolerance", "aux_k", "aux_coefficient", "threshold_momentum", "l0_coefficient", "initial_threshold", "bandwidth", "groups",
                "target_l0", "calibration_samples")


# -- SAEs, and the default one for a user's activations -------------------------------------------
def _sae_arch(recipe_or_manifest_arch: str) -> str:
    return recipe_or_manifest_arch.removeprefix("sae-")


def user_recipe(dataset: Dataset) -> Recipe:
    """The default SAE for a user's activations: what explain sae --data trains (TopK, 4x d latents, k about sqrt(d))."""
    d = int(dataset.X_train.shape[1])
    true_features = dataset.extras.get("true_features")
    arch, settings = default_user_sae(d, None if true_features is None else len(true_features))
    steps_per_epoch = math.ceil(len(dataset.X_train) / 512)
    train_config = {"epochs": max(1, min(3000 // steps_per_epoch, 200)), "batch_size": 512, "lr": 1e-3, "dead_window": 200}
    return Recipe(f"user-{dataset.name}-sae", FAMILY, dataset.name, f"sae-{arch}", {"source": "user", **settings}, train_config,
                  f"{arch} SAE ({settings['width']} latents, k={settings['k']}) on your activations {dataset.source.removeprefix('user file ')}.", trainer=TRAINER)


def make_sae(arch: str, d_in: int, model_config: dict, **override) -> "torch.nn.Module":
    settings = {k: v for k, v in model_config.items() if k in SAE_SETTINGS}
    settings.update(override)
    return build_sae(arch, {"d_in": d_in, **settings})


@torch.no_grad()
def _round_to_float16(sae) -> None:
    """Weights are stored as float16; measure everything with the rounded weights so the shipped
    artifact reproduces its own numbers."""
    for param in sae.parameters():
        param.copy_(param.half().float())


def sae_recipe(name: str) -> Recipe:
    """The named recipe, refused in one sentence when it is not an SAE recipe (explain sae, export-sae, steer)."""
    recipe = recipes.get_recipe(name)
    if recipe.family != FAMILY:
        raise RecipeError(f"Recipe '{name}' is not an SAE recipe; choose one of: {', '.join(r.name for r in recipes.list_recipes(FAMILY))}.")
    return recipe


def default_user_sae(d: int, n_true: int | None, arch: str = "topk") -> tuple[str, dict]:
    """An SAE of ``arch`` with 4x d latents (or 2x the known true features, if more) at an L0 of about
    k = sqrt(d): TopK, BatchTopK, Matryoshka and MP keep k; ReLU + L1 and JumpReLU get target_l0 = k, so the
    trainer's SparsityController adapts their penalty until the L0 is k, starting from 0.3 / k and 0.15 / k of
    the input's variance per unit / per firing latent (on the toys of docs/sae.md these give an L0 near k)."""
    from interp_core.families.sae.models import SAE_ARCHITECTURES

    arch = (arch or "topk").lower()
    if arch not in SAE_ARCHITECTURES:
        raise RecipeError(f"Unknown SAE architecture '{arch}'; expected one of: {', '.join(sorted(SAE_ARCHITECTURES))}.")
    width = max(4 * d, 2 * (n_true or 0))
    k = max(1, min(width, int(round(math.sqrt(d)))))
    settings = {"relu": {"l1_coefficient": round(0.3 / k, 6), "target_l0": float(k)},
                "jumprelu": {"l0_coefficient": round(0.15 / k, 6), "target_l0": float(k)}}.get(arch, {"k": k})
    return arch, {"width": width, **settings}


def train_default_sae(acts_train: np.ndarray, true_features: np.ndarray | None, *, device, seed: int = 0, progress=None, arch: str = "topk") -> tuple["torch.nn.Module", str, dict]:
    """(sae, arch, settings): ``default_user_sae`` trained on a user's activations (n, d) for about
    3,000 steps of 512 (at most 200 epochs), as ``explain sae --data`` and ``--model`` train it."""
    arch, settings = default_user_sae(acts_train.shape[1], None if true_features is None else len(true_features), arch)
    torch.manual_seed(seed)
    sae = make_sae(arch, acts_train.shape[1], settings)
    sae.fit_input(torch.as_tensor(acts_train))
    steps_per_epoch = math.ceil(len(acts_train) / 512)
    config = explain.SAETrainConfig(epochs=max(1, min(3000 // steps_per_epoch, 200)), batch_size=512, lr=1e-3, dead_window=200,
                                    resample_every=0 if sae.uses_aux_loss else 250)
    explain.train_sae(sae, acts_train, config, device=device, seed=seed, progress=progress)
    return sae, arch, settings


# -- the trainer ----------------------------------------------------------------------------------------
def train_sae_recipe(
    recipe: Recipe,
    *,
    store: Store,
    dataset: Dataset | None,
    device: torch.device,
    seed: int,
    epochs: int | None,
    progress,
    cancel,
    umap: bool,
    on_stage: Callable[[str], None] | None,
) -> TrainedModel:
    stage = on_stage or (lambda _text: None)
    start = time.perf_counter()
    arch = _sae_arch(recipe.arch)
    train_config = {**recipe.train_config, **({"epochs": epochs} if epochs else {})}
    config = explain.SAETrainConfig.from_dict(train_config)
    world = distributed.from_environment(device)  # torchrun: one SAE across processes
    if world is not None:
        device = world.device(device)
    if recipe.model_config["source"] in SHARD_SOURCES:
        return _train_from_shards(recipe, arch, config, train_config, store=store, device=device, seed=seed, epochs=epochs, progress=progress,
                                  cancel=cancel, umap=umap, stage=stage, world=world, start=start)
    stage(f"Reading activations for {recipe.name} ({recipe.model_config['source']} source)")
    source = build_source(recipe, dataset, device, seed, store)
    torch.manual_seed(seed)
    if isinstance(source.model, (MLPBlock, MiniLMBlock)):  # a transcoder: rows are [block input | block output]
        sae = make_sae(arch, source.model.d_in, recipe.model_config, d_out=source.model.d_out)
    else:
        sae = make_sae(arch, source.d, recipe.model_config)
    sae.fit_input(torch.as_tensor(source.acts_train))
    on = device_name(device) + (f" x {world.world_size} processes ({world.backend})" if world is not None else "")
    stage(f"Training the {arch} SAE ({sae.width} latents) on {source.n_train:,} activations on {on}")
    fit = explain.train_sae(sae, source.acts_train, config, device=device, seed=seed, progress=progress, cancel=cancel, world=world)
    if world is not None and not world.is_main:  # rank 0 measures and writes the artifact
        return TrainedModel(recipe.name, sae, source.dataset, {"world_size": world.world_size}, None, device, None, {"rank": world.rank})
    _round_to_float16(sae)
    model = SplicedModel(sae, source.model).to(device).eval()
    metrics, analysis = measure(recipe, sae, source, model, device, seed, umap, stage, cancel, train_config)
    metrics.update({"epochs_run": config.epochs, "steps": fit.steps, "activations_per_second": round(fit.activations_per_second, 1), "world_size": world.world_size if world else 1})
    analysis.metrics = metrics
    manifest = model_manifest(
        recipe, dataset=source.dataset.summary(), model_config=recipe.model_config,
        train_config={**config.to_dict(), **{k: v for k, v in train_config.items() if k.startswith("sweep")}},
        seed=seed, config_hash=recipe.config_hash(seed, {"epochs": epochs} if epochs else None), metrics=metrics, device=device,
        train_seconds=time.perf_counter() - start,
        sae={"arch": arch, "config": sae.config.to_dict()},
        source={"kind": source.kind, "description": source.description, "n_train": source.n_train, "n": len(source.acts), "d": source.d, **_source_manifest(source)},
    )
    stage("Saving to the store")
    files = {"model.safetensors": _state_to_store(model), "history.json": fit.history, **analysis.to_files()}
    if source.kind == "text":
        files[WINDOWS_FILE] = _windows_arrays(source.dataset)
    artifact = store.save(recipe.name, files, manifest)
    return _trained(recipe.name, model, source.dataset, artifact, device, analysis, source)


# -- recipes trained from activation shards on disk ------------------------------------------------------
SHARD_SOURCES = ("shards",)  # {"source": "shards", "data": FOLDER or the name of a set in the store's activations/}


def shard_recipe(path) -> Recipe | None:
    """``train --data SHARD_FOLDER``: the default TopK SAE (4d latents, k about sqrt(d)) for one streamed
    epoch of batches of 4,096, as ``explain sae --data`` trains it; None when the path is not a shard folder."""
    if not ShardSet.is_shard_folder(path):
        return None
    folder = Path(path).expanduser().resolve()
    arch, settings = default_user_sae(ShardSet(folder).d, None)
    name = safe_name(folder.name)  # an artifact name is a lower-case slug
    return Recipe(f"{name}-sae", FAMILY, name, f"sae-{arch}", {"source": "shards", "data": str(folder), **settings}, dict(SHARD_TRAIN_CONFIG),
                  f"{arch} SAE ({settings['width']} latents, k={settings['k']}) streamed from the activation shards {folder}.", trainer=TRAINER)


SHARD_TRAIN_CONFIG = {"epochs": 1, "batch_size": 4096, "lr": 1e-3, "dead_window": 100, "lr_decay_fraction": 0.2}


def recipe_shards(recipe: Recipe, store: Store) -> ShardSet:
    data = Path(str(recipe.model_config["data"])).expanduser()
    return ShardSet(data if data.is_absolute() else shard_folder(store.root, str(data)))


def stored_shard_recipes(store: Store) -> list[Recipe]:
    """The SAEs ``train --data SHARD_FOLDER`` and ``collect-acts --train`` saved to ``store``, as recipes rebuilt
    from their manifests (what they were trained with), so the SAE page's picker can offer them; artifacts
    that cannot be read are left out (the model hub reports them)."""
    found = []
    for name in store.names():
        try:
            manifest = store.open(name, verify=False).manifest
        except StoreError:
            continue
        if manifest.get("trainer") != TRAINER or (manifest.get("source") or {}).get("kind") != "shards":
            continue
        found.append(Recipe(name, FAMILY, manifest["dataset"]["name"], manifest["arch"], manifest["model_config"], manifest["train_config"],
                            manifest.get("description") or f"SAE streamed from the activation shards {manifest['source'].get('folder')}.", trainer=TRAINER))
    return found


def register_stored_shard_recipes(store: Store) -> list[str]:
    """Register ``stored_shard_recipes(store)`` as recipes (a recipe of another kind keeps its name); their names."""
    known = {r.name: r for r in recipes.list_recipes()}
    names = []
    for recipe in stored_shard_recipes(store):
        if recipe.name not in known or known[recipe.name].model_config.get("source") in SHARD_SOURCES:
            recipes.register(recipe)
            names.append(recipe.name)
    return names


def _train_from_shards(recipe, arch, config, train_config, *, store, device, seed, epochs, progress, cancel, umap, stage, world, start) -> TrainedModel:
    """Train streaming from every shard but the last (each rank its own shards under torchrun), measure on
    the last, and store what the page shows: the feature statistics and each feature's top examples
    from one streaming pass over every shard, and the codes of those top examples only (the page reads
    their activations back from the shards), so neither training nor the artifact holds the set."""
    shards = recipe_shards(recipe, store)
    if len(shards) < 2:
        raise DataError(f"'{shards.folder}' holds {len(shards)} shard; expected at least 2 (the last is held out to measure the SAE).")
    train, test = shards.subset(list(range(len(shards) - 1))), shards.read(len(shards) - 1).numpy()
    torch.manual_seed(seed)
    sae = make_sae(arch, shards.d, recipe.model_config).fit_input(train.fit_sample())
    on = device_name(device) + (f" x {world.world_size} processes ({world.backend}), each reading its own shards" if world is not None else "")
    stage(f"Training the {arch} SAE ({sae.width} latents) streaming {train.total:,} activations from {len(train)} shards on {on}")
    fit = explain.train_sae(sae, StreamedActivations(train, seed=seed), config, device=device, seed=seed, progress=progress, cancel=cancel, world=world)
    if world is not None and not world.is_main:
        return TrainedModel(recipe.name, sae, None, {"world_size": world.world_size}, None, device, None, {"rank": world.rank})
    _round_to_float16(sae)
    stage("Measuring reconstruction quality on the held-out last shard")
    metrics = {k: rounded(v) for k, v in explain.reconstruction_metrics(sae, test, device).items()}
    stage(f"Feature statistics and top examples: one pass over all {shards.total:,} activations")
    stats = feature_statistics(sae.encode, shards, explain.N_TOP, device=device)
    rows = np.unique(stats.top_ids[stats.top_ids >= 0])
    dataset = _shard_examples(shards, rows, recipe.name)
    codes = explain.encode_codes(sae, np.concatenate([dataset.X_train, dataset.X_test]), device)
    features = explain.feature_table(codes, [""] * sae.width)  # then the whole set's figures in place of the top examples'
    features["density"], features["dead"] = stats.counts / stats.n, stats.counts == 0
    features["mean_activation"], features["max_activation"] = np.where(stats.counts > 0, stats.sums / np.maximum(stats.counts, 1), 0.0), stats.maxima
    metrics.update({"dead_fraction": rounded(float((stats.counts == 0).mean())), "n_features": int(sae.width), "n_parameters": count_parameters(sae),
                    "test_accuracy": None, "train_accuracy": None, "epochs_run": config.epochs, "steps": fit.steps,
                    "activations_per_second": round(fit.activations_per_second, 1), "world_size": world.world_size if world else 1,
                    "n_train": train.total, "n_test": len(test), "shards": len(shards), "peak_rss_mb": round(peak_rss_mb(), 1)})
    analysis = explain.SAEAnalysis(metrics=metrics, codes=codes, features=features, density_histogram=explain.log_density_histogram(stats.counts / stats.n))
    stage("Mapping decoder directions" + (" (UMAP)" if umap else " (PCA)"))
    analysis.maps = explain.decoder_maps(sae.W_dec.detach().cpu().numpy(), seed=seed, umap=umap)
    analysis.sweep = [{"arch": sae.arch, "width": sae.width, "k": int(getattr(sae.config, "k", None) or 0), "l0": metrics["l0"], "explained_variance": metrics["explained_variance"], "dead_fraction": metrics["dead_fraction"], "this": True}]
    manifest = model_manifest(
        recipe, dataset=dataset.summary(), model_config=recipe.model_config, train_config=config.to_dict(), seed=seed,
        config_hash=recipe.config_hash(seed, {"epochs": epochs} if epochs else None), metrics=metrics, device=device, train_seconds=time.perf_counter() - start,
        sae={"arch": arch, "config": sae.config.to_dict()},
        source={"kind": "shards", "description": f"{shards.total:,} activations of dimension {shards.d} in {len(shards)} shards at {shards.folder}", "folder": str(shards.folder),
                "n_train": len(dataset.X_train), "n": codes.n, "d": shards.d, "rows_trained": train.total, "rows": shards.total, "meta": shards.meta},  # n_train, n: the stored examples, as the page counts them
    )
    stage("Saving to the store")
    files = {"model.safetensors": _state_to_store(SplicedModel(sae, None)), "history.json": fit.history, **analysis.to_files(), EXAMPLES_FILE: {"rows": rows.astype(np.int64)}}
    artifact = store.save(recipe.name, files, manifest)
    return _trained(recipe.name, SplicedModel(sae, None).to(device).eval(), dataset, artifact, device, analysis, None)


def _shard_examples(shards: ShardSet, rows: np.ndarray, name: str) -> Dataset:
    """The examples a shard-trained SAE's page shows (every feature's top rows), read back from the shards."""
    from interp_core.families.sae.activations import acts_dataset

    dataset = acts_dataset(shards.rows_of(rows).numpy(), None, f"{name}-top-examples")
    dataset.source = f"user file {shards.folder.name} (each feature's top examples)"
    return dataset


def _source_manifest(source: sources.ActivationSource) -> dict:
    if source.kind == "digits" or source.kind == "image":
        block = {"block": source.model.block} if isinstance(source.model, MLPBlock) else {}  # a transcoder's block
        return {"base_recipe": getattr(source.model, "base_recipe", "digits-mlp"), "base_config": source.model.base_config, **block}
    if source.kind == "toy":
        return {"n_features": int(source.model.W.shape[1]), "d_hidden": int(source.model.W.shape[0])}
    if source.kind == "text":
        block = {"block": source.model.block} if isinstance(source.model, MiniLMBlock) else {}  # a transcoder's MLP block
        return {"layer": source.model.layer, "n_topics": int(source.model.centroids.shape[0]), "temperature": source.model.temperature, **block}
    return {}


def _state_to_store(model: SplicedModel) -> dict[str, torch.Tensor]:
    """SAE weights as float16, the source's own small parts as float32; MiniLM's encoder is not copied."""
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("source.encoder."):
            continue
        is_sae_weight = key.startswith("sae.") and key.split(".", 1)[1] in ("W_enc", "W_dec", "b_enc", "b_dec")
        state[key] = value.detach().cpu().half() if is_sae_weight else value.detach().cpu()
    return state


def _windows_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    return {
        "X_train": dataset.X_train.round().astype(np.uint16), "y_train": dataset.y_train.astype(np.int64),
        "X_test": dataset.X_test.round().astype(np.uint16), "y_test": dataset.y_test.astype(np.int64),
    }


def measure(recipe, sae, source, model, device, seed, umap, stage, cancel, train_config) -> tuple[dict, explain.SAEAnalysis]:
    """Quality metrics and the page's precomputed analysis for a trained SAE on its source."""
    stage("Measuring reconstruction quality on held-out activations")
    metrics = {k: rounded(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()}
    codes = explain.encode_codes(sae, source.acts, device)
    density = explain.densities(codes)
    metrics.update({"dead_fraction": rounded(float((density == 0).mean())), "n_features": int(sae.width), "n_parameters": count_parameters(model)})
    recovery = None
    cos = None
    W_dec = sae.W_dec.detach().cpu().numpy()
    if source.true_features is not None:
        recovery = explain.feature_recovery(W_dec, source.true_features)
        metrics.update({"mmcs": rounded(recovery.mmcs), "mcc": rounded(recovery.mcc)})
        truth = source.true_features / np.linalg.norm(source.true_features, axis=1, keepdims=True)
        cos = truth @ W_dec.T
        if "parents" in source.extras:  # a generated hierarchical toy: feature absorption on the held-out rows
            metrics.update(toy_absorption(sae, source))
    if source.model is not None:
        stage("Splicing the reconstruction back into the model (clean, SAE, zero-ablation)")
        dataset = source.dataset
        loss = "mse" if source.kind == "toy" else "ce"
        spliced = explain.spliced_metrics(model, dataset.X_test, dataset.y_test, loss=loss, targets=dataset.X_test if loss == "mse" else None)
        metrics.update({k: rounded(v) if isinstance(v, float) else v for k, v in spliced.items()})
        if source.kind == "text":  # MiniLM: how far the splice moves the sentence embedding
            metrics.update({k: rounded(v) for k, v in explain.spliced_cosines(model, dataset.X_test).items()})
        evaluated = recipes.evaluate(model, dataset, device)  # the numbers tests/test_shipped.py re-checks
        metrics.update({"test_accuracy": evaluated["test_accuracy"], "train_accuracy": evaluated["train_accuracy"]})
    stage("Feature statistics, top examples and output effects")
    token_names = source.output_names if source.kind == "text" else None
    fit_codes = codes.head(source.n_train)  # labels are read from the training examples and judged on the held-out ones
    labels = explain.feature_labels(fit_codes, source.kind, recovery_cos=cos, example_labels=source.example_labels, label_names=source.label_names, token_names=token_names)
    class_share = labels.class_share
    if source.kind == "toy" and source.example_labels is not None:
        class_share = explain.feature_labels(fit_codes, "image", example_labels=source.example_labels, label_names=source.label_names).class_share
    presence = label_presence(source, cos is not None)
    confidence = explain.label_confidence(codes, labels.values, presence, np.arange(source.n_train, codes.n)) if presence is not None else None
    analysis = explain.SAEAnalysis(metrics=metrics, codes=codes, features=explain.feature_table(codes, labels.text, confidence), class_share=class_share,
                                   density_histogram=explain.log_density_histogram(density), recovery=recovery,
                                   output_names=None if source.kind == "text" else source.output_names, label_names=source.label_names)
    if source.output_directions is not None:
        up, up_v, down, down_v = explain.output_effects(W_dec, source.output_directions, scale=float(sae.input_scale))
        analysis.promoted, analysis.promoted_values, analysis.suppressed, analysis.suppressed_values = up, up_v, down, down_v
    stage("Mapping decoder directions" + (" (UMAP; the first map in a process compiles numba code)" if umap else " (PCA)"))
    analysis.maps = explain.decoder_maps(W_dec, seed=seed, umap=umap)
    ks = [k for k in train_config.get("sweep_k", []) if k != getattr(sae.config, "k", None)]
    if ks:
        stage(f"Sweep: {len(ks)} more SAEs with k = {', '.join(map(str, ks))} on the same activations")
        sweep_config = explain.SAETrainConfig.from_dict({**train_config, "epochs": train_config.get("sweep_epochs", train_config.get("epochs", 10))})
        arch = sae.arch
        analysis.sweep = explain.run_sweep(lambda k: make_sae(arch, source.d, recipe.model_config, k=k), ks, source.acts_train, source.acts_test, sweep_config, device=device, seed=seed, cancel=cancel)
    if train_config.get("compare_archs"):
        analysis.comparison = synth.compare_on_toys(seed=seed, device=device, cancel=cancel, stage=stage)
    analysis.sweep.append({"arch": sae.arch, "width": sae.width, "k": int(getattr(sae.config, "k", None) or 0), "l0": metrics["l0"], "explained_variance": metrics["explained_variance"], "dead_fraction": metrics["dead_fraction"], "this": True})
    return metrics, analysis


def toy_absorption(sae, source: sources.ActivationSource) -> dict:
    """``absorption`` and ``parent_silent`` on a generated toy's held-out rows (``synth.absorption``)."""
    n = source.n_train
    return synth.sae_absorption(sae, source.acts_test, source.true_features, np.asarray(source.extras["true_acts"])[n:], np.asarray(source.extras["parents"]))


def label_presence(source: sources.ActivationSource, by_true_feature: bool):
    """Which label values each example has (n, V), for ``explain.label_confidence``: the true features
    on in it (labels that name a true feature: the toy's feature vectors, or a generated toy's
    ``true_acts``), else its class or its token (``example_labels``); None when nothing is known."""
    from scipy.sparse import csr_matrix

    if by_true_feature:
        if source.kind == "toy":
            return csr_matrix(np.concatenate([source.dataset.X_train, source.dataset.X_test]) > 0)
        true_acts = source.extras.get("true_acts")
        return None if true_acts is None else csr_matrix(np.asarray(true_acts) > 0)
    if source.example_labels is None:
        return None
    n_values = len(source.output_names) if source.kind == "text" else len(source.label_names or []) or int(source.example_labels.max()) + 1
    return explain.one_hot(source.example_labels, n_values)


def rounded(value: float) -> float:
    return round(float(value), 6) if value == value else float("nan")


# -- the loader -----------------------------------------------------------------------------------------
def load_sae_recipe(artifact: Artifact, catalog: Catalog, device: torch.device, dataset: Dataset | None = None) -> TrainedModel:
    manifest = artifact.manifest
    store = catalog.store_for(artifact)
    try:
        sae = build_sae(manifest["sae"]["arch"], manifest["sae"]["config"])
        kind = manifest["source"]["kind"]
        info = manifest["source"]
    except (KeyError, TypeError) as exc:
        raise StoreError(f"Artifact '{artifact.name}' has a manifest this version cannot build ({exc}); retrain it.") from None
    if kind == "toy":
        source_model = ToyModel(info["n_features"], info["d_hidden"])
        dataset = dataset or load_dataset(manifest["dataset"]["name"])
    elif kind == "image" and "block" in info:  # a transcoder on one hidden block
        source_model = MLPBlock(build_model("mlp", info["base_config"]), info["block"])
        source_model.base_config, source_model.base_recipe = info["base_config"], info["base_recipe"]
        source_model.description = block_description(source_model, info["base_recipe"])
        dataset = dataset or load_dataset(manifest["dataset"]["name"])
    elif kind == "image":
        source_model = DigitsHidden(build_model("mlp", info["base_config"]))
        dataset = dataset or load_dataset(manifest["dataset"]["name"])
    elif kind == "text":
        if "block" in info:  # a transcoder on one layer's MLP block
            source_model = MiniLMBlock(sources.load_minilm(), info["block"], info["n_topics"], info["temperature"])
        else:
            source_model = MiniLMTopics(sources.load_minilm(), info["layer"], info["n_topics"], info["temperature"])
        windows = store.read_arrays(artifact, WINDOWS_FILE)
        dataset = sources.text_dataset(windows["X_train"].astype(np.float32), windows["y_train"], windows["X_test"].astype(np.float32), windows["y_test"], manifest["dataset"]["class_names"])
    elif kind == "user":
        source_model = None  # a user's activations come without their model
        dataset = dataset or load_dataset(manifest["dataset"]["name"])
    elif kind == "shards":  # the top examples' activations, read back from the shard set
        source_model = None
        dataset = _shard_examples(ShardSet(info["folder"]), store.read_arrays(artifact, EXAMPLES_FILE)["rows"], artifact.name)
    else:
        raise StoreError(f"Artifact '{artifact.name}' names an activation source this version does not know ({kind}); retrain it.")
    model = SplicedModel(sae, source_model)
    state = {k: v.float() for k, v in store.read_tensors(artifact).items()}
    expected = {k for k in model.state_dict() if not k.startswith("source.encoder.")}
    if set(state) != expected:
        raise StoreError(f"Artifact '{artifact.name}' holds weights that do not fit its SAE ({len(set(state) ^ expected)} mismatched tensors); retrain it.")
    model.load_state_dict(state, strict=False)
    model.to(device).eval()
    output_names = None
    if kind == "text":
        output_names = sources.token_strings(np.arange(sources.minilm_tokenizer().get_vocab_size()))
    analysis = explain.SAEAnalysis.from_files(*read_analysis_files(artifact, store), output_names)
    if kind == "text":
        backfill_text_confidence(analysis, dataset, output_names)
    return _trained(artifact.name, model, dataset, artifact, device, analysis, None)


def backfill_text_confidence(analysis: explain.SAEAnalysis, dataset: Dataset, token_names: list[str]) -> None:
    """Labels with a precision/recall for a text SAE stored before they were measured (e.g. the
    shipped minilm-sae, whose labels were read from all its tokens): the labels are read again from
    the stored codes of the training tokens only, exactly as ``measure`` reads them for a new SAE,
    and judged on the held-out tokens. The weights and the feature numbers stay as they are."""
    features = analysis.features
    if features["label_support"].sum() > 0:
        return
    windows = np.concatenate([dataset.X_train, dataset.X_test]).round().astype(np.int64)
    token_window, token_position = sources.content_tokens(windows)
    if len(token_window) != analysis.codes.n:
        return  # codes that do not line up with the windows: leave the labels and their confidence as stored
    tokens = windows[token_window, token_position]
    n_train = int((token_window < len(dataset.X_train)).sum())
    labels = explain.feature_labels(analysis.codes.head(n_train), "text", example_labels=tokens, token_names=token_names)
    confidence = explain.label_confidence(analysis.codes, labels.values, explain.one_hot(tokens, len(token_names)), np.arange(n_train, analysis.codes.n))
    features["label"] = labels.text
    for key in explain.CONFIDENCE_COLUMNS:
        features[key] = confidence[key].to_numpy()


def _trained(name, model, dataset, artifact, device, analysis, source) -> TrainedModel:
    kind = artifact.manifest["source"]["kind"]
    # the page shows a shard-trained SAE's top examples as it shows a user's activations: by number
    extras = {"classifier": False, "sae": model.sae, "analysis": analysis, "source_kind": "user" if kind == "shards" else kind}
    if source is not None:
        extras["source"] = source
    return TrainedModel(name, model, dataset, artifact.manifest, artifact, device, None, extras)


MINILM_WIDTH = 384  # all-MiniLM-L6-v2's hidden size


def _topic_head(layer: int, n_topics: int, temperature: float = 20.0) -> torch.nn.Module:
    """What a text source adds to the packaged MiniLM (its topic centroids): built for the size check only."""
    return MiniLMTopics(SimpleNamespace(word=SimpleNamespace(embedding_dim=MINILM_WIDTH)), layer, n_topics, temperature)


def sae_builds(manifest) -> list[tuple[str, object, dict]]:
    """What ``load_sae_recipe`` builds from a manifest: the SAE, and the source model's own parts."""
    sae, source = manifest.sae or {}, manifest.source or {}
    uses = [("sae.config", f"sae-{sae.get('arch')}", sae.get("config"))]
    kind = source.get("kind")
    if kind == "toy":
        uses.append(("source", ToyModel, {"n_features": source.get("n_features"), "d_hidden": source.get("d_hidden")}))
    elif kind == "image":
        uses.append(("source.base_config", "mlp", source.get("base_config")))
    elif kind == "text":
        uses.append(("source", _topic_head, {key: source.get(key) for key in ("layer", "n_topics", "temperature")}))
    return uses
