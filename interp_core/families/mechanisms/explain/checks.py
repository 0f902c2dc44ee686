"""Checking the explanation against the network itself: its logits on every pair, accuracy on a set of
pairs, and the equivariance check of Wu, Jaburi, Drori & Gross (2024)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp_core.families.mechanisms.data import Group, all_pairs
from interp_core.families.mechanisms.models import NetworkParts

def logits_table(parts: NetworkParts) -> np.ndarray:
    """(|G|, |G|, |G|) logits of every pair: [x, y, z]."""
    pairs = all_pairs(parts.order)
    return parts.logits(pairs[:, 0], pairs[:, 1]).reshape(parts.order, parts.order, parts.order)


def accuracy_on(parts: NetworkParts, pair_index: np.ndarray, labels: np.ndarray) -> float:
    if len(pair_index) == 0:
        return float("nan")
    pairs = all_pairs(parts.order)[pair_index]
    return float((parts.logits(pairs[:, 0], pairs[:, 1]).argmax(axis=1) == labels).mean())


@dataclass
class Equivariance:
    """How far f(g·x, y) is from f(x, y) with its answers relabelled by g (and the same on the right).

    left[g] = |f(g·x, y)[g·z] - f(x, y)[z]| / |f| over all x, y, z (logits centred per pair);
    0 means exactly equivariant. ``left_unpermuted[g]`` compares f(g·x, y) with f(x, y) without
    relabelling: the scale an error would have if the network ignored the symmetry.
    Shapes: (|G|,) each; entry 0 (the identity) is 0.
    """

    left: np.ndarray
    right: np.ndarray
    left_unpermuted: np.ndarray
    right_unpermuted: np.ndarray

    @property
    def mean_left(self) -> float:
        return float(self.left[1:].mean()) if len(self.left) > 1 else 0.0

    @property
    def mean_right(self) -> float:
        return float(self.right[1:].mean()) if len(self.right) > 1 else 0.0


def equivariance(parts: NetworkParts, group: Group, table: np.ndarray | None = None) -> Equivariance:
    logits = logits_table(parts) if table is None else table
    logits = (logits - logits.mean(axis=2, keepdims=True)).astype(np.float32)
    scale = float(np.linalg.norm(logits)) or 1.0
    out = {name: np.zeros(group.order) for name in ("left", "right", "left_unpermuted", "right_unpermuted")}
    for g in range(1, group.order):
        on_left = group.table[g]  # x -> g·x
        moved = logits[on_left]  # [x, y, z] = f(g·x, y)[z]
        out["left"][g] = np.linalg.norm(moved[:, :, on_left] - logits) / scale
        out["left_unpermuted"][g] = np.linalg.norm(moved - logits) / scale
        on_right = group.table[:, g]  # y -> y·g
        moved = logits[:, on_right]
        out["right"][g] = np.linalg.norm(moved[:, :, on_right] - logits) / scale
        out["right_unpermuted"][g] = np.linalg.norm(moved - logits) / scale
    return Equivariance(**out)
