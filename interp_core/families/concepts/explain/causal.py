"""Checking TCAV against the truth: a concept's causal effect on the class score, and p-values
adjusted for the many tests of one TCAV run.

- **CaCE** (Goyal et al. 2019, causal concept effect): the mean change of a class's logit when only
  the concept is switched in the input, E[f_k(x) | do(c = 1)] - E[f_k(x) | do(c = 0)], measured on
  counterfactual pairs that the dataset's generator renders (same draw, one concept flipped:
  ``data.COUNTERFACTUALS``). Its 95% confidence interval is the t-interval of the paired differences.
- Where no generator exists (a user's table, breast cancer's measurement groups) the best one can
  do is **observational**: the difference of the class logit between examples with and without the
  concept, matched exactly on the other concepts (strata of equal other-concept patterns, weighted by
  their size). It is not causal: a measurement that moves with the concept moves it too.
- **Holm's step-down adjustment** controls the chance of any false "significant" among all
  concept x class x layer tests of a run (family-wise error rate) at alpha.
- A TCAV verdict **agrees** with the effect when both say the concept matters in the same direction
  (significant after adjustment, score above 0.5 and a material positive effect, or below 0.5 and a
  material negative one) or both say it does not. An effect is material when its 95% interval
  excludes zero and its size is at least ``MIN_EFFECT`` standard deviations of the class logit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

# an effect smaller than this many standard deviations of the class logit (over the pairs) is too
# small to matter, however tight its interval: TCAV's sign count cannot be expected to see it
MIN_EFFECT = 0.1
N_PAIRS = 200


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (same shape; NaN stays NaN and does not count as a test):
    the i-th smallest of m p-values becomes max over j <= i of min(1, (m - j + 1) p_(j))."""
    p = np.asarray(p_values, dtype=float)
    flat = p.ravel()
    valid = np.flatnonzero(~np.isnan(flat))
    adjusted = np.full(flat.shape, np.nan)
    order = valid[np.argsort(flat[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * flat[index]))
        adjusted[index] = running
    return adjusted.reshape(p.shape)


@dataclass
class ConceptEffect:
    """Effect of each concept on each class logit: ``effect`` (C, K), ``ci`` (C, K, 2) its 95%
    interval, ``logit_std`` (K,) the spread of each class logit, ``n`` (C,) pairs or matched
    examples behind each row; ``causal`` says whether it comes from counterfactual pairs (CaCE) or
    from matched observations."""

    concept_names: list[str]
    class_names: list[str]
    effect: np.ndarray
    ci: np.ndarray
    logit_std: np.ndarray
    n: np.ndarray
    causal: bool

    @property
    def method(self) -> str:
        return "CaCE (counterfactual pairs from the generator)" if self.causal else "observational difference matched on the other concepts (not causal)"

    def material(self) -> np.ndarray:
        """(C, K) -1, 0 or +1: a material negative effect, none, a material positive effect."""
        excludes_zero = (self.ci[..., 0] > 0) | (self.ci[..., 1] < 0)
        large = np.abs(self.effect) >= MIN_EFFECT * np.maximum(self.logit_std, 1e-12)[None, :]
        return np.where(excludes_zero & large, np.sign(self.effect), 0).astype(int)

    def to_json(self) -> dict:
        return {
            "concept_names": self.concept_names, "class_names": self.class_names, "effect": self.effect.tolist(), "ci": self.ci.tolist(),
            "logit_std": self.logit_std.tolist(), "n": self.n.tolist(), "causal": self.causal,
        }

    @classmethod
    def from_json(cls, data: dict) -> "ConceptEffect":
        return cls(list(data["concept_names"]), list(data["class_names"]), np.asarray(data["effect"], dtype=float), np.asarray(data["ci"], dtype=float),
                   np.asarray(data["logit_std"], dtype=float), np.asarray(data["n"], dtype=int), bool(data["causal"]))


def _logits(model: nn.Module, X: np.ndarray, device) -> np.ndarray:
    model = model.to(device).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(X), 256):
            batch = torch.as_tensor(np.asarray(X[start : start + 256], dtype=np.float32), device=device)
            out.append(model(batch).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def _t_interval(differences: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    n = len(differences)
    mean = float(differences.mean())
    if n < 2:
        return mean, float("-inf"), float("inf")
    half = float(stats.t.ppf(0.975, n - 1) * differences.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def causal_effects(model: nn.Module, counterfactuals, concept_names: list[str], class_names: list[str], *, n_pairs: int = N_PAIRS,
                   seed: int = 0, device="cpu", progress=None) -> ConceptEffect:
    """CaCE of every concept on every class logit from ``counterfactuals(concept, n, seed=...) -> (X0, X1)``."""
    C, K = len(concept_names), len(class_names)
    effect, ci, n = np.zeros((C, K)), np.zeros((C, K, 2)), np.zeros(C, dtype=int)
    all_logits = []
    for c, concept in enumerate(concept_names):
        X0, X1 = counterfactuals(concept, n_pairs, seed=seed)
        before, after = _logits(model, X0, device), _logits(model, X1, device)
        all_logits += [before, after]
        for k in range(K):
            effect[c, k], ci[c, k, 0], ci[c, k, 1] = _t_interval(after[:, k] - before[:, k])
        n[c] = len(X0)
        if progress is not None:
            progress(c + 1, C)
    logit_std = np.concatenate(all_logits).std(axis=0)
    return ConceptEffect(list(concept_names), list(class_names), effect, ci, logit_std, n, causal=True)


def observed_effects(model: nn.Module, X: np.ndarray, concepts: np.ndarray, concept_names: list[str], class_names: list[str], *, device="cpu") -> ConceptEffect:
    """For data without a generator: per concept, the class-logit difference between examples with
    and without it inside strata of identical other concepts, weighted by stratum size; the interval
    comes from the strata's pooled variance (normal approximation)."""
    logits = _logits(model, X, device)
    concepts = np.asarray(concepts) > 0.5
    C, K = len(concept_names), len(class_names)
    effect, ci, n = np.full((C, K), np.nan), np.full((C, K, 2), np.nan), np.zeros(C, dtype=int)
    for c in range(C):
        others = np.delete(concepts, c, axis=1)
        keys = np.packbits(others, axis=1, bitorder="little") if others.shape[1] else np.zeros((len(X), 1), dtype=np.uint8)
        _, stratum = np.unique(keys, axis=0, return_inverse=True)
        total, estimate, variance = 0, np.zeros(K), np.zeros(K)
        for s in np.unique(stratum):
            members = stratum.ravel() == s
            on, off = logits[members & concepts[:, c]], logits[members & ~concepts[:, c]]
            if len(on) < 2 or len(off) < 2:
                continue
            weight = len(on) + len(off)
            total += weight
            estimate += weight * (on.mean(0) - off.mean(0))
            variance += weight**2 * (on.var(0, ddof=1) / len(on) + off.var(0, ddof=1) / len(off))
        if total:
            effect[c] = estimate / total
            half = 1.96 * np.sqrt(variance) / total
            ci[c, :, 0], ci[c, :, 1] = effect[c] - half, effect[c] + half
        n[c] = total
    return ConceptEffect(list(concept_names), list(class_names), effect, ci, logits.std(axis=0), n, causal=False)


def agreement(scores: np.ndarray, significant_adjusted: np.ndarray, effect: ConceptEffect) -> np.ndarray:
    """(C, K, L) bool: does each TCAV verdict agree with the effect of its concept on its class?
    ``scores`` and ``significant_adjusted`` are (C, K, L). Rows without an effect are False."""
    material = effect.material()[:, :, None]
    direction = np.where(scores > 0.5, 1, -1)
    says_matters = np.asarray(significant_adjusted, dtype=bool)
    agrees = np.where(says_matters, material == direction, material == 0)
    return agrees & ~np.isnan(effect.effect)[:, :, None]


def concept_effects(model: nn.Module, dataset, *, device="cpu", seed: int = 0, progress=None) -> ConceptEffect:
    """CaCE where the dataset's generator can switch a concept (``data.COUNTERFACTUALS``), the
    matched observational difference on the held-out examples otherwise."""
    from interp_core.families.concepts.data import COUNTERFACTUALS

    generator = COUNTERFACTUALS.get(dataset.name)
    if generator is not None:
        return causal_effects(model, generator, list(dataset.concept_names), list(dataset.class_names), seed=seed, device=device, progress=progress)
    return observed_effects(model, dataset.X_test, dataset.concepts_test, list(dataset.concept_names), list(dataset.class_names), device=device)


@dataclass
class TCAVCheck:
    """A TCAV run checked against the concepts' effects: Holm-adjusted p-values (C, K, L), the
    adjusted verdicts, whether each agrees with the effect, and the two trust numbers."""

    p_adjusted: np.ndarray
    significant_adjusted: np.ndarray
    agrees: np.ndarray
    effect: ConceptEffect
    agreement: float | None  # share of TCAV verdicts that agree with the effect (None without one)
    independent_flagged: float | None  # share of known-independent concepts' tests still significant after adjustment
    independent: list[str]
    adjustment: str = "Holm"

    def rows(self, result) -> list[dict]:
        """Per (concept, class, layer) in TCAVResult.table() order: the keys the CLI adds to each tcav row."""
        rows = []
        for c, concept in enumerate(result.concept_names):
            j = self.effect.concept_names.index(concept) if concept in self.effect.concept_names else None
            for k in range(len(result.class_names)):
                for l in range(len(result.layer_names)):
                    p = self.p_adjusted[c, k, l]
                    has_effect = j is not None and not np.isnan(self.effect.effect[j, k])
                    rows.append({
                        "p_value_adjusted": None if np.isnan(p) else float(p),
                        "significant_adjusted": bool(self.significant_adjusted[c, k, l]),
                        "cace": float(self.effect.effect[j, k]) if has_effect and self.effect.causal else None,
                        "cace_ci": [float(v) for v in self.effect.ci[j, k]] if has_effect and self.effect.causal else None,
                        "observed_effect": float(self.effect.effect[j, k]) if has_effect and not self.effect.causal else None,
                        "observed_effect_ci": [float(v) for v in self.effect.ci[j, k]] if has_effect and not self.effect.causal else None,
                        "agrees_with_cace": bool(self.agrees[c, k, l]) if has_effect and self.effect.causal else None,
                        "agrees_with_effect": bool(self.agrees[c, k, l]) if has_effect else None,
                    })
        return rows


def check_tcav(result, effect: ConceptEffect, independent: list[str] | None = None) -> TCAVCheck:
    """Adjust ``result``'s p-values (Holm, over all its tests) and compare every verdict with ``effect``."""
    p_adjusted = holm(result.p_values)
    significant = np.nan_to_num(p_adjusted, nan=1.0) < result.alpha
    rows = [effect.concept_names.index(c) for c in result.concept_names]
    aligned = ConceptEffect(result.concept_names, effect.class_names, effect.effect[rows], effect.ci[rows], effect.logit_std, effect.n[rows], effect.causal)
    agrees = agreement(result.scores, significant, aligned)
    tested = ~np.isnan(result.p_values) & ~np.isnan(aligned.effect)[:, :, None]
    independent = [c for c in (independent or []) if c in result.concept_names]
    flagged = None
    if independent:
        block = significant[[result.concept_names.index(c) for c in independent]]
        flagged = float(block.mean())
    return TCAVCheck(p_adjusted, significant, agrees, aligned, float(agrees[tested].mean()) if tested.any() else None, flagged, independent)
