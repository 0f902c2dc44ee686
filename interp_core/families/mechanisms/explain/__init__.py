"""Reverse-engineering networks trained on group multiplication, and checking the explanation.

One module per job; this package re-exports their public names (``explain.decompose``, ...):

- ``representations``: the irreducible representations of Z_n, D_n and S_n, computed and checked
  (homomorphism, orthogonal characters, Frobenius–Schur), and the group Fourier basis built on them.
- ``decomposition``: a trained network (``NetworkParts``) on that basis: the share of each irrep per
  neuron and overall, the key irreps, the network restricted to some irreps, each irrep's part of
  one pair's logits.
- ``checks``: logits on every pair, accuracy on a set of pairs, the equivariance check of Wu,
  Jaburi, Drori & Gross (2024).
- ``bound``: a margin bound on accuracy from the explanation and its cost against brute force.
- ``pruning``: memorising neurons (for corrupted labels), pruned, with accuracies before and after.
- ``analysis``: all of it at once (``analyse``): what the trainer stores and the CLI prints.

Arrays follow the shapes named in each dataclass; |G| is the group order, m the hidden width.
"""

from interp_core.families.mechanisms.explain.analysis import GroupReport, analyse
from interp_core.families.mechanisms.explain.bound import (
    BOUND_DOES_NOT_PROVE,
    BOUND_PROVES,
    Bound,
    bound_frontier,
    brute_force,
    compressed_bound,
    compressed_frontier,
    compressed_proof,
    compressed_summary,
    headline_bound,
    margin_bound,
)
from interp_core.families.mechanisms.explain.checks import Equivariance, accuracy_on, equivariance, logits_table
from interp_core.families.mechanisms.explain.decomposition import (
    Decomposition,
    decompose,
    neuron_table,
    pair_contributions,
    restrict,
)
from interp_core.families.mechanisms.explain.pruning import Pruning, memorising_neurons, prune, pruning_report
from interp_core.families.mechanisms.explain.representations import (
    FourierBasis,
    Irrep,
    character_inner_products,
    fourier_basis,
    frobenius_schur,
    homomorphism_error,
    irrep_table,
    irreps,
    partitions,
    standard_tableaux,
)

__all__ = [
    "BOUND_DOES_NOT_PROVE", "BOUND_PROVES", "Bound", "Decomposition", "Equivariance", "FourierBasis",
    "GroupReport", "Irrep", "Pruning", "accuracy_on", "analyse", "bound_frontier", "brute_force",
    "character_inner_products", "compressed_bound", "compressed_frontier", "compressed_proof", "compressed_summary", "decompose", "equivariance", "fourier_basis", "frobenius_schur",
    "headline_bound", "homomorphism_error", "irrep_table", "irreps", "logits_table", "margin_bound",
    "memorising_neurons", "neuron_table", "pair_contributions", "partitions", "prune",
    "pruning_report", "restrict", "standard_tableaux",
]
