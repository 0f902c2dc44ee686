"""Mechanisms family: networks trained on group multiplication, reverse-engineered on the group's
Fourier / irreducible-representation basis and checked against brute force.

Registers the pair datasets, the ``group_mlp`` architecture, the "groups" trainer (full-batch
AdamW with a step-by-step history for grokking curves, and the analysis stored with the
checkpoint), the recipes, ``explain groups`` and ``bench groups``.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import partial
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from interp_core import recipes
from interp_core.family import Family, Uploads, register_family
from interp_core.families.mechanisms.sections import sections as family_sections
from interp_core.store import catalog_at
from interp_core.data import Dataset, load_dataset, register_dataset
from interp_core.families.mechanisms.data import get_group, pairs_dataset
from interp_core.device import device_name, seed_everything
from interp_core.errors import RecipeError, TrainingCancelled
from interp_core.families.mechanisms import explain as explain
from interp_core.manifest import model_manifest
from interp_core.models import build_model, load_state, register_architecture
from interp_core.families.mechanisms.models import GroupMLP
from interp_core.recipes import Recipe, Trainer, TrainedModel
from interp_core.store import Artifact, Catalog, Store
from interp_core.training import ProgressEvent, _is_cancelled

FAMILY = "mechanisms"
TRAINER = "groups"
ARCH = "group_mlp"
DEFAULT_TRAIN = {"steps": 3000, "lr": 1e-2, "weight_decay": 1.0, "beta2": 0.98, "final_lr_fraction": 1.0, "eval_every": 25, "coverage": 0.9, "prune_threshold": 0.5}

# name -> (group, training fraction, corrupted share of training labels, split seed)
DATASETS = {
    "z113_pairs": ("Z113", 0.4, 0.0, 0),
    "d12_pairs": ("D12", 0.5, 0.0, 0),
    "s4_pairs": ("S4", 0.5, 0.0, 0),
    "z59_noisy_pairs": ("Z59", 0.6, 0.05, 0),
}

register_architecture(ARCH, GroupMLP)
for _name, (_group, _fraction, _corrupt, _seed) in DATASETS.items():
    _what = f"all pairs of {_group[0]}_{_group[1:]}, {_fraction:.0%} train" + (f", {_corrupt:.0%} of training labels corrupted" if _corrupt else "")
    register_dataset(_name, partial(pairs_dataset, _group, _fraction, _corrupt, _seed), _what)


# -- training ---------------------------------------------------------------------------------

# Full-batch steps on matrices this small are dominated by thread hand-offs: one CPU thread is
# faster, and 10-100x faster when other processes share the cores (measured: 28 ms vs 300 ms
# per Z_113 step on a busy 2-core machine).
CPU_THREADS = 1


@contextmanager
def _cpu_threads(device: torch.device):
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _history_row(model: GroupMLP, x_train, y_train, x_test, y_test, step: int) -> dict:
    with torch.no_grad():
        train_logits, test_logits = model(x_train), model(x_test)
        return {
            "step": step,
            "train_loss": float(F.cross_entropy(train_logits, y_train)),
            "test_loss": float(F.cross_entropy(test_logits, y_test)),
            "train_accuracy": float((train_logits.argmax(1) == y_train).float().mean()),
            "test_accuracy": float((test_logits.argmax(1) == y_test).float().mean()),
            "weight_norm": model.weight_norm(),
        }


def fit_full_batch(
    model: GroupMLP,
    dataset: Dataset,
    config: dict,
    device: torch.device,
    seed: int,
    progress: Callable[[ProgressEvent], None] | None = None,
    cancel=None,
) -> dict[str, list[float]]:
    """Full-batch AdamW on every training pair; returns the history logged every ``eval_every`` steps.

    The held-out ("test") accuracy in the history is what makes grokking visible; it is logged,
    never used to stop or select weights: the last step's weights are kept.
    """
    seed_everything(seed)
    steps, every = int(config["steps"]), max(1, int(config["eval_every"]))
    x_train = torch.as_tensor(dataset.X_train).long().to(device)
    y_train = torch.as_tensor(dataset.y_train).to(device)
    x_test = torch.as_tensor(dataset.X_test).long().to(device)
    y_test = torch.as_tensor(dataset.y_test).to(device)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(config["lr"]), weight_decay=float(config["weight_decay"]), betas=(0.9, float(config["beta2"])))
    # Cosine decay to ``final_lr_fraction`` of the rate: large early steps grok fast, small late steps keep the result stable.
    floor = float(config.get("final_lr_fraction", 1.0))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
    rows = [_history_row(model, x_train, y_train, x_test, y_test, 0)]
    last_test = rows[0]["test_accuracy"]
    for step in range(1, steps + 1):
        if _is_cancelled(cancel):
            raise TrainingCancelled("Training was cancelled; nothing was saved.")
        model.train()
        loss = F.cross_entropy(model(x_train), y_train)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % every == 0 or step == steps:
            model.eval()
            rows.append(_history_row(model, x_train, y_train, x_test, y_test, step))
            last_test = rows[-1]["test_accuracy"]
        if progress is not None:
            progress(ProgressEvent(step, steps, float(loss.detach()), last_test, step, steps))
    model.eval()
    return {key: [row[key] for row in rows] for key in rows[0]}


def first_step(history: dict, key: str, level: float) -> int | None:
    """The first logged step where ``history[key]`` reaches ``level`` (None if never)."""
    for step, value in zip(history["step"], history[key]):
        if value >= level:
            return int(step)
    return None


def _split(dataset: Dataset) -> dict[str, np.ndarray]:
    return {"train_index": dataset.extras["train_index"], "test_index": dataset.extras["test_index"], "train_labels": dataset.y_train}


def analysis_arrays(decomposition: explain.Decomposition, symmetry: explain.Equivariance) -> dict[str, np.ndarray]:
    """The per-neuron / per-element arrays the page draws, stored so it opens instantly."""
    return {
        "element_energy_left": decomposition.element_energy_left,
        "element_energy_right": decomposition.element_energy_right,
        "irrep_share": decomposition.irrep_share,
        "neuron_share": decomposition.neuron_share,
        "neuron_importance": decomposition.neuron_importance,
        "dominant": decomposition.dominant.astype(np.int64),
        "key_concentration": decomposition.key_concentration,
        "key_irreps": np.asarray(decomposition.key_irreps, dtype=np.int64),
        "equivariance_left": symmetry.left,
        "equivariance_right": symmetry.right,
        "equivariance_left_unpermuted": symmetry.left_unpermuted,
        "equivariance_right_unpermuted": symmetry.right_unpermuted,
    }


def train_groups(recipe: Recipe, *, store: Store, dataset: Dataset | None, device: torch.device, seed: int, epochs: int | None,
                 progress=None, cancel=None, umap: bool = True, on_stage=None) -> TrainedModel:
    """The "groups" trainer: ``epochs`` (from the CLI or the hub) overrides the number of full-batch steps."""
    stage = on_stage or (lambda _text: None)
    dataset = dataset or load_dataset(recipe.dataset)
    overrides = {"steps": int(epochs)} if epochs else {}
    config = {**DEFAULT_TRAIN, **recipe.train_config, **overrides}
    key = dataset.extras["group"]
    group = get_group(key)
    seed_everything(seed)
    model_config = {"n_elements": group.order, **recipe.model_config}
    model = build_model(recipe.arch, model_config)
    stage(f"Training {recipe.name} on {device_name(device)} ({config['steps']} full-batch steps on {len(dataset.y_train)} pairs)")
    start = time.perf_counter()
    with _cpu_threads(device):
        history = fit_full_batch(model, dataset, config, device, seed, progress, cancel)
    seconds = time.perf_counter() - start
    stage("Evaluating and decomposing the network on the group's irreducible representations")
    model.cpu()
    metrics = recipes.evaluate(model, dataset, "cpu")
    split = _split(dataset)
    report, decomposition, symmetry = explain.analyse(model.parts(), key, split, config["coverage"], config["prune_threshold"])
    model.to(device).eval()
    memorise, grok = first_step(history, "train_accuracy", 0.99), first_step(history, "test_accuracy", 0.99)
    manifest = model_manifest(
        recipe,
        dataset={**dataset.summary(), "group": key, "train_fraction": dataset.extras["train_fraction"], "corrupt_fraction": dataset.extras["corrupt_fraction"]},
        model_config=model_config,
        train_config=config,
        seed=seed,
        config_hash=recipe.config_hash(seed, overrides or None),
        metrics={
            **metrics,
            "epochs_run": int(config["steps"]),
            "best_epoch": int(config["steps"]),
            "memorise_step": memorise,
            "grok_step": grok,
            "brute_force_accuracy": report.brute_force_accuracy,
            "explained_accuracy": report.explained_accuracy,
            "bound": None if report.bound is None else report.bound["accuracy"],
        },
        device=device,
        train_seconds=seconds,
    )
    files = {
        "model.safetensors": dict(model.state_dict()),
        "history.json": history,
        "split.safetensors": {"train_index": split["train_index"].astype(np.int64), "test_index": split["test_index"].astype(np.int64), "train_labels": split["train_labels"].astype(np.int64)},
        "analysis.json": report.to_dict(),
        "analysis.safetensors": analysis_arrays(decomposition, symmetry),
    }
    stage("Saving to the store")
    artifact = store.save(recipe.name, files, manifest)
    return TrainedModel(recipe.name, model, dataset, artifact.manifest, artifact, device, extras={"classifier": False, "group": key})


def load_groups(artifact: Artifact, catalog: Catalog, device: torch.device, dataset: Dataset | None = None) -> TrainedModel:
    """Rebuild the network and its exact train/test split (stored with the checkpoint)."""
    from interp_core.errors import StoreError

    manifest = artifact.manifest
    store = catalog.store_for(artifact)
    try:
        model = build_model(manifest["arch"], manifest["model_config"])
        key = manifest["dataset"]["group"]
    except (KeyError, TypeError) as exc:
        raise StoreError(f"Artifact '{artifact.name}' has a manifest this version cannot build ({exc}); retrain it.") from None
    load_state(model, store.read_tensors(artifact))
    model.to(device).eval()
    if dataset is None:
        split = store.read_arrays(artifact, "split.safetensors")
        dataset = pairs_dataset(key, manifest["dataset"].get("train_fraction", 0.5), train_index=split["train_index"], train_labels=split["train_labels"])
    return TrainedModel(artifact.name, model, dataset, manifest, artifact, device, extras={"classifier": False, "group": key})


recipes.register_trainer(TRAINER, Trainer(train_groups, load_groups))


# -- recipes ----------------------------------------------------------------------------------

recipes.register(Recipe(
    "z113-mlp", FAMILY, "z113_pairs", ARCH,
    {"hidden": 128, "embed_dim": 32},
    {"steps": 2000, "lr": 1e-2, "weight_decay": 1.0},
    "Addition mod 113 (Z_113) learned from 40% of all pairs: memorises first, then groks a Fourier algorithm.",
    trainer=TRAINER,
))
recipes.register(Recipe(
    "d12-mlp", FAMILY, "d12_pairs", ARCH,
    {"hidden": 256, "embed_dim": 32},
    {"steps": 4000, "lr": 1e-2, "weight_decay": 1.0, "final_lr_fraction": 0.1},
    "The 24 symmetries of a 12-gon (dihedral D_12) composed, learned from 50% of all pairs.",
    trainer=TRAINER,
))
recipes.register(Recipe(
    "s4-mlp", FAMILY, "s4_pairs", ARCH,
    {"hidden": 256, "embed_dim": 32},
    {"steps": 4000, "lr": 1e-2, "weight_decay": 1.0, "final_lr_fraction": 0.1},
    "The 24 permutations of 4 points (symmetric group S_4) composed, learned from 50% of all pairs.",
    trainer=TRAINER,
))
recipes.register(Recipe(
    "z59-noisy-mlp", FAMILY, "z59_noisy_pairs", ARCH,
    {"hidden": 128, "embed_dim": 32},
    {"steps": 4000, "lr": 1e-2, "weight_decay": 1.0},
    "Addition mod 59 from 60% of pairs, 5% of them with a wrong label: memorises the wrong labels and still generalises; find where the memory lives and remove it.",
    trainer=TRAINER,
))


# -- CLI: explain groups, bench groups ---------------------------------------------------------


def _group_recipe(name: str | None) -> Recipe:
    names = [r.name for r in recipes.list_recipes(FAMILY)]
    recipe = recipes.get_recipe(name or "z113-mlp")
    if recipe.family != FAMILY:
        raise RecipeError(f"'{recipe.name}' is not a group-operations recipe; expected one of: {', '.join(names)}.")
    return recipe


def explain_groups(args) -> dict:
    """``explain groups [RECIPE]``: recompute the explanation of a trained group network and its checks."""
    if getattr(args, "data", None):
        raise RecipeError("explain groups works on the group recipes (e.g. z113-mlp), not on --data files; the datasets are generated from the group.")
    recipe = _group_recipe(args.recipe)
    trained = recipes.train_or_load(recipe, catalog_at(args.store), device=args.device, seed=args.seed)
    store = catalog_at(args.store).store_for(trained.artifact)
    split = dict(store.read_arrays(trained.artifact, "split.safetensors"))
    config = trained.manifest.get("train_config", {})
    key = trained.extras["group"]
    report, decomposition, _ = explain.analyse(trained.model.cpu().parts(), key, split, config.get("coverage", 0.9), config.get("prune_threshold", 0.5))
    bound = report.bound
    result = {
        "recipe": recipe.name,
        "group": get_group(key).title,
        "train_accuracy": report.train_accuracy,
        "test_accuracy": report.test_accuracy,
        "brute_force_accuracy": report.brute_force_accuracy,
        "explained_accuracy": report.explained_accuracy,
        "key_irreps": report.key_irreps,
        "bound": None if bound is None else bound["accuracy"],
        "memorising_neurons": report.memorising_neurons,
        "without_key_accuracy": report.without_key_accuracy,
        "key_share": report.key_share,
        "equivariance": report.equivariance,
        "bound_cost_ratio": None if bound is None else bound["cost_ratio"],
        "bound_seconds": None if bound is None else bound["seconds"],
        "brute_force_seconds": None if bound is None else bound["brute_force_seconds"],
        "pruning": {
            name: {"before": before, "after_pruning": after, "key_irreps_only": key_only, "pairs": pairs}
            for name, before, after, key_only, pairs in zip(*(report.pruning["accuracies"][c] for c in ("pairs scored", "before", "after", "key irreps only", "pairs")))
        },
        "recorded_test_accuracy": trained.metrics.get("test_accuracy"),
        "status": trained.status,
    }
    if not args.json:
        print(f"{recipe.name}: {result['group']} ({trained.status})")
        print(f"  train {report.train_accuracy:.4f}  held-out {report.test_accuracy:.4f}  brute force (all pairs) {report.brute_force_accuracy:.4f}")
        print(f"  key irreps {', '.join(report.key_irreps)} hold {report.key_share:.1%} of the weights")
        print(f"  key irreps only {report.explained_accuracy:.4f}  key irreps removed {report.without_key_accuracy:.4f}")
        print(f"  equivariance distance left {report.equivariance['left']:.3f}  right {report.equivariance['right']:.3f}")
        if bound:
            print(f"  proved lower bound {bound['accuracy']:.4f} at {bound['cost_ratio']:.0%} of brute-force FLOPs")
        print(f"  memorising neurons (less than {config.get('prune_threshold', 0.5):.0%} of their weight in the key irreps): {len(report.memorising_neurons)}")
        print(f"    {'accuracy on':<46} {'before':>7} {'pruned':>7} {'key only':>9}")
        for name, values in result["pruning"].items():
            if values["pairs"]:
                print(f"    {name:<46} {values['before']:>7.3f} {values['after_pruning']:>7.3f} {values['key_irreps_only']:>9.3f}")
    return result


def bench_groups(args) -> dict:
    """``bench groups``: time training to grokking on this machine, and the bound against brute force."""
    from interp_core.device import resolve_device

    names = ["s4-mlp"] if args.quick else ["z113-mlp", "d12-mlp", "s4-mlp", "z59-noisy-mlp"]
    device = resolve_device(args.device)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print(f"training {name} on {device_name(device)}...", file=sys.stderr)
            start = time.perf_counter()
            trained = recipes.train(name, store=Store(folder), device=device, seed=args.seed)
            seconds = time.perf_counter() - start
            metrics = trained.metrics
            bound = Store(folder).read_json(trained.artifact, "analysis.json")["bound"]
            steps = metrics["epochs_run"]
            rows[name] = {
                "train_seconds": round(trained.manifest["train_seconds"], 2),
                "total_seconds": round(seconds, 2),
                "ms_per_step": round(1000 * trained.manifest["train_seconds"] / steps, 2),
                "steps": steps,
                "grok_step": metrics["grok_step"],
                "seconds_to_grok": None if metrics["grok_step"] is None else round(trained.manifest["train_seconds"] * metrics["grok_step"] / steps, 2),
                "test_accuracy": metrics["test_accuracy"],
                "explained_accuracy": metrics["explained_accuracy"],
                "bound": metrics["bound"],
                "bound_ms": round(1000 * bound["seconds"], 2) if bound else None,
                "brute_force_ms": round(1000 * bound["brute_force_seconds"], 2) if bound else None,
                "bound_flop_ratio": round(bound["cost_ratio"], 3) if bound else None,
            }
            if not args.json:
                print(f"{name:<16} {rows[name]}")
    return {"device": device_name(device), "recipes": rows}


register_family(Family(
    "mechanisms", "Mechanisms", icon=":material/hub:",
    pitch="Reverse-engineer networks trained on group operations, and check the explanation against brute force.",
    aliases=("groups",), explain=explain_groups, benches={"mechanisms": bench_groups}, sections=family_sections,
    compare_pair=("z113-mlp", "z59-noisy-mlp"), trainers=(TRAINER,),
    uploads=Uploads(cannot="Mechanisms takes apart networks trained on every pair of a group's elements (Z_n, S_n) and checks the explanation against brute force over that whole table; "
                           "an uploaded file has no group structure to check against, so bring your data to Home, Rules, Prototypes, Time series, Concepts or SAE features instead."),
))
