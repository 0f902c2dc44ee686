"""Groups, their irreducible representations and the Fourier-basis explanation, checked against
cases whose answer is known: group axioms, textbook character values, orthogonality, and
hand-built networks whose mechanism is known by construction."""

from math import factorial

import numpy as np
import pytest

from interp_core.families.mechanisms.data import all_pairs, corrupt_labels, get_group, pairs_dataset, split_pairs
from interp_core.errors import DataError
from interp_core.families.mechanisms import explain as gx
from interp_core.families.mechanisms.models import NetworkParts

GROUPS = ["Z7", "Z8", "D3", "D4", "D5", "D6", "S3", "S4"]


# -- groups -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", GROUPS + ["S5"])
def test_tables_satisfy_the_group_axioms(key):
    g = get_group(key)
    t = g.table
    n = g.order
    assert n == {"Z": g.n, "D": 2 * g.n, "S": factorial(g.n)}[key[0]]
    assert (t[0] == np.arange(n)).all() and (t[:, 0] == np.arange(n)).all()  # element 0 is the identity
    assert all(sorted(row) == list(range(n)) for row in t) and all(sorted(col) == list(range(n)) for col in t.T)  # Latin square
    assert (t[t] == t[:, t]).all()  # associativity: [a, b, c] = (a·b)·c = a·(b·c)
    assert (t[np.arange(n), g.inverse] == 0).all()


def test_cyclic_is_addition_and_dihedral_relations_hold():
    z = get_group("Z113")
    x = np.arange(113)
    assert (z.table == (x[:, None] + x[None, :]) % 113).all()
    d = get_group("D6")
    r, s = d.generators["r"], d.generators["s"]
    power = 0
    for _ in range(6):
        power = d.table[r, power]
    assert power == 0 and d.table[s, s] == 0
    assert d.table[d.table[s, r], s] == d.inverse[r]  # s r s = r^-1
    assert not d.is_abelian and z.is_abelian


@pytest.mark.parametrize("key", ["Q8", "Z1", "S6", "D2", "banana"])
def test_unknown_or_out_of_range_groups_are_one_sentence_errors(key):
    with pytest.raises(DataError):
        get_group(key)


def test_pairs_dataset_split_and_corruption():
    ds = pairs_dataset("S3", 0.5, corrupt_fraction=0.25, seed=3)
    g = get_group("S3")
    train, test = ds.extras["train_index"], ds.extras["test_index"]
    assert len(train) == 18 and len(test) == 18 and not set(train) & set(test)
    truth = g.table.ravel()
    assert (ds.y_test == truth[test]).all()
    corrupted = ds.extras["corrupted"]
    assert corrupted.sum() == round(0.25 * 18)
    assert (ds.y_train[corrupted] != truth[train][corrupted]).all()  # a corrupted label is always wrong
    assert (ds.y_train[~corrupted] == truth[train][~corrupted]).all()
    # the stored split rebuilds the same dataset
    again = pairs_dataset("S3", 0.5, train_index=train, train_labels=ds.y_train)
    assert (again.X_train == ds.X_train).all() and (again.y_train == ds.y_train).all() and (again.extras["corrupted"] == corrupted).all()
    with pytest.raises(DataError):
        split_pairs(3, 1.0)
    labels, mask = corrupt_labels(np.zeros(100, dtype=np.int64), 5, 0.1)
    assert mask.sum() == 10 and (labels[mask] != 0).all() and (labels[~mask] == 0).all()


# -- irreducible representations --------------------------------------------------------------


def conjugacy_classes(key: str) -> list[set[int]]:
    g = get_group(key)
    seen, classes = set(), []
    for a in range(g.order):
        if a in seen:
            continue
        cls = {int(g.table[g.table[h, a], g.inverse[h]]) for h in range(g.order)}
        seen |= cls
        classes.append(cls)
    return classes


@pytest.mark.parametrize("key", GROUPS + ["S5", "D12"])
def test_irreps_are_orthogonal_representations_with_orthogonal_characters(key):
    g = get_group(key)
    found = gx.irreps(key)
    for irrep in found:
        assert gx.homomorphism_error(g, irrep.matrices) < 1e-10
        eye = np.einsum("gij,gkj->gik", irrep.matrices, irrep.matrices)
        assert np.abs(eye - np.eye(irrep.dim)).max() < 1e-10  # orthogonal matrices
    inner = gx.character_inner_products(key)
    expected_norm = np.array([1.0 if irrep.kind == "real" else 2.0 for irrep in found])
    assert np.allclose(np.diag(inner), expected_norm, atol=1e-10)
    assert np.allclose(inner - np.diag(np.diag(inner)), 0.0, atol=1e-10)
    assert sum(irrep.span_dim for irrep in found) == g.order
    # real-type irreps have Frobenius-Schur indicator 1, the rotation pairs of Z_n have 0
    for irrep in found:
        assert gx.frobenius_schur(irrep, g) == pytest.approx(1.0 if irrep.kind == "real" else 0.0, abs=1e-10)
    # as many complex irreps as conjugacy classes: a real-type irrep counts once, a complex pair twice
    n_complex_irreps = sum(1 if irrep.kind == "real" else 2 for irrep in found)
    assert n_complex_irreps == len(conjugacy_classes(key))


def test_symmetric_group_characters_match_the_textbook_table():
    g = get_group("S4")
    by_name = {irrep.short: irrep for irrep in gx.irreps("S4")}
    assert [irrep.dim for irrep in gx.irreps("S4")] == [1, 3, 2, 3, 1]
    element = {name: g.elements.index(name) for name in ("e", "(1 2)", "(1 2 3)", "(1 2 3 4)", "(1 2)(3 4)")}
    # classes:           e, (12), (123), (1234), (12)(34)
    textbook = {"[4]": [1, 1, 1, 1, 1], "[3,1]": [3, 1, 0, -1, -1], "[2,2]": [2, 0, -1, 0, 2], "[2,1,1]": [3, -1, 0, 1, -1], "[1,1,1,1]": [1, -1, 1, -1, 1]}
    for short, row in textbook.items():
        chi = by_name[short].character
        assert np.allclose([chi[element[c]] for c in ("e", "(1 2)", "(1 2 3)", "(1 2 3 4)", "(1 2)(3 4)")], row, atol=1e-10), short
    assert [irrep.dim for irrep in gx.irreps("S5")] == [1, 4, 5, 6, 5, 4, 1]


def test_dihedral_two_dimensional_characters():
    g = get_group("D6")
    two_d = [irrep for irrep in gx.irreps("D6") if irrep.dim == 2]
    assert len(two_d) == 2 and len(gx.irreps("D6")) == 6
    for k, irrep in enumerate(two_d, start=1):
        chi = irrep.character
        assert np.allclose(chi[:6], 2 * np.cos(2 * np.pi * k * np.arange(6) / 6))  # rotations r^j
        assert np.allclose(chi[6:], 0.0)  # reflections


def test_cyclic_fourier_basis_is_the_real_dft():
    basis = gx.fourier_basis("Z12")
    x = np.arange(12)
    assert np.allclose(basis.matrix.T @ basis.matrix, np.eye(12))
    assert np.allclose(basis.matrix[:, 0], 1 / np.sqrt(12))
    assert basis.names[1:3] == ["cos 1", "sin 1"]
    assert np.allclose(basis.matrix[:, 1], np.sqrt(2 / 12) * np.cos(2 * np.pi * x / 12))
    assert np.allclose(basis.matrix[:, 2], np.sqrt(2 / 12) * np.sin(2 * np.pi * x / 12))
    assert basis.names[-1] == "k=6" and np.allclose(basis.matrix[:, -1], (-1.0) ** x / np.sqrt(12))
    # energy sums to the squared norm (Parseval) and projection onto everything is the identity
    values = np.random.default_rng(0).normal(size=(12, 3))
    assert np.allclose(basis.energy(values).sum(axis=0), (values**2).sum(axis=0))
    assert np.allclose(basis.project(values, range(len(basis.irreps))), values)


@pytest.mark.parametrize("key", ["D4", "S4"])
def test_non_abelian_fourier_basis_is_orthonormal_and_complete(key):
    basis = gx.fourier_basis(key)
    n = basis.group.order
    assert basis.matrix.shape == (n, n)
    assert np.allclose(basis.matrix.T @ basis.matrix, np.eye(n))
    assert np.allclose(basis.matrix @ basis.matrix.T, np.eye(n))


# -- hand-built networks ----------------------------------------------------------------------


def hand_built(n: int, frequencies, neurons_per_frequency: int = 48, seed: int = 0) -> NetworkParts:
    """Neurons that read cos(ωx + θ) and cos(ωy + φ) for the given frequencies only; the output
    layer is fitted to cos(ω(x + y − z)), so every weight lives in those frequencies by construction."""
    rng = np.random.default_rng(seed)
    x = np.arange(n)
    left, right = [], []
    for k in frequencies:
        w = 2 * np.pi * k / n
        left.append(np.cos(w * x[:, None] + rng.uniform(0, 2 * np.pi, neurons_per_frequency)))
        right.append(np.cos(w * x[:, None] + rng.uniform(0, 2 * np.pi, neurons_per_frequency)))
    left, right = np.concatenate(left, axis=1), np.concatenate(right, axis=1)
    pairs = all_pairs(n)
    hidden = np.maximum(left[pairs[:, 0]] + right[pairs[:, 1]], 0)
    target = sum(np.cos(2 * np.pi * k / n * ((pairs[:, 0] + pairs[:, 1])[:, None] - x[None, :])) for k in frequencies)
    unembed = np.linalg.lstsq(hidden, target, rcond=None)[0]
    return NetworkParts(left, right, unembed)


def split_for(key: str) -> dict:
    g = get_group(key)
    train, test = split_pairs(g.order, 0.5)
    return {"train_index": train, "test_index": test, "train_labels": g.table.ravel()[train]}


def test_a_one_frequency_network_is_recovered():
    parts = hand_built(31, [5])
    report, decomposition, _ = gx.analyse(parts, "Z31", split_for("Z31"))
    assert report.brute_force_accuracy == 1.0
    assert report.key_irreps == ["k=5"]
    assert set(decomposition.dominant) == {5}  # every neuron is clustered on frequency 5
    assert decomposition.irrep_share[5] == pytest.approx(1.0)
    assert report.explained_accuracy == 1.0
    assert report.without_key_accuracy < 0.1  # chance is 1/31
    assert report.bound["accuracy"] == 1.0  # nothing outside the key frequency: the bound is tight
    assert report.bound["cost_ratio"] < 0.5


def test_two_frequencies_and_a_distractor():
    parts = hand_built(31, [3, 11])
    noise = 0.02 * np.cos(2 * np.pi * 7 * np.arange(31) / 31)[:, None] * np.ones((1, parts.n_neurons))
    parts = parts.with_(left=parts.left + noise)
    decomposition = gx.decompose(parts, "Z31")
    assert decomposition.key_names == ["k=3", "k=11"]
    assert gx.accuracy_on(gx.restrict(parts, "Z31", decomposition.key_irreps), np.arange(31 * 31), get_group("Z31").table.ravel()) == 1.0


def test_pair_contributions_add_up_to_the_logits():
    parts = hand_built(13, [2])
    frame = gx.pair_contributions(parts, "Z13", 4, 7)
    logits = parts.logits(np.array([4]), np.array([7]))[0]
    assert frame.attrs["truth"] == 11
    assert frame["to_margin"].sum() == pytest.approx(logits[11] - logits[frame.attrs["runner_up"]])
    assert frame.set_index("irrep")["to_margin"].abs().idxmax() == "k=2"


def test_equivariance_is_zero_for_the_true_function_and_large_for_noise():
    for key in ("Z9", "S3", "D4"):
        g = get_group(key)
        n = g.order
        exact = (np.arange(n)[None, None, :] == g.table[:, :, None]).astype(float)  # logits = one-hot of x·y
        result = gx.equivariance(None, g, exact)
        assert result.mean_left < 1e-6 and result.mean_right < 1e-6
        assert result.left_unpermuted[1:].min() > 0.5
        noisy = gx.equivariance(None, g, np.random.default_rng(0).normal(size=(n, n, n)))
        assert noisy.mean_left > 1.0 and noisy.mean_right > 1.0


def test_the_bound_never_exceeds_brute_force():
    g = get_group("S3")
    rng = np.random.default_rng(1)
    for _ in range(5):
        parts = NetworkParts(rng.normal(size=(6, 16)), rng.normal(size=(6, 16)), rng.normal(size=(16, 6)))
        keep = list(rng.choice(range(1, 3), size=1))
        bound = gx.margin_bound(parts, "S3", keep)
        assert bound.accuracy <= gx.brute_force(parts, g)[0]
        assert bound.brute_force_flops > 0 and bound.proves and bound.does_not_prove


def test_memorising_neurons_are_found_and_pruned():
    n = 23
    general = hand_built(n, [4], neurons_per_frequency=40)
    rng = np.random.default_rng(2)
    extra = 6
    parts = NetworkParts(
        np.concatenate([general.left, 0.4 * rng.normal(size=(n, extra))], axis=1),  # small: most weight stays in k=4
        np.concatenate([general.right, 0.4 * rng.normal(size=(n, extra))], axis=1),
        np.concatenate([general.unembed, 0.05 * rng.normal(size=(extra, n))], axis=0),
    )
    decomposition = gx.decompose(parts, f"Z{n}")
    assert decomposition.key_names == ["k=4"]
    found = gx.memorising_neurons(decomposition, threshold=0.5)
    assert found == list(range(40, 40 + extra))
    g = get_group(f"Z{n}")
    train, test = split_pairs(n, 0.5)
    labels = g.table.ravel()[train].copy()
    labels[:10] = (labels[:10] + 1) % n  # ten corrupted training labels
    report = gx.pruning_report(parts, g, {"train_index": train, "test_index": test, "train_labels": labels}, found, 0.5)
    table = report.accuracies
    assert table.loc["clean training pairs", "after"] == 1.0
    assert table.loc["corrupted training pairs (true answer)", "after"] == 1.0
    assert table.loc["corrupted training pairs (their wrong label)", "after"] == 0.0
    assert table.loc["corrupted training pairs (their wrong label)", "pairs"] == 10


@pytest.mark.parametrize("key", ["Z10", "D12", "S4"])
def test_the_irrep_table_reports_the_checks(key):
    table = gx.irrep_table(key)
    assert table["basis functions"].sum() == get_group(key).order
    assert set(np.round(table["<χ,χ>"], 9)) <= {1.0, 2.0}
    assert (table["max |ρ(ab) − ρ(a)ρ(b)|"] < 1e-10).all()
    assert ((table["<χ,χ>"].round(9) == 2.0) == (table["Frobenius–Schur"].abs() < 1e-9)).all()
