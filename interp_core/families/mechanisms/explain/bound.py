"""A margin bound on accuracy from the explanation, with its compute cost against brute force on all
|G|² pairs: the bound, its frontier over unexplained directions computed exactly, and the headline."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from interp_core.families.mechanisms.data import Group, all_pairs, get_group
from interp_core.families.mechanisms.explain.representations import fourier_basis
from interp_core.families.mechanisms.models import NetworkParts

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
    bins: int = 0  # compressed_bound: phase bins per key frequency (0 for margin_bound)

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


# -- a bound that also compresses the hidden layer (cyclic groups) ---------------------------------

COMPRESSED_PROVES = (
    "At least this share of all |G|² pairs is answered correctly by the actual network, without "
    "evaluating the network on every pair: neurons are grouped by their key frequency, each "
    "neuron's pre-activation is bounded over a bin of phases (the key rotation exactly, everything "
    "else by its worst case), and each cluster's part of every logit margin is bounded once per "
    "(answer, phase bin) instead of once per pair."
)
COMPRESSED_DOES_NOT_PROVE = (
    "Only Z_n: the bins are arcs of one frequency's phase. Everything outside a neuron's own key "
    "frequency is replaced by its worst case over all elements, and the clusters' worst cases are "
    "added, so a network that spreads neurons over several frequencies, or has large weights "
    "outside its key frequencies, gets a weak bound even when it is right on every pair."
)


def _cos_range(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of cos over each arc [start, stop] (stop >= start, shorter than a full turn)."""
    turn = 2 * np.pi
    ends_lo = np.minimum(np.cos(start), np.cos(stop))
    ends_hi = np.maximum(np.cos(start), np.cos(stop))
    has_peak = np.ceil(start / turn) <= np.floor(stop / turn)
    has_trough = np.ceil((start - np.pi) / turn) <= np.floor((stop - np.pi) / turn)
    return np.where(has_trough, -1.0, ends_lo), np.where(has_peak, 1.0, ends_hi)


def compressed_bound(parts: NetworkParts, key: str, keep, bins: int = 8, tolerance: float = 1e-9,
                     brute: tuple[float, float, int] | None = None) -> Bound | None:
    """A lower bound on accuracy that does not evaluate the network on every pair (Z_n only; None for
    other groups or when no key irrep is a frequency): ``compressed_proof`` timed and costed."""
    group = get_group(key)
    start = time.perf_counter()
    proved = compressed_proof(parts, key, keep, bins, tolerance)
    seconds = time.perf_counter() - start
    if proved is None:
        return None
    n, m, bins = group.order, parts.n_neurons, int(max(1, min(bins, group.order)))
    c = len([k for k in set(keep) if k != 0])
    flops = (n * m * (6 * 2 * c + 8)  # projections onto the key columns, offsets, spread
             + n * bins * m * 24  # amplitude, phase, activation, slope, range and remainder per (answer, bin, neuron)
             + n * n * m * 2  # the votes D and |D|
             + 6 * n * n * bins * m + 4 * n * bins * m  # three products per (answer, bin, rival), the spread term
             + n ** 3 * (c + 1))  # each pair: its clusters' cells summed, then the worst rival
    brute_accuracy, brute_seconds, brute_flops = brute or brute_force(parts, group)
    certified = int(proved.sum())
    return Bound(
        accuracy=certified / (n * n),
        certified=certified,
        total=n * n,
        flops=int(flops),
        brute_force_flops=int(brute_flops),
        seconds=seconds,
        brute_force_seconds=brute_seconds,
        unexplained_rank=0,
        exact_flops=int(flops + (n * n - certified) * (brute_flops // (n * n))),
        proves=COMPRESSED_PROVES,
        does_not_prove=COMPRESSED_DOES_NOT_PROVE,
        bins=bins,
    )


def compressed_proof(parts: NetworkParts, key: str, keep, bins: int = 8, tolerance: float = 1e-9) -> np.ndarray | None:
    """(|G|, |G|) bool: the pairs (a, b) proved right without evaluating the network pair by pair.

    Each neuron j is given to the key frequency f whose part of its input weights is largest. On
    that frequency, pair (a, b) with answer s = a + b reads the phases θ_a = 2π(f·a mod n)/n and
    θ_b = θ_s − θ_a, so the neuron's key pre-activation is c_j + A cos(θ_a + Φ) with A, Φ fixed by
    (s, j); everything else in its input weights moves the activation by at most ε_j (the largest
    off-frequency value on each side; ReLU is 1-Lipschitz). With D = U_key[j, s] − U_key[j, z] the
    neuron's vote on the key frequencies, a cluster's part of the margin over one arc of θ_a (one of
    ``bins`` phase bins) is its value at the arc's centre, minus the first-order change (exact
    slope × half-width) and a Taylor remainder per neuron (A·half²/2 where the ReLU stays on; where
    it may switch inside the arc, the activation's largest distance from its centre value), minus
    ε_j|D| and the top activation × the spread of the output row outside the key frequencies.
    These are computed once per (s, bin, z) with three matrix products per cluster instead of once
    per pair; a pair is proved when the sum over clusters of its cells beats 0 for every wrong
    answer z. None for groups other than Z_n, or without a key frequency.
    """
    basis = fourier_basis(key)
    group = basis.group
    if group.family != "cyclic":
        return None
    frequencies = [k for k in sorted(set(keep)) if k != 0]
    if not frequencies:
        return None
    n, m = group.order, parts.n_neurons
    elements = np.arange(n)
    turn = 2 * np.pi
    const = basis.matrix[:, basis.columns([0])]
    key_cols = basis.matrix[:, basis.columns(frequencies)]
    own_energy, projections = [], []
    for k in frequencies:
        cols = basis.matrix[:, basis.columns([k])]
        coeffs = [cols.T @ w for w in (parts.left, parts.right)]  # (c, m) each
        projections.append((cols, coeffs))
        own_energy.append((coeffs[0] ** 2).sum(axis=0) + (coeffs[1] ** 2).sum(axis=0))
    owner = np.argmax(np.stack(own_energy), axis=0)  # (m,) index into frequencies
    bins = int(max(1, min(bins, n)))
    rows = np.arange(n)
    lower = np.zeros((n, n, n))  # (s, a, z): the margin bound of pair (a, s − a) against answer z
    for index, k in enumerate(frequencies):
        members = np.flatnonzero(owner == index)
        if not len(members):
            continue
        cols, (cl, cr) = projections[index]
        cl, cr = cl[:, members], cr[:, members]
        left, right, unembed = parts.left[:, members], parts.right[:, members], parts.unembed[members]
        bias = (const.T @ left + const.T @ right)[0] * const[0, 0]  # (mf,) the constant part of each pre-activation
        off_left = left - const @ (const.T @ left) - cols @ cl
        off_right = right - const @ (const.T @ right) - cols @ cr
        eps = np.abs(off_left).max(axis=0) + np.abs(off_right).max(axis=0)
        own_out = key_cols @ (key_cols.T @ unembed.T)  # (n, mf) the neuron's vote on every key frequency
        rest = unembed - own_out.T  # (mf, n): the vote outside the key frequencies
        spread = np.maximum(rest.max(axis=1, keepdims=True) - rest, rest - rest.min(axis=1, keepdims=True))  # (mf, n)
        # a key column pair is √(2/n)(cos ωa, sin ωa); the sign irrep (even n) one column √(1/n) cos πa
        scale = cols[0, 0]
        freq = k if cols.shape[1] == 2 else n // 2
        if cols.shape[1] == 1:
            cl, cr = np.vstack([cl, 0 * cl]), np.vstack([cr, 0 * cr])
        left_c = scale * (cl[0] - 1j * cl[1])  # key part of left = Re(left_c · e^{iθ_a})
        right_c = scale * (cr[0] - 1j * cr[1])
        theta_s = turn * ((freq * elements) % n) / n  # (n,) the answer's phase
        # right part at θ_b = θ_s − θ_a: Re(right_c e^{iθ_s} e^{−iθ_a}) = Re(conj(right_c e^{iθ_s}) e^{iθ_a})
        total = left_c[None, :] + np.conj(right_c[None, :] * np.exp(1j * theta_s)[:, None])  # (n, mf)
        amplitude, phase = np.abs(total), np.angle(total)
        residue = np.arange(bins + 1) * n / bins
        lo_r, hi_r = np.ceil(residue[:-1]), np.ceil(residue[1:]) - 1  # residues r of f·a in each bin
        hi_r = np.maximum(hi_r, lo_r)  # an empty bin (more bins than residues) is never looked up
        centre, half = np.pi * (lo_r + hi_r) / n, np.pi * (hi_r - lo_r) / n  # (B,) arc of θ_a per bin
        amp = amplitude[:, None, :]  # (s, 1, mf)
        angle = centre[None, :, None] + phase[:, None, :]  # (s, B, mf)
        pre = bias + amp * np.cos(angle)  # the key pre-activation at the bin's centre
        act = np.maximum(pre, 0.0)
        cos_lo, cos_hi = _cos_range(angle - half[None, :, None], angle + half[None, :, None])
        pre_lo, pre_hi = bias + amp * cos_lo, bias + amp * cos_hi  # exact range over the arc
        on, off = pre_lo >= 0, pre_hi <= 0
        slope = np.where(on, -amp * np.sin(angle), 0.0)  # d act / d θ_a at the centre, where the ReLU stays on
        # |act(θ) − act(centre) − slope·(θ − centre)|: ≤ A·half²/2 where the ReLU stays on, 0 where it
        # stays off, and where it may switch inside the arc the activation's distance from its centre
        # value to the ends of its exact range
        h = half[None, :, None]
        switching = np.maximum(np.maximum(pre_hi, 0.0) - act, act - np.maximum(pre_lo, 0.0))
        remainder = np.where(on, amp * h * h / 2, np.where(off, 0.0, switching))
        vote = own_out.T[:, :, None] - own_out.T[:, None, :]  # (mf, s, z): D = U_key[j, s] − U_key[j, z]
        vote = vote.transpose(1, 0, 2)  # (s, mf, z)
        # margin >= act·D + slope·D·(θ − centre) − Σ (remainder + ε)|D| − Σ (top + ε)·spread
        cell = np.matmul(act, vote) - h[:, :, 0][:, :, None] * np.abs(np.matmul(slope, vote))
        cell -= np.matmul(remainder + eps, np.abs(vote))
        cell -= np.einsum("sbj,js->sb", np.maximum(pre_hi, 0.0) + eps, spread)[:, :, None]
        which = np.floor(((freq * elements) % n) * bins / n).astype(int)  # (a,) the bin of f·a
        lower += cell[:, which, :]
    lower[rows, :, rows] = np.inf  # the true answer is not a rival
    sizes = np.abs(parts.unembed).max() * (np.maximum(parts.left.max(axis=0), 0) + np.maximum(parts.right.max(axis=0), 0)).sum()
    proved_sa = lower.min(axis=2) > tolerance * (1.0 + sizes)  # (s, a)
    proved = np.zeros((n, n), dtype=bool)
    proved[elements[None, :], (rows[:, None] - elements[None, :]) % n] = proved_sa  # [s, a] is the pair (a, s − a)
    return proved


def compressed_frontier(parts: NetworkParts, key: str, keep) -> list[Bound]:
    """compressed_bound with 4, 8, 16, ... phase bins up to one bin per phase (n): strength against cost.
    Empty for groups other than Z_n."""
    group = get_group(key)
    if group.family != "cyclic":
        return []
    brute = brute_force(parts, group)
    counts = sorted({*[b for b in (2**i for i in range(2, 12)) if b < group.order], group.order})
    found = [compressed_bound(parts, key, keep, b, brute=brute) for b in counts]
    return [b for b in found if b is not None]


def compressed_summary(parts: NetworkParts, key: str, keep) -> dict:
    """``compressed_frontier`` and its headline (``headline_bound``: the cheapest within a point of the
    best that costs less than brute force) as flat ``compressed_bound*`` keys; None values for groups
    other than Z_n."""
    frontier = compressed_frontier(parts, key, keep)
    best = headline_bound(frontier) if frontier else None

    def row(b: Bound) -> dict:
        return {"bins": b.bins, "accuracy": b.accuracy, "cost_ratio": b.cost_ratio, "seconds": b.seconds,
                "brute_force_seconds": b.brute_force_seconds, "time_ratio": b.seconds / max(b.brute_force_seconds, 1e-12)}

    head = row(best) if best else dict.fromkeys(("bins", "accuracy", "cost_ratio", "seconds", "brute_force_seconds", "time_ratio"))
    return {"compressed_bound": head.pop("accuracy"), **{f"compressed_bound_{k}": v for k, v in head.items()},
            "compressed_bound_frontier": [row(b) for b in frontier]}
