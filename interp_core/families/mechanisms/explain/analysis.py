"""Everything at once: decompose, restrict, check and prune one network (what the trainer stores and
the CLI prints)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from interp_core.families.mechanisms.data import get_group
from interp_core.families.mechanisms.explain.bound import bound_frontier, headline_bound
from interp_core.families.mechanisms.explain.checks import Equivariance, accuracy_on, equivariance, logits_table
from interp_core.families.mechanisms.explain.decomposition import Decomposition, decompose, restrict
from interp_core.families.mechanisms.explain.pruning import memorising_neurons, pruning_report
from interp_core.families.mechanisms.models import NetworkParts

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
