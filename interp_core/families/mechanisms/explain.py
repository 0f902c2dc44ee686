"""Reverse-engineering networks trained on group multiplication, and checking the explanation.

1. Irreducible representations, computed here: Z_n (rotations by 2πk/n), D_n (the 1-d sign
   characters and the 2-d rotation/reflection irreps) and S_n (Young's orthogonal form). Each is
   built from matrices for the group's generators and extended to every element through the
   multiplication table, then checked: homomorphism, orthogonal matrices, orthogonal characters.
2. The group Fourier basis: an orthonormal basis of functions G -> R grouped by irrep (the real
   DFT 1, cos, sin for Z_n; the scaled matrix entries sqrt(d/|G|) ρ_ij(g) for D_n and S_n).
3. Decomposition of a trained network (``NetworkParts``) on that basis: the embedding spectrum,
   each neuron's share per irrep, the key irreps, neuron clusters by dominant irrep.
4. Checks of the explanation: brute-force accuracy on all |G|² pairs, the accuracy of the network
   restricted to the key irreps (everything else ablated), the equivariance check of Wu, Jaburi,
   Drori & Gross (2024), and a margin bound on accuracy with its compute cost.
5. Memorising neurons (for corrupted labels): neurons little concentrated on the key irreps,
   pruned, with accuracies on corrupted and clean pairs before and after.

Arrays follow the shapes named in each dataclass; |G| is the group order, m the hidden width.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from interp_core.families.mechanisms.data import Group, all_pairs, get_group
from interp_core.families.mechanisms.models import NetworkParts

# ---------------------------------------------------------------------------------------------
# 1. Irreducible representations
# ---------------------------------------------------------------------------------------------


@dataclass
class Irrep:
    """One real irreducible representation: ``matrices[g]`` is ρ(g), a (dim, dim) orthogonal matrix.

    ``kind`` is "real" when ρ stays irreducible over the complex numbers (its d² matrix entries
    are independent functions) and "complex" when it is the real form of a pair of complex
    conjugate irreps (Z_n's rotations: its entries span only 2 functions, cos and sin).
    """

    name: str
    short: str
    dim: int
    matrices: np.ndarray  # (|G|, dim, dim)
    kind: str = "real"

    @property
    def character(self) -> np.ndarray:
        """(|G|,) χ(g) = trace ρ(g)."""
        return np.trace(self.matrices, axis1=1, axis2=2)

    @property
    def span_dim(self) -> int:
        """How many basis functions of G -> R this irrep contributes (d² or 2)."""
        return self.dim * self.dim if self.kind == "real" else 2


def _extend(group: Group, generator_matrices: dict[int, np.ndarray]) -> np.ndarray:
    """ρ on every element from ρ on generators: walk the Cayley graph, ρ(s·a) = ρ(s) ρ(a)."""
    dim = next(iter(generator_matrices.values())).shape[0]
    mats = np.full((group.order, dim, dim), np.nan)
    mats[0] = np.eye(dim)
    frontier = [0]
    while frontier:
        following = []
        for a in frontier:
            for s, matrix in generator_matrices.items():
                b = int(group.table[s, a])
                if np.isnan(mats[b, 0, 0]):
                    mats[b] = matrix @ mats[a]
                    following.append(b)
        frontier = following
    if np.isnan(mats).any():
        raise ValueError(f"the generators do not generate {group.name}")
    return mats


def homomorphism_error(group: Group, matrices: np.ndarray) -> float:
    """max |ρ(a·b) - ρ(a)ρ(b)| over all pairs: 0 for a representation."""
    products = np.einsum("aij,bjk->abik", matrices, matrices)
    return float(np.abs(matrices[group.table] - products).max())


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _cyclic_irreps(group: Group) -> list[Irrep]:
    n = group.n
    x = np.arange(n)
    out = [Irrep("trivial", "const", 1, np.ones((n, 1, 1)))]
    for k in range(1, (n - 1) // 2 + 1):
        mats = np.stack([_rotation(2 * np.pi * k * v / n) for v in x])
        out.append(Irrep(f"frequency {k}", f"k={k}", 2, mats, kind="complex"))
    if n % 2 == 0:
        out.append(Irrep(f"frequency {n // 2} (sign)", f"k={n // 2}", 1, ((-1.0) ** x)[:, None, None]))
    return out


def _dihedral_irreps(group: Group) -> list[Irrep]:
    n, r, s = group.n, group.generators["r"], group.generators["s"]
    out = [Irrep("trivial", "trivial", 1, _extend(group, {r: np.eye(1), s: np.eye(1)}))]
    out.append(Irrep("reflection sign (s → −1)", "sign(s)", 1, _extend(group, {r: np.eye(1), s: -np.eye(1)})))
    if n % 2 == 0:
        out.append(Irrep("rotation parity (r → −1)", "sign(r)", 1, _extend(group, {r: -np.eye(1), s: np.eye(1)})))
        out.append(Irrep("both signs (r, s → −1)", "sign(r,s)", 1, _extend(group, {r: -np.eye(1), s: -np.eye(1)})))
    for k in range(1, (n - 1) // 2 + 1):
        mats = _extend(group, {r: _rotation(2 * np.pi * k / n), s: np.diag([1.0, -1.0])})
        out.append(Irrep(f"2-d, rotation by {k}·360°/{n}", f"ρ{k}", 2, mats))
    return out


def partitions(n: int, largest: int | None = None) -> list[tuple[int, ...]]:
    """Partitions of n in decreasing lexicographic order: (n), (n-1, 1), ..."""
    largest = n if largest is None else largest
    if n == 0:
        return [()]
    return [(first, *rest) for first in range(min(n, largest), 0, -1) for rest in partitions(n - first, first)]


def standard_tableaux(shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], ...]]:
    """All standard Young tableaux of a shape (rows of the numbers 1..n, increasing along rows and columns)."""
    n = sum(shape)
    results = []

    def place(rows: list[list[int]], value: int) -> None:
        if value > n:
            results.append(tuple(tuple(row) for row in rows))
            return
        for r in range(len(shape)):
            if len(rows[r]) < shape[r] and (r == 0 or len(rows[r - 1]) > len(rows[r])):
                rows[r].append(value)
                place(rows, value + 1)
                rows[r].pop()

    place([[] for _ in shape], 1)
    return results


def _young_orthogonal(shape: tuple[int, ...], i: int) -> np.ndarray:
    """Young's orthogonal form of the transposition (i i+1) acting on the tableaux of ``shape``."""
    tableaux = standard_tableaux(shape)
    index = {t: k for k, t in enumerate(tableaux)}
    matrix = np.zeros((len(tableaux), len(tableaux)))
    for k, tableau in enumerate(tableaux):
        where = {v: (r, c) for r, row in enumerate(tableau) for c, v in enumerate(row)}
        (r1, c1), (r2, c2) = where[i], where[i + 1]
        if r1 == r2:
            matrix[k, k] = 1.0
        elif c1 == c2:
            matrix[k, k] = -1.0
        else:
            distance = (c2 - r2) - (c1 - r1)  # axial distance from i to i+1
            swapped = tuple(tuple(i + 1 if v == i else i if v == i + 1 else v for v in row) for row in tableau)
            matrix[k, k] = 1.0 / distance
            matrix[index[swapped], k] = np.sqrt(1.0 - 1.0 / distance**2)
    return matrix


def _partition_name(shape: tuple[int, ...], n: int) -> str:
    if shape == (n,):
        return "trivial"
    if shape == (1,) * n:
        return "sign"
    if shape == (n - 1, 1):
        return "standard"
    if shape == (2,) + (1,) * (n - 2):
        return "standard ⊗ sign"
    return ""


def _symmetric_irreps(group: Group) -> list[Irrep]:
    n = group.n
    transpositions = list(group.generators.values())  # (1 2), (2 3), ... in order
    out = []
    for shape in partitions(n):
        generators = {transpositions[i - 1]: _young_orthogonal(shape, i) for i in range(1, n)}
        mats = _extend(group, generators) if generators else np.ones((group.order, 1, 1))
        label = "[" + ",".join(map(str, shape)) + "]"
        common = _partition_name(shape, n)
        dim = mats.shape[1]
        out.append(Irrep(f"{common} {label} ({dim}-d)".strip() if common else f"{label} ({dim}-d)", label, dim, mats))
    return out


@lru_cache(maxsize=16)
def irreps(key: str) -> tuple[Irrep, ...]:
    """Every real irrep of a group (trivial first), each checked to be a representation."""
    group = get_group(key)
    builder = {"cyclic": _cyclic_irreps, "dihedral": _dihedral_irreps, "symmetric": _symmetric_irreps}[group.family]
    found = builder(group)
    for irrep in found:
        error = homomorphism_error(group, irrep.matrices)
        if error > 1e-8:
            raise RuntimeError(f"{irrep.name} of {group.name} is not a representation (error {error:.2e})")
    chars = np.stack([irrep.character for irrep in found])
    inner = chars @ chars.T / group.order
    expected = np.diag([1.0 if irrep.kind == "real" else 2.0 for irrep in found])
    if np.abs(inner - expected).max() > 1e-8:  # irreducible, and pairwise inequivalent
        raise RuntimeError(f"the characters of {group.name}'s irreps are not orthonormal (error {np.abs(inner - expected).max():.2e})")
    return tuple(found)


def irrep_table(key: str) -> pd.DataFrame:
    """One row per irrep with the checks it passed: dimension, type, <χ, χ>, Frobenius-Schur
    indicator, largest homomorphism error, and how many basis functions it gives."""
    group = get_group(key)
    rows = []
    for irrep in irreps(key):
        chi = irrep.character
        rows.append({
            "irrep": irrep.short,
            "name": irrep.name,
            "dimension": irrep.dim,
            "type": "real" if irrep.kind == "real" else "complex pair (real form)",
            "<χ,χ>": float(chi @ chi / group.order),
            "Frobenius–Schur": frobenius_schur(irrep, group),
            "max |ρ(ab) − ρ(a)ρ(b)|": homomorphism_error(group, irrep.matrices),
            "basis functions": irrep.span_dim,
        })
    return pd.DataFrame(rows)


def frobenius_schur(irrep: Irrep, group: Group) -> float:
    """(1/|G|) Σ χ(g²): 1 for a real-type irrep, 0 for the real form of a complex pair."""
    squares = group.table[np.arange(group.order), np.arange(group.order)]
    return float(irrep.character[squares].mean())


def character_inner_products(key: str) -> np.ndarray:
    """(k, k) matrix of <χ_a, χ_b> = (1/|G|) Σ_g χ_a(g) χ_b(g): diagonal 1 (real type) or 2 (complex type), 0 elsewhere."""
    chars = np.stack([irrep.character for irrep in irreps(key)])
    return chars @ chars.T / chars.shape[1]


# ---------------------------------------------------------------------------------------------
# 2. The group Fourier basis
# ---------------------------------------------------------------------------------------------


@dataclass
class FourierBasis:
    """An orthonormal basis of functions G -> R grouped by irrep.

    ``matrix`` (|G|, |G|): column c is a function on G with unit norm; ``irrep_of`` (|G|,) the irrep
    index of each column; ``names`` a label per column (e.g. "cos 14", "ρ1[0,1]").
    """

    group: Group
    irreps: tuple[Irrep, ...]
    matrix: np.ndarray
    irrep_of: np.ndarray
    names: list[str]

    @property
    def irrep_names(self) -> list[str]:
        return [irrep.short for irrep in self.irreps]

    def columns(self, keep) -> np.ndarray:
        return np.flatnonzero(np.isin(self.irrep_of, list(keep)))

    def energy(self, values: np.ndarray) -> np.ndarray:
        """(n_irreps, ...) squared norm of ``values`` (functions of G along axis 0) in each irrep's subspace."""
        coefficients = self.matrix.T @ values.reshape(values.shape[0], -1)
        energy = np.zeros((len(self.irreps), coefficients.shape[1]))
        np.add.at(energy, self.irrep_of, coefficients**2)
        return energy.reshape((len(self.irreps),) + values.shape[1:])

    def project(self, values: np.ndarray, keep) -> np.ndarray:
        """``values`` (|G|, ...) with every irrep outside ``keep`` removed (orthogonal projection)."""
        cols = self.matrix[:, self.columns(keep)]
        flat = values.reshape(values.shape[0], -1)
        return (cols @ (cols.T @ flat)).reshape(values.shape)


@lru_cache(maxsize=16)
def fourier_basis(key: str) -> FourierBasis:
    group = get_group(key)
    found = irreps(key)
    order = group.order
    columns, owner, names = [], [], []
    for k, irrep in enumerate(found):
        entries = np.sqrt(irrep.dim / order) * irrep.matrices.reshape(order, -1)
        if irrep.kind == "complex":  # rotation: first column (cos, sin) spans its functions
            cols = np.sqrt(2.0 / order) * irrep.matrices[:, :, 0]
            labels = [f"cos {irrep.short[2:]}", f"sin {irrep.short[2:]}"] if group.family == "cyclic" else [f"{irrep.short}[{i}]" for i in range(2)]
        elif irrep.dim == 1:
            cols, labels = entries, [irrep.short]
        else:
            cols = entries
            labels = [f"{irrep.short}[{i},{j}]" for i in range(irrep.dim) for j in range(irrep.dim)]
        columns.append(cols)
        owner += [k] * cols.shape[1]
        names += labels
    matrix = np.concatenate(columns, axis=1)
    if matrix.shape != (order, order):
        raise RuntimeError(f"{group.name}: the irreps give {matrix.shape[1]} basis functions, expected {order}")
    error = np.abs(matrix.T @ matrix - np.eye(order)).max()
    if error > 1e-8:
        raise RuntimeError(f"{group.name}: the Fourier basis is not orthonormal (error {error:.2e})")
    return FourierBasis(group, found, matrix, np.array(owner), names)


# ---------------------------------------------------------------------------------------------
# 3. Decomposing a network
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# 4. Checking the explanation
# ---------------------------------------------------------------------------------------------


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


@dataclass
class Bound:
    """A lower bound on the share of all |G|² pairs the network gets right, from the explanation.

    Each pair's logits are split into (a) the key-irrep part of the unembedding, computed exactly
    in the small key basis, (b) the ``unexplained_rank`` largest directions of what is left of the
    unembedding (ΔU), also computed exactly, and (c) the rest R of ΔU, replaced by its worst case:
    activations are >= 0, so |h·(R_z* − R_z)| <= Σ_j h_j · max_z |R_j,z* − R_j,z|. A pair is
    proved correct when the margin of (a)+(b) beats that worst case. ``flops`` and ``seconds``
    compare the cost with brute force; ``exact_flops`` is the cost of a complete certificate:
    this bound plus brute force on the pairs it leaves unproved.
    """

    accuracy: float
    certified: int
    total: int
    flops: int
    brute_force_flops: int
    seconds: float
    brute_force_seconds: float
    unexplained_rank: int = 0
    exact_flops: int = 0
    proves: str = ""
    does_not_prove: str = ""

    @property
    def cost_ratio(self) -> float:
        return self.flops / max(self.brute_force_flops, 1)


BOUND_PROVES = (
    "At least this share of all |G|² pairs is answered correctly by the actual network, with no "
    "sampling: for each pair, the logit margin computed from the key irreps of the output layer (plus "
    "a few unexplained directions, counted in the cost) is shown to beat a worst-case bound on "
    "everything else (up to float rounding, which a safety tolerance covers)."
)
BOUND_DOES_NOT_PROVE = (
    "It does not prove that the hidden layer works as the explanation says: hidden activations are "
    "still computed for every pair, so the saving over brute force is only in the output layer. It "
    "says nothing about inputs outside the group, and a low bound means the output weights outside "
    "the key irreps are too large to bound this crudely, not that the network is wrong."
)


def brute_force(parts: NetworkParts, group: Group) -> tuple[float, float, int]:
    """(accuracy over all |G|² pairs, seconds, flops) of the full network."""
    start = time.perf_counter()
    pairs = all_pairs(group.order)
    predicted = parts.logits(pairs[:, 0], pairs[:, 1]).argmax(axis=1)
    accuracy = float((predicted == group.table.ravel()).mean())
    seconds = time.perf_counter() - start
    n2, m, n = len(pairs), parts.n_neurons, group.order
    flops = n2 * m * 2 + n2 * m * n * 2  # hidden layer (add + ReLU), output layer (multiply-add)
    return accuracy, seconds, flops


def margin_bound(parts: NetworkParts, key: str, keep, unexplained_rank: int = 0, tolerance: float = 1e-9,
                 brute: tuple[float, float, int] | None = None) -> Bound:
    basis = fourier_basis(key)
    group = basis.group
    keep = sorted(set(keep) | {0})
    start = time.perf_counter()
    cols = basis.matrix[:, basis.columns(keep)]  # (|G|, k)
    unembed_key = parts.unembed @ cols  # (m, k): the output layer in the key basis
    residual = parts.unembed - unembed_key @ cols.T  # (m, |G|): what the explanation leaves out
    rank = int(max(0, min(unexplained_rank, min(residual.shape))))
    if rank:
        u, singular, vt = np.linalg.svd(residual, full_matrices=False)
        exact_in, exact_out = u[:, :rank] * singular[:rank], vt[:rank]  # (m, r), (r, |G|)
        residual = residual - exact_in @ exact_out
    # spread[j, z] = max over z' of |R[j, z] - R[j, z']|, computed once per neuron and answer
    spread = np.maximum(residual.max(axis=1, keepdims=True) - residual, residual - residual.min(axis=1, keepdims=True))
    pairs = all_pairs(group.order)
    truth = group.table.ravel()
    rows = np.arange(len(truth))
    hidden = parts.hidden(pairs[:, 0], pairs[:, 1])
    logits = (hidden @ unembed_key) @ cols.T  # (|G|², |G|) through the k-dim key basis
    if rank:
        logits += (hidden @ exact_in) @ exact_out
    correct = logits[rows, truth].copy()
    logits[rows, truth] = -np.inf
    margin = correct - logits.max(axis=1)
    slack = np.einsum("pj,jp->p", hidden, spread[:, truth])  # Σ_j h_j spread[j, z*]
    safe = margin > slack + tolerance * (1.0 + np.abs(correct) + slack)
    seconds = time.perf_counter() - start
    n2, m, n, k = len(pairs), parts.n_neurons, group.order, cols.shape[1]
    precompute = m * n * k * 4 + m * n * 3 + (4 * m * n * min(m, n) if rank else 0)  # key part, spread, SVD
    per_pair = 2 * m + 2 * m * k + 2 * k * n + 2 * m * rank + 2 * rank * n + 2 * m  # hidden, key logits, exact directions, slack
    flops = precompute + n2 * per_pair
    brute_accuracy, brute_seconds, brute_flops = brute or brute_force(parts, group)
    return Bound(
        accuracy=float(safe.mean()),
        certified=int(safe.sum()),
        total=int(len(safe)),
        flops=int(flops),
        brute_force_flops=int(brute_flops),
        seconds=seconds,
        brute_force_seconds=brute_seconds,
        unexplained_rank=rank,
        exact_flops=int(flops + (len(safe) - int(safe.sum())) * (brute_flops // max(n2, 1))),
        proves=BOUND_PROVES,
        does_not_prove=BOUND_DOES_NOT_PROVE,
    )


def bound_frontier(parts: NetworkParts, key: str, keep) -> list[Bound]:
    """The bound with 0, 1, 2, 4, 8, ... unexplained directions computed exactly: proof strength against cost."""
    group = get_group(key)
    brute = brute_force(parts, group)
    basis = fourier_basis(key)
    limit = group.order - len(basis.columns(set(keep) | {0}))
    ranks = sorted({0, *[r for r in (2**i for i in range(12)) if r < limit], limit})
    return [margin_bound(parts, key, keep, r, brute=brute) for r in ranks]


def headline_bound(frontier: list[Bound], slack: float = 0.01) -> Bound:
    """The cheapest bound within ``slack`` of the best one that costs less than brute force
    (the cheapest bound overall when none is cheaper than brute force)."""
    affordable = [b for b in frontier if b.cost_ratio < 1.0] or frontier[:1]
    best = max(b.accuracy for b in affordable)
    return min((b for b in affordable if b.accuracy >= best - slack), key=lambda b: b.flops)


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


# ---------------------------------------------------------------------------------------------
# 5. Memorising neurons
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Everything at once (what the trainer stores and the CLI prints)
# ---------------------------------------------------------------------------------------------


@dataclass
class GroupReport:
    """The whole explanation of one network with its faithfulness numbers (JSON-able via to_dict)."""

    group: str
    train_accuracy: float
    test_accuracy: float
    brute_force_accuracy: float
    explained_accuracy: float
    without_key_accuracy: float
    key_irreps: list[str]
    key_share: float
    bound: dict | None
    equivariance: dict
    memorising_neurons: list[int]
    pruning: dict
    bound_frontier: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def analyse(parts: NetworkParts, key: str, split: dict, coverage: float = 0.9, threshold: float = 0.5, with_bound: bool = True) -> tuple[GroupReport, Decomposition, Equivariance]:
    """Decompose, restrict, check and (for corrupted labels) prune: the numbers the page and CLI show."""
    # One BLAS thread: these matrices are small, and extra threads only add hand-offs (and make
    # the bound-vs-brute-force timings depend on how busy the machine is).
    with threadpool_limits(1):
        return _analyse(parts, key, split, coverage, threshold, with_bound)


def _analyse(parts: NetworkParts, key: str, split: dict, coverage: float, threshold: float, with_bound: bool) -> tuple[GroupReport, Decomposition, Equivariance]:
    start = time.perf_counter()
    group = get_group(key)
    truth = group.table.ravel()
    decomposition = decompose(parts, key, coverage)
    train_index, test_index = np.asarray(split["train_index"]), np.asarray(split["test_index"])
    train_labels = np.asarray(split["train_labels"])
    all_index = np.arange(len(truth))
    explained = restrict(parts, key, decomposition.key_irreps)
    others = [k for k in range(1, len(decomposition.irrep_names)) if k not in decomposition.key_irreps]
    without_key = restrict(parts, key, others)
    table = logits_table(parts)
    symmetry = equivariance(parts, group, table)
    frontier = bound_frontier(parts, key, decomposition.key_irreps) if with_bound else []
    bound = headline_bound(frontier) if frontier else None
    memorising = memorising_neurons(decomposition, threshold)
    pruning = pruning_report(parts, group, split, memorising, threshold, decomposition.key_irreps).to_dict()
    report = GroupReport(
        group=key,
        train_accuracy=accuracy_on(parts, train_index, train_labels),
        test_accuracy=accuracy_on(parts, test_index, truth[test_index]),
        brute_force_accuracy=float((table.reshape(len(truth), -1).argmax(axis=1) == truth).mean()),
        explained_accuracy=accuracy_on(explained, all_index, truth),
        without_key_accuracy=accuracy_on(without_key, all_index, truth),
        key_irreps=decomposition.key_names,
        key_share=float(decomposition.irrep_share[decomposition.key_irreps].sum()),
        bound=None if bound is None else {**asdict(bound), "cost_ratio": bound.cost_ratio},
        bound_frontier=[{"unexplained_rank": b.unexplained_rank, "accuracy": b.accuracy, "cost_ratio": b.cost_ratio, "seconds": b.seconds} for b in frontier],
        equivariance={"left": symmetry.mean_left, "right": symmetry.mean_right,
                      "left_unpermuted": float(symmetry.left_unpermuted[1:].mean()), "right_unpermuted": float(symmetry.right_unpermuted[1:].mean())},
        memorising_neurons=memorising,
        pruning=pruning,
        clusters=[{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()} for row in decomposition.clusters().to_dict(orient="records")],
    )
    report.seconds = time.perf_counter() - start
    return report, decomposition, symmetry
