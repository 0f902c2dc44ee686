"""Memorising neurons (for corrupted labels): neurons little concentrated on the key irreps, pruned,
with accuracies on corrupted and clean pairs before and after."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.families.mechanisms.data import Group
from interp_core.families.mechanisms.explain.checks import accuracy_on
from interp_core.families.mechanisms.explain.decomposition import Decomposition, restrict
from interp_core.families.mechanisms.models import NetworkParts

@dataclass
class Pruning:
    """Neurons with less than ``threshold`` of their weight in the key irreps, removed.

    accuracies: DataFrame indexed by the pairs scored ("corrupted training pairs (their wrong
    label)", "corrupted training pairs (true answer)", "clean training pairs", "test pairs", "all
    pairs (true answer)") with columns before, after (those neurons pruned), key irreps only (every
    neuron kept but every weight outside the key irreps removed, when key irreps are given) and pairs.
    """

    threshold: float
    neurons: list[int]
    accuracies: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-able; an accuracy over no pairs (no corrupted labels) is None rather than NaN."""
        table = self.accuracies.reset_index().astype(object)
        table = table.where(pd.notna(table), None)
        return {"threshold": self.threshold, "neurons": self.neurons, "accuracies": table.to_dict(orient="list")}


def memorising_neurons(decomposition: Decomposition, threshold: float = 0.5) -> list[int]:
    """Live neurons with less than ``threshold`` of their non-constant weight in the key irreps."""
    alive = decomposition.dominant >= 0
    return [int(j) for j in np.flatnonzero(alive & (decomposition.key_concentration < threshold))]


def prune(parts: NetworkParts, neurons) -> NetworkParts:
    """The network with the given neurons' output weights set to zero."""
    unembed = parts.unembed.copy()
    unembed[list(neurons)] = 0.0
    return parts.with_(unembed=unembed)


def pruning_report(parts: NetworkParts, group: Group, split: dict, neurons, threshold: float, key_irreps=None) -> Pruning:
    """Accuracies before and after pruning ``neurons``; ``split`` holds train_index, test_index,
    train_labels (as trained, corrupted ones included) and the group table gives the true answers."""
    truth = group.table.ravel()
    train_index, test_index = np.asarray(split["train_index"]), np.asarray(split["test_index"])
    train_labels = np.asarray(split["train_labels"])
    corrupted = train_labels != truth[train_index]
    subsets = {
        "corrupted training pairs (their wrong label)": (train_index[corrupted], train_labels[corrupted]),
        "corrupted training pairs (true answer)": (train_index[corrupted], truth[train_index[corrupted]]),
        "clean training pairs": (train_index[~corrupted], truth[train_index[~corrupted]]),
        "test pairs": (test_index, truth[test_index]),
        "all pairs (true answer)": (np.arange(len(truth)), truth),
    }
    variants = {"before": parts, "after": prune(parts, neurons)}
    if key_irreps is not None:
        variants["key irreps only"] = restrict(parts, group.key, key_irreps)
    frame = pd.DataFrame(
        {name: {**{label: accuracy_on(net, idx, lab) for label, net in variants.items()}, "pairs": len(idx)} for name, (idx, lab) in subsets.items()}
    ).T
    frame["pairs"] = frame["pairs"].astype(int)
    frame.index.name = "pairs scored"
    return Pruning(threshold, [int(j) for j in neurons], frame)
