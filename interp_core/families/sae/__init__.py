"""SAE features: recipes, datasets, SAE architectures, the SAE trainer/loader, ``explain sae`` and ``bench sae``.

An SAE recipe's artifact holds the SAE (float16 weights), the source model's small parts (the toy
model, a copy of digits-mlp, MiniLM's topic centroids; MiniLM itself comes from its package), and
everything the page shows, precomputed: codes of every example, the feature table, output effects,
decoder maps, the density histogram, a k sweep and, for the toy, recovery of the true features.
Its ``test_accuracy`` is the source model's accuracy with the SAE's reconstruction spliced in.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from interp_core import recipes
from interp_core.family import Family, Uploads, register_family
from interp_core.families.sae.sections import sections as family_sections
from interp_core.progress import progress_bar
from interp_core.data import Dataset, load_dataset, register_dataset
from interp_core.families.sae import data as sources
from interp_core.device import device_name, resolve_device
from interp_core.errors import DataError, RecipeError, StoreError
from interp_core.families.sae import explain as explain
from interp_core.manifest import model_manifest
from interp_core.models import build_model, count_parameters, register_architecture
from interp_core.families.sae.models import SAE_ARCHITECTURES, DigitsHidden, MiniLMTopics, SplicedModel, ToyModel, build_sae
from interp_core.recipes import Recipe, Trainer, TrainedModel
from interp_core.store import Artifact, Catalog, Store

FAMILY = "sae"
TRAINER = "sae"

for _arch, _cls in SAE_ARCHITECTURES.items():
    register_architecture(f"sae-{_arch}", _cls)
register_dataset("toy_superposition", sources.load_toy_dataset, "toy model of superposition: 48 sparse features in 12 dimensions (generated, seeded)")
register_dataset("pydoc_topics", sources.load_text_dataset, "64-token windows of Python's reference documentation, ten topics (MiniLM token ids)")


def _recipe(name: str, dataset: str, arch: str, model_config: dict, train_config: dict, description: str) -> Recipe:
    return recipes.register(Recipe(name, FAMILY, dataset, f"sae-{arch}", model_config, train_config, description, trainer=TRAINER))


_recipe(
    "toy-sae", "toy_superposition", "topk",
    {"source": "toy", "width": 96, "k": 3},
    {"epochs": 30, "batch_size": 512, "lr": 3e-3, "dead_window": 200, "sweep_k": [1, 2, 4, 6, 8], "sweep_epochs": 10},
    "TopK SAE (96 latents, k=3) on the toy model of superposition: 48 known features in 12 dimensions.",
)
_recipe(
    "toy-sae-mp", "toy_superposition", "mp",
    {"source": "toy", "width": 96, "k": 3},
    {"epochs": 15, "batch_size": 512, "lr": 3e-3, "dead_window": 200, "resample_every": 150, "sweep_k": [1, 2, 4, 6], "sweep_epochs": 6},
    "Matching-pursuit SAE (MP-SAE, tied dictionary of 96 atoms, 3 pursuit steps) on the same toy model.",
)
_recipe(
    "digits-sae", "digits", "topk",
    {"source": "digits", "width": 256, "k": 8},
    {"epochs": 300, "batch_size": 256, "lr": 1e-3, "dead_window": 300, "sweep_k": [2, 4, 16, 32], "sweep_epochs": 100},
    "TopK SAE (256 latents, k=8) on the hidden layer of the digits-mlp classifier.",
)
_recipe(
    "minilm-sae", "pydoc_topics", "topk",
    {"source": "text", "layer": 3, "width": 1024, "k": 16},
    {"epochs": 20, "batch_size": 512, "lr": 2e-3, "dead_window": 400, "sweep_k": [4, 8, 32], "sweep_epochs": 8},
    "TopK SAE (1024 latents, k=16) on MiniLM's residual stream after layer 3, over Python's reference documentation.",
)

SAE_SETTINGS = ("width", "k", "l1_coefficient", "tolerance", "aux_k", "aux_coefficient", "threshold_momentum")


# -- building the activation source -----------------------------------------------------------------
def _sae_arch(recipe_or_manifest_arch: str) -> str:
    return recipe_or_manifest_arch.removeprefix("sae-")


def build_source(recipe: Recipe, dataset: Dataset | None, device: torch.device, seed: int, store: Store | None) -> sources.ActivationSource:
    """The recipe's activations and the model they come from (toy: trained here, seeded; digits:
    a copy of the digits-mlp recipe; text: MiniLM from its package with topic centroids fitted here)."""
    kind = recipe.model_config["source"]
    if kind == "toy":
        dataset = dataset or load_dataset(recipe.dataset)
        return sources.toy_source(dataset, sources.train_toy_model(dataset, seed=seed, steps=recipe.model_config.get("toy_steps", 1500)))
    if kind == "digits":
        dataset = dataset or load_dataset(recipe.dataset)
        base = recipes.train_or_load("digits-mlp", Catalog(store) if store is not None else Catalog(), device="cpu")
        source = DigitsHidden(copy.deepcopy(base.model).cpu()).eval()
        source.base_config = dict(base.manifest["model_config"])  # rebuilds the copy on load
        return sources.digits_source(dataset, source.to(device))
    if kind == "text":
        dataset = dataset or load_dataset(recipe.dataset)
        model = MiniLMTopics(sources.load_minilm(), recipe.model_config.get("layer", 3), dataset.n_classes).to(device).eval()
        sources.fit_topic_centroids(model, dataset)
        return sources.text_source(dataset, model)
    if kind == "user":
        dataset = dataset or load_dataset(recipe.dataset)
        return user_acts_source(dataset)
    raise RecipeError(f"Recipe '{recipe.name}' names an unknown activation source '{kind}'; expected toy, digits, text or user.")


# -- a user's activations (an NPZ with acts, optional true_features) as a dataset and a source ------
def acts_dataset(acts: np.ndarray, true_features: np.ndarray | None, name: str, seed: int = 0) -> Dataset:
    """Activations (n, d) as an "activations" Dataset: the training vectors, then 20% held out (as explain sae --data)."""
    source = sources.user_source(acts, true_features, name, seed=seed)
    n_train = source.n_train
    dataset = Dataset(name, "activations", source.acts[:n_train], np.zeros(n_train, dtype=np.int64), source.acts[n_train:], np.zeros(len(source.acts) - n_train, dtype=np.int64),
                      ["all"], description=source.description, source=f"user file {name}")
    if true_features is not None:
        dataset.extras["true_features"] = np.asarray(true_features, dtype=np.float32)
    return dataset


def user_acts_source(dataset: Dataset) -> sources.ActivationSource:
    true_features = dataset.extras.get("true_features")
    acts = np.concatenate([dataset.X_train, dataset.X_test])
    described = f"Activations from {dataset.source.removeprefix('user file ')}: {len(acts)} vectors of dimension {acts.shape[1]}" + (f", {len(true_features)} known true features." if true_features is not None else ".")
    return sources.ActivationSource(kind="user", description=described, acts=acts, n_train=len(dataset.X_train), dataset=dataset, true_features=true_features)


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
    stage(f"Reading activations for {recipe.name} ({recipe.model_config['source']} source)")
    source = build_source(recipe, dataset, device, seed, store)
    torch.manual_seed(seed)
    sae = make_sae(arch, source.d, recipe.model_config)
    sae.fit_input(torch.as_tensor(source.acts_train))
    stage(f"Training the {arch} SAE ({sae.width} latents) on {source.n_train:,} activations on {device_name(device)}")
    fit = explain.train_sae(sae, source.acts_train, config, device=device, seed=seed, progress=progress, cancel=cancel)
    _round_to_float16(sae)
    model = SplicedModel(sae, source.model).to(device).eval()
    metrics, analysis = measure(recipe, sae, source, model, device, seed, umap, stage, cancel, train_config)
    metrics.update({"epochs_run": config.epochs, "steps": fit.steps, "activations_per_second": round(fit.activations_per_second, 1)})
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
        files["windows.safetensors"] = _windows_arrays(source.dataset)
    artifact = store.save(recipe.name, files, manifest)
    return _trained(recipe.name, model, source.dataset, artifact, device, analysis, source)


def _source_manifest(source: sources.ActivationSource) -> dict:
    if source.kind == "digits" or source.kind == "image":
        return {"base_recipe": "digits-mlp", "base_config": source.model.base_config}
    if source.kind == "toy":
        return {"n_features": int(source.model.W.shape[1]), "d_hidden": int(source.model.W.shape[0])}
    if source.kind == "text":
        return {"layer": source.model.layer, "n_topics": int(source.model.centroids.shape[0]), "temperature": source.model.temperature}
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
    metrics = {k: _round(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()}
    codes = explain.encode_codes(sae, source.acts, device)
    density = explain.densities(codes)
    metrics.update({"dead_fraction": _round(float((density == 0).mean())), "n_features": int(sae.width), "n_parameters": count_parameters(model)})
    recovery = None
    cos = None
    W_dec = sae.W_dec.detach().cpu().numpy()
    if source.true_features is not None:
        recovery = explain.feature_recovery(W_dec, source.true_features)
        metrics.update({"mmcs": _round(recovery.mmcs), "mcc": _round(recovery.mcc)})
        truth = source.true_features / np.linalg.norm(source.true_features, axis=1, keepdims=True)
        cos = truth @ W_dec.T
    if source.model is not None:
        stage("Splicing the reconstruction back into the model (clean, SAE, zero-ablation)")
        dataset = source.dataset
        loss = "mse" if source.kind == "toy" else "ce"
        spliced = explain.spliced_metrics(model, dataset.X_test, dataset.y_test, loss=loss, targets=dataset.X_test if loss == "mse" else None)
        metrics.update({k: _round(v) if isinstance(v, float) else v for k, v in spliced.items()})
        evaluated = recipes.evaluate(model, dataset, device)  # the numbers tests/test_shipped.py re-checks
        metrics.update({"test_accuracy": evaluated["test_accuracy"], "train_accuracy": evaluated["train_accuracy"]})
    stage("Feature statistics, top examples and output effects")
    token_names = source.output_names if source.kind == "text" else None
    labels, class_share = explain.feature_labels(codes, source.kind, recovery_cos=cos, example_labels=source.example_labels, label_names=source.label_names, token_names=token_names)
    if source.kind == "toy" and source.example_labels is not None:
        _, class_share = explain.feature_labels(codes, "image", example_labels=source.example_labels, label_names=source.label_names)
    analysis = explain.SAEAnalysis(metrics=metrics, codes=codes, features=explain.feature_table(codes, labels), class_share=class_share,
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
    analysis.sweep.append({"arch": sae.arch, "width": sae.width, "k": int(getattr(sae.config, "k", 0)), "l0": metrics["l0"], "explained_variance": metrics["explained_variance"], "dead_fraction": metrics["dead_fraction"], "this": True})
    return metrics, analysis


def _round(value: float) -> float:
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
    elif kind == "image":
        source_model = DigitsHidden(build_model("mlp", info["base_config"]))
        dataset = dataset or load_dataset(manifest["dataset"]["name"])
    elif kind == "text":
        source_model = MiniLMTopics(sources.load_minilm(), info["layer"], info["n_topics"], info["temperature"])
        windows = store.read_arrays(artifact, "windows.safetensors")
        dataset = sources.text_dataset(windows["X_train"].astype(np.float32), windows["y_train"], windows["X_test"].astype(np.float32), windows["y_test"], manifest["dataset"]["class_names"])
    elif kind == "user":
        source_model = None  # a user's activations come without their model
        dataset = dataset or load_dataset(manifest["dataset"]["name"])
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
    analysis = explain.SAEAnalysis.from_files(store.read_json(artifact, "analysis.json"), store.read_arrays(artifact, "codes.safetensors"), store.read_arrays(artifact, "features.safetensors"), output_names)
    return _trained(artifact.name, model, dataset, artifact, device, analysis, None)


def _trained(name, model, dataset, artifact, device, analysis, source) -> TrainedModel:
    extras = {"classifier": False, "sae": model.sae, "analysis": analysis, "source_kind": artifact.manifest["source"]["kind"]}
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


recipes.register_trainer(TRAINER, Trainer(train_sae_recipe, load_sae_recipe, sae_builds))


# -- rebuilding a stored SAE's activations (CLI, page) ------------------------------------------------
def source_for(trained: TrainedModel) -> sources.ActivationSource:
    """The activation source of a loaded SAE recipe, rebuilt from the stored source model (no training)."""
    if "source" in trained.extras:
        return trained.extras["source"]
    kind, model, dataset = trained.extras["source_kind"], trained.model.source, trained.dataset
    if kind == "toy":
        source = sources.toy_source(dataset, model)
    elif kind == "image":
        source = sources.digits_source(dataset, model)
    else:
        source = sources.text_source(dataset, model)
    trained.extras["source"] = source
    return source


# -- CLI: explain sae [RECIPE] [--data acts.npz] --json ------------------------------------------------
def explain_cli(args) -> dict:
    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; an SAE recipe names its own activations.")
    device = resolve_device(args.device)
    if args.data:
        return _explain_user_file(args, device)
    name = args.recipe or "toy-sae"
    recipe = recipes.get_recipe(name)
    if recipe.family != FAMILY:
        raise RecipeError(f"Recipe '{name}' is not an SAE recipe; choose one of: {', '.join(r.name for r in recipes.list_recipes(FAMILY))}.")
    catalog = Catalog(Store(args.store) if args.store else Store())
    trained = recipes.train_or_load(recipe, catalog, device=device, seed=args.seed)
    source = source_for(trained)
    sae = trained.extras["sae"]
    result = {"recipe": name, "status": trained.status, "source": source.description}
    result.update({k: _round(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()})
    density = explain.densities(explain.encode_codes(sae, source.acts, device))
    result.update({"dead_fraction": _round(float((density == 0).mean())), "n_features": int(sae.width)})
    if source.true_features is not None:
        recovery = explain.feature_recovery(sae.W_dec.detach().cpu().numpy(), source.true_features)
        result.update({"mmcs": _round(recovery.mmcs), "mcc": _round(recovery.mcc)})
    loss = "mse" if source.kind == "toy" else "ce"
    spliced = explain.spliced_metrics(trained.model, trained.dataset.X_test, trained.dataset.y_test, loss=loss, targets=trained.dataset.X_test if loss == "mse" else None)
    result.update({k: _round(v) if isinstance(v, float) else v for k, v in spliced.items()})
    if not args.json:
        _print_metrics(result)
    return result


def default_user_sae(d: int, n_true: int | None) -> tuple[str, dict]:
    """TopK with 4x d latents (or 2x the known true features, if more) and k about sqrt(d)."""
    width = max(4 * d, 2 * (n_true or 0))
    return "topk", {"width": width, "k": max(1, min(width, int(round(math.sqrt(d)))))}


def _explain_user_file(args, device) -> dict:
    acts, true_features = sources.load_acts_file(args.data)
    source = sources.user_source(acts, true_features, os.path.basename(args.data), seed=args.seed)
    arch, settings = default_user_sae(source.d, None if true_features is None else len(true_features))
    torch.manual_seed(args.seed)
    sae = make_sae(arch, source.d, settings)
    sae.fit_input(torch.as_tensor(source.acts_train))
    steps_per_epoch = math.ceil(source.n_train / 512)
    config = explain.SAETrainConfig(epochs=max(1, min(3000 // steps_per_epoch, 200)), batch_size=512, lr=1e-3, dead_window=200)
    bar, update = progress_bar("explain sae")
    try:
        explain.train_sae(sae, source.acts_train, config, device=device, seed=args.seed, progress=update)
    finally:
        bar.close()
    result = {"data": args.data, "arch": arch, **settings, "n_train": source.n_train, "n_test": len(source.acts_test)}
    result.update({k: _round(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()})
    density = explain.densities(explain.encode_codes(sae, source.acts, device))
    result.update({"dead_fraction": _round(float((density == 0).mean())), "n_features": int(sae.width)})
    if true_features is not None:
        recovery = explain.feature_recovery(sae.W_dec.detach().cpu().numpy(), true_features)
        result.update({"mmcs": _round(recovery.mmcs), "mcc": _round(recovery.mcc)})
    if not args.json:
        _print_metrics(result)
    return result


def _print_metrics(result: dict) -> None:
    for key, value in result.items():
        print(f"{key:<22} {value:.4f}" if isinstance(value, float) else f"{key:<22} {value}")







# -- bench sae: our TopK trainer against SAELens's SAETrainer -------------------------------------------
BENCH_CONFIG = {"d": 384, "width": 3072, "k": 32, "batch_size": 4096, "steps": 20, "lr": 3e-4, "aux_coefficient": 1 / 32, "dead_window": 1000, "repeats": 2}
QUICK_CONFIG = {**BENCH_CONFIG, "width": 1536, "batch_size": 1024, "steps": 20, "repeats": 1}
SAELENS_HINT = "pip install -r requirements-bench.txt (SAELens is a benchmark-only dependency)"


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 matrix-multiply throughput (GFLOP/s) of an n x n product, best of ``repeats``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_activations(cfg: dict, quick: bool, seed: int) -> tuple[np.ndarray, str]:
    """Real activations when possible: MiniLM's residual stream (layer 3) over the pydoc windows."""
    if quick:
        rng = np.random.default_rng(seed)
        return rng.standard_normal((8192, cfg["d"])).astype(np.float32), "Gaussian noise (--quick)"
    dataset = sources.load_text_dataset(seed=seed, windows_per_topic=40)
    model = MiniLMTopics(sources.load_minilm(), 3, dataset.n_classes).eval()
    source = sources.text_source(dataset, model)
    return source.acts, f"MiniLM residual stream after layer 3, {len(source.acts):,} tokens of pydoc_data.topics"


def _ours(acts: torch.Tensor, cfg: dict, device: torch.device, seed: int) -> float:
    torch.manual_seed(seed)
    sae = build_sae("topk", {"d_in": cfg["d"], "width": cfg["width"], "k": cfg["k"], "aux_coefficient": cfg["aux_coefficient"]})
    sae.fit_input(acts[:4096])
    config = explain.SAETrainConfig(steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"], dead_window=cfg["dead_window"], grad_clip=1.0)
    explain.train_sae(sae, acts, explain.SAETrainConfig(steps=2, batch_size=cfg["batch_size"], lr=cfg["lr"]), device=device, seed=seed)  # warm-up
    _sync(device)
    result = explain.train_sae(sae, acts, config, device=device, seed=seed, log_points=1)
    _sync(device)
    return result.seconds


def _saelens(acts: torch.Tensor, cfg: dict, device: torch.device, seed: int) -> float:
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    from sae_lens import SAETrainer
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig

    torch.manual_seed(seed)

    def provider():
        generator = torch.Generator().manual_seed(seed)
        while True:
            order = torch.randperm(len(acts), generator=generator)
            for lo in range(0, len(acts) - cfg["batch_size"] + 1, cfg["batch_size"]):
                yield acts[order[lo : lo + cfg["batch_size"]]]

    def trainer(steps: int):
        sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=cfg["d"], d_sae=cfg["width"], k=cfg["k"], aux_loss_coefficient=cfg["aux_coefficient"], dtype="float32", device=str(device)))
        trainer_cfg = SAETrainerConfig(
            total_training_samples=steps * cfg["batch_size"], train_batch_size_samples=cfg["batch_size"], lr=cfg["lr"], lr_end=cfg["lr"] / 10, device=str(device),
            autocast=False, dead_feature_window=cfg["dead_window"], feature_sampling_window=10**9, n_checkpoints=0,
            save_final_checkpoint=False, logger=LoggingConfig(log_to_wandb=False),
        )
        return SAETrainer(trainer_cfg, sae, provider())

    trainer(2).fit()  # warm-up
    run = trainer(cfg["steps"])
    _sync(device)
    start = time.perf_counter()
    run.fit()
    _sync(device)
    return time.perf_counter() - start


def bench_sae(args) -> dict:
    """Train our TopK SAE and SAELens's SAETrainer on the same activations with the same settings;
    activations per second for each (best of ``repeats`` alternating runs), their ratio, and our
    trainer's share of the measured fp32 matmul throughput."""
    cfg = QUICK_CONFIG if args.quick else BENCH_CONFIG
    device = resolve_device(args.device)
    print(f"bench sae: preparing activations on {device_name(device)}...", file=sys.stderr)
    acts_np, what = bench_activations(cfg, args.quick, args.seed)
    acts = torch.as_tensor(acts_np)
    try:
        import sae_lens

        saelens_version = sae_lens.__version__
    except ImportError:
        saelens_version = None
        print(f"bench sae: SAELens is not installed, so only our trainer is timed; install it with: {SAELENS_HINT}", file=sys.stderr)
    gflops = matmul_gflops(device)
    ours, theirs = [], []
    for r in range(cfg["repeats"]):
        print(f"bench sae: round {r + 1}/{cfg['repeats']}: ours...", file=sys.stderr)
        ours.append(_ours(acts, cfg, device, args.seed))
        if saelens_version:
            print(f"bench sae: round {r + 1}/{cfg['repeats']}: SAELens {saelens_version}...", file=sys.stderr)
            theirs.append(_saelens(acts, cfg, device, args.seed))
    samples = cfg["steps"] * cfg["batch_size"]
    ours_rate = samples / min(ours)
    # FLOPs our trainer performs per activation: the dense encoder product, plus the sparse decoder
    # forward and the three sparse gradient products (k rows of d each).
    flops_per_activation = 2 * cfg["d"] * cfg["width"] + 4 * 2 * cfg["k"] * cfg["d"]
    result = {
        "device": device_name(device), "cpu_threads": torch.get_num_threads(), "activations": what, "n_activations": len(acts_np),
        "config": {k: cfg[k] for k in ("d", "width", "k", "batch_size", "steps", "lr", "aux_coefficient", "dead_window")} | {"dtype": "float32", "logging": "off", "grad_clip": 1.0},
        "ours_activations_per_s": round(ours_rate, 1), "ours_seconds": [round(s, 3) for s in ours],
        "matmul_gflops": round(gflops, 2),
        "ours_gflops": round(ours_rate * flops_per_activation / 1e9, 2),
        "ours_matmul_share": round(ours_rate * flops_per_activation / 1e9 / gflops, 4),
        "saelens_version": saelens_version,
        "saelens_activations_per_s": None, "saelens_seconds": [round(s, 3) for s in theirs], "sae_vs_saelens": None,
    }
    if theirs:
        saelens_rate = samples / min(theirs)
        result.update({"saelens_activations_per_s": round(saelens_rate, 1), "sae_vs_saelens": round(ours_rate / saelens_rate, 3)})
    else:
        result["saelens"] = f"not installed: {SAELENS_HINT}"
    if not args.json:
        print(f"activations: {what}; config {result['config']}")
        print(f"ours:    {ours_rate:12,.0f} activations/s  ({result['ours_matmul_share']:.1%} of the measured {gflops:.1f} GFLOP/s fp32 matmul)")
        if theirs:
            print(f"SAELens: {result['saelens_activations_per_s']:12,.0f} activations/s  -> ours / SAELens = {result['sae_vs_saelens']:.2f}x")
    return result


def upload_defaults(dataset: Dataset) -> list:
    """The page's default SAE for uploaded activations."""
    if dataset.modality != "activations":
        raise DataError(f"SAE features needs an NPZ with acts (n, d); this file holds {dataset.modality} data.")
    return [(user_recipe(dataset), None)]


def read_acts_upload(data: bytes, filename: str) -> Dataset:
    """An uploaded activations NPZ (acts, optional true_features) as an "activations" Dataset."""
    acts, true_features = sources.load_acts_file(data, filename=filename)
    return acts_dataset(acts, true_features, Path(filename).name)


register_family(Family(
    FAMILY, "SAE features", icon=":material/scatter_plot:",
    pitch="A sparse autoencoder splits a layer's activations into readable features, from a toy model to MiniLM.",
    explain=explain_cli, benches={FAMILY: bench_sae}, sections=family_sections, compare_pair=("toy-sae", "toy-sae-mp"), trainers=(TRAINER,),
    uploads=Uploads(
        accepts="an NPZ with acts (n vectors, d dimensions) from any model's layer, and optionally true_features (f, d) if the true directions are known; top examples are listed by number, since the file carries no inputs.",
        model_label="sparse autoencoder (TopK)", defaults=upload_defaults, read=read_acts_upload),
))
