"""The "groups" trainer and loader: full-batch AdamW on every training pair with a step-by-step
history (for grokking curves), the analysis stored with the checkpoint, and the network rebuilt
from the store with its exact train/test split."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from interp_core import recipes
from interp_core.data import Dataset, load_dataset
from interp_core.device import device_name, seed_everything
from interp_core.errors import StoreError, TrainingCancelled
from interp_core.families.mechanisms import explain as explain
from interp_core.families.mechanisms.data import get_group, pairs_dataset
from interp_core.families.mechanisms.models import GroupMLP
from interp_core.manifest import model_manifest
from interp_core.models import build_model, load_state
from interp_core.recipes import Recipe, TrainedModel
from interp_core.store import Artifact, Catalog, Store
from interp_core.training import ProgressEvent, _is_cancelled
from interp_core.families.mechanisms.artifacts import REPORT_ARRAYS, REPORT_FILE, SPLIT_FILE, read_split

FAMILY = "mechanisms"
TRAINER = "groups"
ARCH = "group_mlp"
DEFAULT_TRAIN = {"steps": 3000, "lr": 1e-2, "weight_decay": 1.0, "beta2": 0.98, "final_lr_fraction": 1.0, "eval_every": 25, "coverage": 0.9, "prune_threshold": 0.5}

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


def _history_row(model: GroupMLP, x_train, y_train, x_test, y_test, step: int, corrupted=None) -> dict:
    """One logged step; with corrupted labels (``corrupted``: their mask over the training pairs) also
    the share of corrupted pairs answered with their wrong label (memorised) and the clean pairs' accuracy."""
    with torch.no_grad():
        train_logits, test_logits = model(x_train), model(x_test)
        hits = train_logits.argmax(1) == y_train
        row = {
            "step": step,
            "train_loss": float(F.cross_entropy(train_logits, y_train)),
            "test_loss": float(F.cross_entropy(test_logits, y_test)),
            "train_accuracy": float(hits.float().mean()),
            "test_accuracy": float((test_logits.argmax(1) == y_test).float().mean()),
            "weight_norm": model.weight_norm(),
        }
        if corrupted is not None:
            row["corrupted_memorised"] = float(hits[corrupted].float().mean())
            row["clean_train_accuracy"] = float(hits[~corrupted].float().mean())
        return row


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
    mask = dataset.extras.get("corrupted") if dataset.extras else None
    corrupted = torch.as_tensor(np.asarray(mask, dtype=bool)).to(device) if mask is not None and np.any(mask) else None
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(config["lr"]), weight_decay=float(config["weight_decay"]), betas=(0.9, float(config["beta2"])))
    # Cosine decay to ``final_lr_fraction`` of the rate: large early steps grok fast, small late steps keep the result stable.
    floor = float(config.get("final_lr_fraction", 1.0))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
    model.eval()
    rows = [_history_row(model, x_train, y_train, x_test, y_test, 0, corrupted)]
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
            rows.append(_history_row(model, x_train, y_train, x_test, y_test, step, corrupted))
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
        SPLIT_FILE: {"train_index": split["train_index"].astype(np.int64), "test_index": split["test_index"].astype(np.int64), "train_labels": split["train_labels"].astype(np.int64)},
        REPORT_FILE: report.to_dict(),
        REPORT_ARRAYS: analysis_arrays(decomposition, symmetry),
    }
    stage("Saving to the store")
    artifact = store.save(recipe.name, files, manifest)
    return TrainedModel(recipe.name, model, dataset, artifact.manifest, artifact, device, extras={"classifier": False, "group": key})


def load_groups(artifact: Artifact, catalog: Catalog, device: torch.device, dataset: Dataset | None = None) -> TrainedModel:
    """Rebuild the network and its exact train/test split (stored with the checkpoint)."""
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
        split = read_split(artifact, store)
        dataset = pairs_dataset(key, manifest["dataset"].get("train_fraction", 0.5), train_index=split["train_index"], train_labels=split["train_labels"])
    return TrainedModel(artifact.name, model, dataset, manifest, artifact, device, extras={"classifier": False, "group": key})
