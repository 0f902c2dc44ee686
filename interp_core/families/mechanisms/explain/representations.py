"""Representation theory of the groups: irreducible representations, characters, the group Fourier basis.

1. Irreducible representations, computed here: Z_n (rotations by 2πk/n), D_n (the 1-d sign
   characters and the 2-d rotation/reflection irreps) and S_n (Young's orthogonal form). Each is
   built from matrices for the group's generators and extended to every element through the
   multiplication table, then checked: homomorphism, orthogonal matrices, orthogonal characters.
2. The group Fourier basis: an orthonormal basis of functions G -> R grouped by irrep (the real
   DFT 1, cos, sin for Z_n; the scaled matrix entries sqrt(d/|G|) ρ_ij(g) for D_n and S_n).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from interp_core.families.mechanisms.data import Group, get_group

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
