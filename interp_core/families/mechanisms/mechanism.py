"""One trained group network with everything the Mechanisms page, the HTML report and Compare draw
from it: its group, its network split into parts, the stored analysis (recomputed, not saved, for an
artifact that lacks one), its training history and its train/test split. ui.mechanisms caches it;
the sections read it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.errors import StoreError
from interp_core.families.mechanisms import explain, population
from interp_core.families.mechanisms.artifacts import read_report, read_split
from interp_core.families.mechanisms.data import Group, get_group, pairs_dataset
from interp_core.families.mechanisms.models import NetworkParts
from interp_core.families.mechanisms.train import analysis_arrays
from interp_core.recipes import TrainedModel


@dataclass
class Mechanism:
    """One trained group network and everything the page draws from it (read-only)."""

    model: TrainedModel
    group: Group
    parts: NetworkParts
    explained: NetworkParts  # restricted to the key irreps
    history: dict
    report: dict
    arrays: dict[str, np.ndarray]
    split: dict[str, np.ndarray]
    irrep_names: list[str]
    irrep_long_names: list[str]

    @property
    def key_irreps(self) -> list[int]:
        return [int(k) for k in self.arrays["key_irreps"]]

    @property
    def corrupted(self) -> bool:
        truth = self.group.table.ravel()[self.split["train_index"]]
        return bool((self.split["train_labels"] != truth).any())

    @property
    def alive(self) -> np.ndarray:
        return self.arrays["dominant"] >= 0

    @property
    def element_names(self) -> list[str]:
        return list(self.group.elements)

    @property
    def product_names(self) -> np.ndarray:
        """The name of x·y for every pair (the hover text of the activation tables)."""
        return np.array(self.group.elements, dtype=object)[self.group.table]

    @property
    def prune_threshold(self) -> float:
        """The key-irrep share below which training called a neuron memorising (the page's default)."""
        return float(self.model.manifest.get("train_config", {}).get("prune_threshold", 0.5))

    def memorising(self, threshold: float) -> list[int]:
        """Live neurons with less than ``threshold`` of their weight in the key irreps."""
        return [int(j) for j in np.flatnonzero(self.alive & (self.arrays["key_concentration"] < threshold))]


def _stored_or_computed(model: TrainedModel, store, split: dict) -> tuple[dict, dict]:
    """The analysis saved at train time; recomputed (not saved) for artifacts that lack it."""
    stored = read_report(model.artifact, store)
    if stored is not None:
        return stored
    config = model.manifest.get("train_config", {})
    report, decomposition, symmetry = explain.analyse(model.model.parts(), model.extras["group"], split, config.get("coverage", 0.9), config.get("prune_threshold", 0.5))
    return report.to_dict(), analysis_arrays(decomposition, symmetry)


def load_mechanism(model: TrainedModel, store) -> Mechanism:
    """``model`` (a loaded mechanisms recipe) with its analysis, read from ``store``."""
    split = read_split(model.artifact, store)
    report, arrays = _stored_or_computed(model, store, split)
    return _assemble(model, split, report, arrays, store.read_json(model.artifact, "history.json"))


def _assemble(model: TrainedModel, split: dict, report: dict, arrays: dict, history: dict) -> Mechanism:
    key = model.extras["group"]
    parts = model.model.parts()
    basis = explain.fourier_basis(key)
    return Mechanism(
        model=model,
        group=get_group(key),
        parts=parts,
        explained=explain.restrict(parts, key, [int(k) for k in arrays["key_irreps"]]),
        history=history,
        report=report,
        arrays=arrays,
        split=split,
        irrep_names=basis.irrep_names,
        irrep_long_names=[irrep.name for irrep in basis.irreps],
    )


def load_member(artifact, store, index: int) -> Mechanism:
    """Model ``index`` of a stored population (population.py) as a Mechanism: its weights, its
    seed's split and its history; the analysis is recomputed (a population stores numbers, not arrays)."""
    stored = population.read_population(artifact, store)
    rows = {row["index"]: row for row in stored["rows"]}
    if index not in rows:
        raise StoreError(f"Population '{artifact.name}' has no model {index}; expected 0 to {len(rows) - 1}.")
    row = rows[index]
    key = artifact.manifest["group"]
    network = population.member_model(artifact, store, row)
    dataset = pairs_dataset(key, row["train_fraction"], row["corrupt"], row["seed"])
    split = {"train_index": dataset.extras["train_index"], "train_labels": dataset.y_train, "test_index": dataset.extras["test_index"]}
    history = stored["histories"][index]
    manifest = {
        **artifact.manifest,
        "dataset": {"group": key, "train_fraction": dataset.extras["train_fraction"], "corrupt_fraction": dataset.extras["corrupt_fraction"]},
        "train_config": {"coverage": 0.9, "prune_threshold": 0.5, "steps": row["steps"], "weight_decay": row["weight_decay"]},
        "metrics": {"memorise_step": row["memorise_step"], "grok_step": row["grok_step"], "test_accuracy": row["test_accuracy"]},
        "device_name": "CPU", "train_seconds": row["train_seconds"],
    }
    model = TrainedModel(f"{artifact.name} model {index}", network, dataset, manifest, artifact, torch.device("cpu"), extras={"classifier": False, "group": key})
    report, decomposition, symmetry = explain.analyse(network.parts(), key, split)
    return _assemble(model, split, report.to_dict(), analysis_arrays(decomposition, symmetry), history)
