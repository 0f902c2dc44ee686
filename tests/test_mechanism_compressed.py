"""The bound that also compresses the hidden layer (issue 21, Wu et al.'s compression): a proof, so
never above brute force; exact where nothing is left out and there is one bin per phase; reported by
``explain mechanisms --json`` beside today's bound."""

from __future__ import annotations

import numpy as np
import pytest

from interp_core.families.mechanisms import explain
from interp_core.families.mechanisms import population as pop
from interp_core.families.mechanisms.data import all_pairs, get_group
from interp_core.families.mechanisms.models import NetworkParts
from interp_core.store import Store
from tests.test_groups import hand_built


def _correct(parts, key: str) -> np.ndarray:
    group = get_group(key)
    pairs = all_pairs(group.order)
    return (parts.logits(pairs[:, 0], pairs[:, 1]).argmax(axis=1) == group.table.ravel()).reshape(group.order, group.order)


def test_on_a_hand_built_network_the_proof_is_exact_per_phase_and_sound_with_fewer_bins():
    parts = hand_built(31, [5])
    basis = explain.fourier_basis("Z31")
    cols = basis.matrix[:, basis.columns([5])]
    # votes moved inside frequency 5 only: some pairs go wrong, nothing falls outside the explanation
    noise = np.random.default_rng(3).normal(size=(parts.n_neurons, 2)) @ cols.T
    damaged = parts.with_(unembed=parts.unembed + 0.5 * np.abs(parts.unembed).max() * noise)
    for network in (parts, damaged):
        right = _correct(network, "Z31")
        exact = explain.compressed_proof(network, "Z31", [5], bins=31)
        assert (exact == right).all()  # one bin per phase, nothing left out: proved = right, pair by pair
        for bins in (8, 16):
            proved = explain.compressed_proof(network, "Z31", [5], bins=bins)
            assert not (proved & ~right).any()
    assert 0 < _correct(damaged, "Z31").mean() < 0.5
    coarse = explain.compressed_bound(parts, "Z31", [5], bins=4)
    assert coarse.cost_ratio < 1 and coarse.accuracy < 1  # cheap bins are cheaper than brute force, and looser
    assert explain.compressed_bound(parts, "S3", [1]) is None and explain.compressed_frontier(parts, "S3", [1]) == []


def test_the_compressed_bound_never_exceeds_brute_force_on_trained_networks():
    shipped = Store(pop.SHIPPED_POPULATIONS, readonly=True)
    artifact = shipped.open("population-z59")
    rows = pop.read_population(artifact, shipped)["rows"]
    first = pop.member_model(artifact, shipped, rows[0]).parts()
    frontier = explain.compressed_frontier(first, "Z59", explain.decompose(first, "Z59").key_irreps)
    assert [b.bins for b in frontier] == [4, 8, 16, 32, 59]
    assert all(b.accuracy <= rows[0]["brute_force_accuracy"] for b in frontier)
    for row in rows[:2]:
        parts = pop.member_model(artifact, shipped, row).parts()
        keep = explain.decompose(parts, "Z59").key_irreps
        right = _correct(parts, "Z59")
        for bins in (8, 59):
            assert not (explain.compressed_proof(parts, "Z59", keep, bins) & ~right).any()
    # the same on noisy random weights (nothing to explain): nothing is proved that is wrong
    rng = np.random.default_rng(0)
    for _ in range(3):
        noisy = NetworkParts(rng.normal(size=(13, 24)), rng.normal(size=(13, 24)), rng.normal(size=(24, 13)))
        assert not (explain.compressed_proof(noisy, "Z13", [1, 2], 13) & ~_correct(noisy, "Z13")).any()


def test_a_cyclic_population_shows_the_compressed_bound_beside_the_proved_one():
    from interp_core.families.mechanisms import sections

    shipped = Store(pop.SHIPPED_POPULATIONS, readonly=True)
    for name, expected in (("population-z59", True), ("population-s4", False)):
        stored = pop.read_population(*(shipped.open(name), shipped))
        table = next(item for item in sections.population_section(name, stored).items if getattr(item, "title", "") == "Every network of the population").frame
        assert ("compressed bound" in table.columns) is expected, name
        if expected:
            assert list(table.columns).index("compressed bound") == list(table.columns).index("proved bound") + 1
            assert table["compressed bound"].tolist() == [r["compressed_bound"] for r in stored["rows"]]
            assert (table["compressed bound"] <= table["brute force"]).all()
