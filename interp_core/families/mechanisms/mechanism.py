"""One trained group network with everything the Mechanisms page, the HTML report and Compare draw
from it: its group, its network split into parts, the stored analysis (recomputed, not saved, for an
artifact that lacks one), its training history and its train/test split. ui.mechanisms caches it;
the sections read it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp_core.families.mechanisms import explain
from interp_core.families.mechanisms.artifacts import read_report, read_split
from interp_core.families.mechanisms.data import Group, get_group
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
    key = model.extras["group"]
    parts = model.model.parts()
    basis = explain.fourier_basis(key)
    return Mechanism(
        model=model,
        group=get_group(key),
        parts=parts,
        explained=explain.restrict(parts, key, [int(k) for k in arrays["key_irreps"]]),
        history=store.read_json(model.artifact, "history.json"),
        report=report,
        arrays=arrays,
        split=split,
        irrep_names=basis.irrep_names,
        irrep_long_names=[irrep.name for irrep in basis.irreps],
    )
