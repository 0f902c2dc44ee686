"""A trained network (``NetworkParts``) on the group Fourier basis: the embedding spectrum, each
neuron's share per irrep, the key irreps, neuron clusters by dominant irrep; the network restricted
to some irreps; each irrep's part of one pair's logits; one neuron's activations on every pair.

Arrays follow the shapes named in each dataclass; |G| is the group order, m the hidden width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.families.mechanisms.data import all_pairs
from interp_core.families.mechanisms.explain.representations import FourierBasis, fourier_basis
from interp_core.families.mechanisms.models import NetworkParts

@dataclass
class Decomposition:
    """A network's weights on the group Fourier basis.

    element_energy_left/right: (|G|, n_irreps) squared norm of each element's embedding (its row of
        ``left``/``right``) inside each irrep's component of the embedding matrix.
    irrep_share: (n_irreps,) share of the network's non-constant weight in each irrep (left, right
        and unembedding, each normalised to 1, averaged); 0 for the trivial irrep.
    neuron_share: (m, n_irreps) the same per neuron (rows sum to 1 over non-trivial irreps).
    neuron_importance: (m,) |unembedding row| × RMS activation over all pairs (0 = dead neuron).
    dominant: (m,) index of each neuron's largest non-trivial irrep; -1 for dead neurons.
    key_irreps: indices of the fewest irreps holding ``coverage`` of the non-constant weight.
    key_concentration: (m,) each neuron's share in the key irreps.
    """

    irrep_names: list[str]
    irrep_dims: list[int]
    element_energy_left: np.ndarray
    element_energy_right: np.ndarray
    irrep_share: np.ndarray
    neuron_share: np.ndarray
    neuron_importance: np.ndarray
    dominant: np.ndarray
    key_irreps: list[int]
    key_concentration: np.ndarray
    coverage: float

    @property
    def key_names(self) -> list[str]:
        return [self.irrep_names[k] for k in self.key_irreps]

    def clusters(self) -> pd.DataFrame:
        """One row per irrep that dominates at least one live neuron: its neurons and their weight."""
        alive = self.dominant >= 0
        total = self.neuron_importance[alive].sum() or 1.0
        rows = []
        for k in np.unique(self.dominant[alive]):
            members = np.flatnonzero(self.dominant == k)
            rows.append({
                "irrep": self.irrep_names[k],
                "key": bool(k in self.key_irreps),
                "neurons": len(members),
                "share of output weight": float(self.neuron_importance[members].sum() / total),
                "mean share in own irrep": float(self.neuron_share[members, k].mean()),
            })
        frame = pd.DataFrame(rows, columns=["irrep", "key", "neurons", "share of output weight", "mean share in own irrep"])
        dead = int((~alive).sum())
        if dead:
            frame.loc[len(frame)] = {"irrep": "dead (never active)", "key": False, "neurons": dead, "share of output weight": 0.0, "mean share in own irrep": float("nan")}
        return frame.sort_values(["key", "neurons"], ascending=False, ignore_index=True)


def _normalised_energy(basis: FourierBasis, values: np.ndarray) -> np.ndarray:
    """(n_irreps, m) energy per irrep of each column, trivial dropped, columns scaled to sum to 1."""
    energy = basis.energy(values)
    energy[0] = 0.0
    return energy / np.maximum(energy.sum(axis=0, keepdims=True), 1e-30)


def decompose(parts: NetworkParts, key: str, coverage: float = 0.9, dead_below: float = 1e-3) -> Decomposition:
    basis = fourier_basis(key)
    k = len(basis.irreps)
    per_neuron = (_normalised_energy(basis, parts.left) + _normalised_energy(basis, parts.right) + _normalised_energy(basis, parts.unembed.T)) / 3.0
    neuron_share = (per_neuron / np.maximum(per_neuron.sum(axis=0, keepdims=True), 1e-30)).T  # (m, k)

    pairs = all_pairs(parts.order)
    hidden = parts.hidden(pairs[:, 0], pairs[:, 1])
    importance = np.linalg.norm(parts.unembed, axis=1) * np.sqrt((hidden**2).mean(axis=0))
    alive = importance > dead_below * max(importance.max(), 1e-30)

    # Global share: each weight matrix's non-constant energy per irrep, normalised, averaged.
    shares = []
    for values in (parts.left, parts.right, parts.unembed.T):
        energy = basis.energy(values).sum(axis=1)
        energy[0] = 0.0
        shares.append(energy / max(energy.sum(), 1e-30))
    irrep_share = np.mean(shares, axis=0)

    ranked = [int(i) for i in np.argsort(-irrep_share) if i != 0]
    cumulative = np.cumsum(irrep_share[ranked])
    n_key = int(np.searchsorted(cumulative, coverage - 1e-12) + 1)
    key_irreps = sorted(ranked[: min(n_key, len(ranked))])

    dominant = np.where(alive, np.argmax(np.where(np.arange(k) == 0, -1.0, neuron_share), axis=1), -1)
    left_energy = np.stack([(basis.project(parts.left, [i]) ** 2).sum(axis=1) for i in range(k)], axis=1)
    right_energy = np.stack([(basis.project(parts.right, [i]) ** 2).sum(axis=1) for i in range(k)], axis=1)
    return Decomposition(
        irrep_names=basis.irrep_names,
        irrep_dims=[irrep.dim for irrep in basis.irreps],
        element_energy_left=left_energy,
        element_energy_right=right_energy,
        irrep_share=irrep_share,
        neuron_share=neuron_share,
        neuron_importance=importance,
        dominant=dominant,
        key_irreps=key_irreps,
        key_concentration=neuron_share[:, key_irreps].sum(axis=1),
        coverage=coverage,
    )


def restrict(parts: NetworkParts, key: str, keep) -> NetworkParts:
    """The network with every irrep outside ``keep`` removed from its embeddings and unembedding.

    The trivial irrep is always kept: on the embeddings it is a per-neuron constant (a bias that
    sets the ReLU threshold and says nothing about which element came in); on the unembedding it
    shifts every logit equally and cannot change the answer.
    """
    basis = fourier_basis(key)
    keep = sorted(set(keep) | {0})
    return parts.with_(
        left=basis.project(parts.left, keep),
        right=basis.project(parts.right, keep),
        unembed=basis.project(parts.unembed.T, keep).T,
    )


def pair_contributions(parts: NetworkParts, key: str, x: int, y: int) -> pd.DataFrame:
    """Per irrep: its part of the logits of pair (x, y). The parts sum exactly to the logits.

    Columns: irrep, to_correct (its logit for the right answer, relative to its mean logit),
    to_runner_up (same for the strongest wrong answer), to_margin (the difference).
    """
    basis = fourier_basis(key)
    group = basis.group
    logits = parts.logits(np.array([x]), np.array([y]))[0]
    truth = int(group.table[x, y])
    others = np.delete(np.arange(group.order), truth)
    runner_up = int(others[np.argmax(logits[others])])
    rows = []
    for k, irrep in enumerate(basis.irreps):
        part = basis.project(logits[:, None], [k])[:, 0]
        rows.append({
            "irrep": irrep.short,
            "name": irrep.name,
            "to_correct": float(part[truth] - part.mean()),
            "to_runner_up": float(part[runner_up] - part.mean()),
            "to_margin": float(part[truth] - part[runner_up]),
        })
    frame = pd.DataFrame(rows)
    frame.attrs.update({"truth": truth, "runner_up": runner_up, "predicted": int(np.argmax(logits)), "margin": float(logits[truth] - logits[runner_up])})
    return frame


def neuron_table(parts: NetworkParts, neuron: int) -> np.ndarray:
    """(|G|, |G|) the activation of one neuron on every pair [x, y]."""
    order = parts.order
    return np.maximum(parts.left[:, neuron][:, None] + parts.right[:, neuron][None, :], 0.0).reshape(order, order)
