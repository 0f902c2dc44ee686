"""A SynthSAEBench-style synthetic model with known features, and SAELens-style scores on it.

SAELens is not a dependency of the app (it is benchmark-only), so this is our own generator written
after the design of SAELens's ``sae_lens.synthetic`` (SynthSAEBench, Chanin & Garriga-Alonso 2026);
it is not SAELens's code and its draws differ from SAELens's for the same seed:

- **features**: ``n_features`` random unit directions in ``d`` dimensions (more features than
  dimensions: superposition) and a fixed bias of norm 1; an example is ``a @ F + bias``;
- **firing probabilities**: Zipfian over a seeded order, p_i = p_max * (i + 1)^-exponent, floored at p_min;
- **correlation**: a Gaussian copula with a low-rank correlation (rank ``correlation_rank``, off-diagonal
  entries of order ``correlation_scale``): feature i is on when z_i < Phi^-1(p_i), z ~ N(0, C);
- **hierarchy**: ``roots`` trees with ``branching`` children per node, ``depth`` levels below each root;
  a child can fire only while its parent fires, and at most one child of a node fires (mutual exclusion);
- **magnitudes**: |N(magnitude_mean, magnitude_std)| when on.

Scores (``score_sae``), as SAELens's ``eval_sae_on_synthetic_data`` defines them, on fresh samples:
MCC (Hungarian one-to-one matching of decoder rows to true features, mean |cos| of the matched pairs),
uniqueness (distinct true features that are some latent's best match / latents), per-latent F1 of
"latent fires" against "its best-matching true feature fires" (averaged over latents), explained
variance 1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2), and L0.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from interp_core.families.sae.explain import feature_recovery


@dataclass
class SynthConfig:
    n_features: int = 4096
    d: int = 256
    seed: int = 42
    p_max: float = 0.4
    p_min: float = 5e-4
    zipf_exponent: float = 0.5
    roots: int = 32
    branching: int = 4
    depth: int = 3
    correlation_rank: int = 25
    correlation_scale: float = 0.1
    magnitude_mean: float = 1.0
    magnitude_std: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)


SYNTHSAEBENCH_16K = SynthConfig(n_features=16384, d=768, roots=128)  # the published configuration's shape
CPU_CONFIG = SynthConfig(n_features=4096, d=256, roots=32)  # the same shape scaled down for a CPU
QUICK_CONFIG = SynthConfig(n_features=1024, d=128, roots=8)


class SynthModel:
    """Seeded features, firing probabilities, correlation and hierarchy; ``sample(n)`` gives (feature acts, hidden)."""

    def __init__(self, cfg: SynthConfig):
        self.cfg = cfg
        g = torch.Generator().manual_seed(cfg.seed)
        n, d = cfg.n_features, cfg.d
        features = torch.randn(n, d, generator=g)
        self.features = features / features.norm(dim=1, keepdim=True)
        bias = torch.randn(d, generator=g)
        self.bias = bias / bias.norm()
        order = torch.randperm(n, generator=g)
        p = (cfg.p_max * torch.arange(1, n + 1, dtype=torch.float64) ** -cfg.zipf_exponent).clamp_min(cfg.p_min)
        self.p = torch.empty(n, dtype=torch.float64)
        self.p[order] = p
        self.threshold = torch.special.ndtri(self.p).float()
        # low-rank correlation: z = U g + s * e with row norms of U set so that Var(z_i) = 1
        U = torch.randn(n, cfg.correlation_rank, generator=g) * (cfg.correlation_scale / math.sqrt(cfg.correlation_rank))
        self.U = U
        self.noise_scale = (1 - U.pow(2).sum(1)).clamp_min(1e-6).sqrt()
        self.parent, self.levels = self._hierarchy(g)
        self._g = torch.Generator().manual_seed(cfg.seed + 1)

    def _hierarchy(self, g: torch.Generator) -> tuple[torch.Tensor, list[list[torch.Tensor]]]:
        """parent[i] (-1 for roots and free features); per level below the roots, each node's children (rows of ids)."""
        cfg = self.cfg
        parent = torch.full((cfg.n_features,), -1, dtype=torch.long)
        ids = torch.randperm(cfg.n_features, generator=g)
        used = 0
        frontier = ids[: cfg.roots]
        used += cfg.roots
        levels = []
        for _ in range(cfg.depth):
            need = len(frontier) * cfg.branching
            if used + need > cfg.n_features:
                break
            children = ids[used : used + need].reshape(len(frontier), cfg.branching)
            used += need
            parent[children] = frontier[:, None].expand_as(children)
            levels.append((frontier, children))
            frontier = children.reshape(-1)
        return parent, levels

    @torch.no_grad()
    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(feature activations (n, n_features), hidden activations (n, d))."""
        cfg, g = self.cfg, self._g
        z = torch.randn(n, cfg.correlation_rank, generator=g) @ self.U.t() + torch.randn(n, cfg.n_features, generator=g) * self.noise_scale
        on = z < self.threshold
        for parents, children in self.levels:  # top-down: a child needs its parent on; at most one child of a node fires
            kids_on = on[:, children] & on[:, parents][:, :, None]
            pick = torch.where(kids_on, torch.rand(kids_on.shape, generator=g), torch.full(kids_on.shape, -1.0)).argmax(-1, keepdim=True)
            keep = torch.zeros_like(kids_on).scatter_(-1, pick, True) & kids_on
            on[:, children.reshape(-1)] = keep.reshape(n, -1)
        magnitude = (cfg.magnitude_mean + cfg.magnitude_std * torch.randn(n, cfg.n_features, generator=g)).abs()
        acts = torch.where(on, magnitude, torch.zeros(()))
        return acts, acts @ self.features + self.bias


class SynthStream:
    """Fresh samples of a synthetic model (or world: ``sample(n)`` gives (feature acts, hidden)) as
    ``fit.train_sae`` reads a stream (``n`` samples in all; every batch new, as SAELens trains)."""

    def __init__(self, model: SynthModel, n: int):
        self.model, self.n = model, int(n)

    def batches(self, batch_size: int, rank: int = 0, world_size: int = 1):
        while True:
            yield self.model.sample(batch_size)[1]


@torch.no_grad()
def score_sae(sae, model: SynthModel, n_samples: int = 20000, batch_size: int = 2048) -> dict:
    """SAELens's synthetic-data scores of an SAE with ``encode``/``decode`` and ``W_dec`` (latents x d)."""
    W_dec = sae.W_dec.detach().float().cpu()
    truth = model.features
    cos = (W_dec / W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)) @ truth.t()
    best = cos.abs().argmax(1)  # each latent's best-matching true feature
    recovery = feature_recovery(W_dec.numpy(), truth.numpy())
    matched = recovery.matched_latent >= 0
    width = W_dec.shape[0]
    tp = torch.zeros(width)
    fp = torch.zeros(width)
    fn = torch.zeros(width)
    l0, sq_res, sq_norm, total, true_l0 = 0.0, 0.0, 0.0, 0, 0.0
    sum_x = torch.zeros(truth.shape[1])
    sae.eval()
    for lo in range(0, n_samples, batch_size):
        acts, x = model.sample(min(batch_size, n_samples - lo))
        codes = sae.encode(x)
        recon = sae.decode(codes)
        fires, truth_fires = codes > 0, acts[:, best] > 0
        tp += (fires & truth_fires).sum(0)
        fp += (fires & ~truth_fires).sum(0)
        fn += (~fires & truth_fires).sum(0)
        l0 += float(fires.sum())
        true_l0 += float((acts > 0).sum())
        sq_res += float((x - recon).pow(2).sum())
        sq_norm += float(x.pow(2).sum())
        sum_x += x.sum(0)
        total += len(x)
    precision = torch.where(tp + fp > 0, tp / (tp + fp).clamp_min(1), torch.zeros(()))
    recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp_min(1), torch.zeros(()))
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-12), torch.zeros(()))
    variance = sq_norm / total - float((sum_x / total).pow(2).sum())
    return {
        "f1": round(float(f1.mean()), 4),
        "mcc": round(float(recovery.matched_cosine[matched].mean()), 4),
        "uniqueness": round(len(best.unique()) / width, 4),
        "explained_variance": round(1 - (sq_res / total) / max(variance, 1e-12), 4),
        "l0": round(l0 / total, 2),
        "true_l0": round(true_l0 / total, 2),
    }


# -- bench sae-synth -------------------------------------------------------------------------------
SYNTH_ARCHS = {  # our architectures at the benchmark's L0 k
    "topk": lambda k: {"k": k},
    "batchtopk": lambda k: {"k": k},
    "matryoshka": lambda k: {"k": k},
    # The penalty SAEs at target_l0 = k: the trainer's SparsityController sets the coefficient (a fixed one missed: JumpReLU's
    # default gave L0 42 for k = 6 on --quick and 99 for k = 12 on the CPU model; ReLU's 3e-2, set by hand on --quick, collapsed to 1.3 on the CPU model)
    "jumprelu": lambda k: {"target_l0": float(k)},
    "relu": lambda k: {"l1_coefficient": 3e-2, "target_l0": float(k)},
    "mp": lambda k: {"k": k},
}
BUDGETS = {  # samples, batch, lr, evaluation samples; width as a share of the true features (the published 4,096 of 16,384)
    "gpu": {"samples": 200_000_000, "batch_size": 1024, "lr": 3e-4, "eval_samples": 100_000, "width_share": 0.25},
    "cpu": {"samples": 100_000, "batch_size": 1024, "lr": 2e-3, "eval_samples": 10_000, "width_share": 0.25},  # 11 trainings in ~15 min on one quiet core
    "quick": {"samples": 100_000, "batch_size": 1024, "lr": 2e-3, "eval_samples": 5_000, "width_share": 0.25},
}
PUBLISHED = {  # SynthSAEBench-16k, L0 = 25, width 4096, 200M samples (F1, MCC, uniqueness, explained variance)
    "batchtopk": (0.732, 0.757, 0.984, 0.792), "matryoshka": (0.879, 0.793, 0.999, 0.779), "mp": (0.446, 0.693, 0.828, 0.835),
    "relu": (0.556, 0.604, 0.898, 0.765), "jumprelu": (0.732, 0.753, 0.989, 0.795),
}
ROW_SCORES = ("f1", "mcc", "uniqueness", "explained_variance")


class OurSynth:
    """Our generator as the bench's synthetic world: ``sample(n)`` gives (feature acts, hidden), ``score``
    scores an SAE on fresh samples (``score_sae``). ``synth_saelens.SAELensSynth`` is the same with SAELens's."""

    generator = "interp_core.families.sae.synth (our own, after sae_lens.synthetic's design)"

    def __init__(self, cfg: SynthConfig):
        self.model = SynthModel(cfg)
        self.config = cfg.to_dict()

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.sample(n)

    def score(self, sae, n_samples: int) -> dict:
        return score_sae(sae.cpu(), self.model, n_samples)


def benchmark_l0(world, width: int, n: int = 4096) -> tuple[int, float]:
    """(k, true L0): k is the mean number of firing features among the ``width`` most frequent ones, at most
    25 (SynthSAEBench's L0 = 25 is that count for its 4,096 most frequent of 16,384 features)."""
    on = world.sample(n)[0] > 0
    top = on.float().mean(0).argsort(descending=True)[:width]
    return max(1, min(25, round(float(on[:, top].sum(1).float().mean())))), float(on.sum(1).float().mean())


def synth_row(arch: str, trainer: str, scores: dict, samples: int, seconds: float) -> dict:
    """One row of ``bench sae-synth``: the issue's keys, then ``true_l0`` (the scored samples' true L0) and ``seconds``."""
    return {"arch": arch, "trainer": trainer, **{key: round(float(scores[key]), 4) for key in ROW_SCORES}, "l0": round(float(scores["l0"]), 2),
            "samples": int(samples), "true_l0": round(float(scores["true_l0"]), 2), "seconds": round(seconds, 1)}


def train_ours_on(world, arch: str, *, d: int, width: int, k: int, budget: dict, device, seed: int) -> tuple:
    """Train our ``arch`` on fresh samples of ``world`` for the budget; (sae, samples seen, seconds)."""
    import time

    from interp_core.families.sae import explain
    from interp_core.families.sae.models import build_sae

    torch.manual_seed(seed)
    steps = budget["samples"] // budget["batch_size"]
    sae = build_sae(arch, {"d_in": d, "width": width, **SYNTH_ARCHS[arch](k)}).fit_input(world.sample(16384)[1].cpu())
    config = explain.SAETrainConfig(steps=steps, batch_size=budget["batch_size"], lr=budget["lr"], dead_window=max(50, steps // 10),
                                    resample_every=0 if sae.uses_aux_loss else max(50, steps // 8), lr_decay_fraction=0.2)
    start = time.perf_counter()
    explain.train_sae(sae, SynthStream(world, budget["samples"]), config, device=device, seed=seed, log_points=1)
    return sae, steps * budget["batch_size"], time.perf_counter() - start


def synth_rows(world, *, d: int, width: int, k: int, budget: dict, device, seed: int = 0, archs=None, saelens=None, say=None) -> list[dict]:
    """Our architectures (``archs``, default all of SYNTH_ARCHS) and, when ``saelens`` (the module
    ``synth_saelens``) is given, SAELens's trainers, all on fresh samples of ``world`` with the same
    width, k and budget, each scored by ``world.score``."""
    rows = []
    for arch in archs or SYNTH_ARCHS:
        if say:
            say(f"{arch} (ours)")
        sae, samples, seconds = train_ours_on(world, arch, d=d, width=width, k=k, budget=budget, device=device, seed=seed)
        rows.append(synth_row(arch, "ours", world.score(sae, budget["eval_samples"]), samples, seconds))
    for arch in (saelens.SAELENS_ARCHS if saelens else ()):
        if say:
            say(f"{arch} (SAELens)")
        sae, samples, seconds = saelens.train_saelens_on(world, arch, d=d, width=width, k=k, budget=budget, device=device, seed=seed)
        rows.append(synth_row(arch, "saelens", world.score(sae, budget["eval_samples"]), samples, seconds))
    return rows


def bench_sae_synth(args) -> dict:
    """``bench sae-synth``: with SAELens installed, its generator (``sae_lens.synthetic``), our architectures and
    SAELens's trainers on the same samples, all scored by its ``eval_sae_on_synthetic_data``; without it, our
    generator and our architectures, scored by ``score_sae`` (the same definitions)."""
    import sys

    from interp_core.device import device_name, resolve_device

    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    cfg = SYNTHSAEBENCH_16K if on_gpu and not args.quick else (QUICK_CONFIG if args.quick else CPU_CONFIG)
    budget = BUDGETS["quick" if args.quick else ("gpu" if on_gpu else "cpu")]
    width = int(cfg.n_features * budget["width_share"])
    try:
        from interp_core.families.sae import synth_saelens
    except ImportError:
        synth_saelens = None
    print(f"bench sae-synth: synthetic model {cfg.n_features:,} features in d={cfg.d} (seed {cfg.seed}) on {device_name(device)}, "
          f"{'SAELens ' + synth_saelens.VERSION + ' generator' if synth_saelens else 'our generator (SAELens is not installed)'}...", file=sys.stderr)
    world = synth_saelens.SAELensSynth(cfg, device) if synth_saelens else OurSynth(cfg)
    k, true_l0 = benchmark_l0(world, width)
    rows = synth_rows(world, d=cfg.d, width=width, k=k, budget=budget, device=device, seed=args.seed, saelens=synth_saelens,
                      say=lambda text: print(f"bench sae-synth: {text}: width {width}, k {k}, {budget['samples']:,} samples of {budget['batch_size']}...", file=sys.stderr))
    saelens_note = (f"SAELens {synth_saelens.VERSION}: its generator and eval_sae_on_synthetic_data score every row" if synth_saelens
                    else "not installed (benchmark-only: bash scripts/setup.sh bench); our generator and score_sae, our rows only")
    config = {**world.config, "width": width, "k": k, "true_l0": round(true_l0, 2), **budget, "device": device_name(device), "generator": world.generator}
    if not args.json:
        print(f"config: {config}")
        for r in rows:
            print(f"{r['arch']:<10} {r['trainer']:<8} F1 {r['f1']:.3f}  MCC {r['mcc']:.3f}  uniqueness {r['uniqueness']:.3f}  EV {r['explained_variance']:.3f}  "
                  f"L0 {r['l0']:.1f}  ({r['samples']:,} samples, {r['seconds']} s)")
    return {"config": config, "rows": rows, "saelens": saelens_note,
            "published": {arch: dict(zip(ROW_SCORES, values)) for arch, values in PUBLISHED.items()}}


# -- small toys with known features: flat, and hierarchical (issue 18) ---------------------------------
@dataclass
class ToyConfig:
    """A small generated toy: activations x = sum_i a_i f_i of known unit directions f_i in ``d`` dimensions.

    Flat (``n_parents`` = 0): ``n_features`` independent features, each on with probability ``p``.
    Hierarchical: ``n_parents`` parents, each on with probability ``p``, each with ``n_children``
    mutually exclusive children: while a parent is on, one of its children (picked uniformly) is on
    with probability ``p_child``, never without it. Magnitudes: a parent's (or a flat feature's)
    a ~ U(0.5, 1.5); a child's is its parent's times U(0.5, 1) (scaled by the parent).
    Feature order: parents first, then parent 0's children, parent 1's, ...
    """

    n_features: int = 32
    n_parents: int = 0
    n_children: int = 3
    d: int = 16
    p: float = 0.06
    p_child: float = 0.8
    n_train: int = 4000
    n_test: int = 1000
    seed: int = 0

    @property
    def total_features(self) -> int:
        return self.n_parents * (1 + self.n_children) if self.n_parents else self.n_features

    def to_dict(self) -> dict:
        return asdict(self)


FLAT_TOY = ToyConfig()
HIERARCHY_TOY = ToyConfig(n_parents=8, n_children=3, d=16, p=0.08)


def toy_parents(cfg: ToyConfig) -> np.ndarray:
    """parent[i] of every true feature (-1 for parents and flat features)."""
    parents = np.full(cfg.total_features, -1, dtype=np.int64)
    if cfg.n_parents:
        parents[cfg.n_parents:] = np.repeat(np.arange(cfg.n_parents), cfg.n_children)
    return parents


def make_toy(cfg: ToyConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(acts (n, d), true_features (f, d) unit rows, true_acts (n, f), parents (f,)); n = n_train + n_test, seeded.
    Every example has at least one feature on."""
    rng = np.random.default_rng(cfg.seed)
    f, n = cfg.total_features, cfg.n_train + cfg.n_test
    features = rng.standard_normal((f, cfg.d))
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    roots = cfg.n_parents or cfg.n_features
    on = rng.random((n, roots)) < cfg.p
    empty = np.flatnonzero(~on.any(1))
    on[empty, rng.integers(0, roots, len(empty))] = True
    true_acts = np.zeros((n, f), dtype=np.float32)
    true_acts[:, :roots] = on * rng.uniform(0.5, 1.5, (n, roots))
    if cfg.n_parents:
        child_on = on & (rng.random((n, roots)) < cfg.p_child)
        rows, parent = np.nonzero(child_on)
        child = roots + parent * cfg.n_children + rng.integers(0, cfg.n_children, len(rows))
        true_acts[rows, child] = true_acts[rows, parent] * rng.uniform(0.5, 1.0, len(rows))
    return (true_acts @ features).astype(np.float32), features.astype(np.float32), true_acts, toy_parents(cfg)


def absorption(codes: np.ndarray, W_dec: np.ndarray, true_features: np.ndarray, true_acts: np.ndarray, parents: np.ndarray,
               parent_latent: np.ndarray, min_cos: float = 0.3) -> dict:
    """Feature absorption (Chanin et al. 2024) on examples where a parent and one of its children are on.

    ``codes`` (n, width) and ``true_acts`` (n, f) of the same examples; ``parent_latent[p]`` is the
    latent that tracks true feature p (the Hungarian match, ``FeatureRecovery.matched_latent``).
    An example is **absorbed** when the parent's latent stays silent and a firing latent writes both
    the parent's and the child's direction (cosine >= ``min_cos`` with each): the child's latent took
    the parent's direction. Returns ``absorption`` (absorbed / examples with a parent and a child on,
    pooled over parents), ``parent_silent`` (the parent's latent silent on them, for any reason),
    ``examples`` and ``per_parent`` ({parent: rate}). None rates when there are no such examples.
    """
    learned = W_dec / np.maximum(np.linalg.norm(W_dec, axis=1, keepdims=True), 1e-12)
    cos = learned @ (true_features / np.linalg.norm(true_features, axis=1, keepdims=True)).T  # (width, f)
    fires = codes > 0
    total, absorbed, silent, per_parent = 0, 0, 0, {}
    for p in np.unique(parents[parents >= 0]):
        children = np.flatnonzero(parents == p)
        latent = int(parent_latent[p])
        rows = np.flatnonzero((true_acts[:, p] > 0) & (true_acts[:, children] > 0).any(1))
        if not len(rows):
            continue
        child = children[(true_acts[rows][:, children] > 0).argmax(1)]  # the child that is on (mutually exclusive)
        quiet = ~fires[rows, latent] if latent >= 0 else np.ones(len(rows), dtype=bool)
        writes_both = (cos[:, p][None, :] >= min_cos) & (cos[:, child].T >= min_cos)  # (rows, width)
        took = (fires[rows] & writes_both).any(1) & quiet
        total += len(rows)
        absorbed += int(took.sum())
        silent += int(quiet.sum())
        per_parent[int(p)] = float(took.mean())
    rate = (lambda count: count / total if total else None)  # noqa: E731
    return {"absorption": rate(absorbed), "parent_silent": rate(silent), "examples": total, "per_parent": per_parent}


def toy_dataset(cfg: ToyConfig, name: str, description: str):
    """A generated toy as an "activations" Dataset (training rows first, in order), with ``true_features``,
    ``true_acts`` (every row's feature activations, training rows first) and ``parents`` in ``extras``."""
    from interp_core.data import Dataset

    acts, features, true_acts, parents = make_toy(cfg)
    n = cfg.n_train
    return Dataset(name, "activations", acts[:n], np.zeros(n, dtype=np.int64), acts[n:], np.zeros(len(acts) - n, dtype=np.int64), ["all"],
                   description=description, source="generated (seeded)",
                   extras={"true_features": features, "true_acts": true_acts, "parents": parents, "toy": cfg.to_dict()})


# Every architecture at about the toys' L0: k for the k-sparse ones; ReLU's and JumpReLU's penalties set by hand on the flat toy.
COMPARE_SETTINGS = {"topk": {}, "batchtopk": {}, "matryoshka": {}, "jumprelu": {"l0_coefficient": 0.1}, "relu": {"l1_coefficient": 0.1}, "mp": {}}
COMPARE_TRAINING = {"epochs": 20, "batch_size": 256, "lr": 3e-3, "dead_window": 100}


def compare_architectures(acts: np.ndarray, n_train: int, true_features: np.ndarray, true_acts: np.ndarray, parents: np.ndarray, *,
                          width: int, k: int, archs=None, epochs: int | None = None, seed: int = 0, device="cpu", cancel=None) -> list[dict]:
    """Train every architecture on the same toy activations (rows before ``n_train``) and score each on the
    held-out rows: MMCS, MCC, explained variance, L0 and, where the toy has parents, absorption."""
    from interp_core.families.sae import explain
    from interp_core.families.sae.models import SAE_ARCHITECTURES, build_sae

    train, test = acts[:n_train], acts[n_train:]
    rows = []
    for arch in archs or SAE_ARCHITECTURES:
        torch.manual_seed(seed)
        settings = {**({"k": k} if "k" in {f for f in SAE_ARCHITECTURES[arch].config_cls.__dataclass_fields__} else {}), **COMPARE_SETTINGS.get(arch, {})}
        sae = build_sae(arch, {"d_in": acts.shape[1], "width": width, **settings}).fit_input(torch.as_tensor(train))
        config = explain.SAETrainConfig(**{**COMPARE_TRAINING, **({"epochs": epochs} if epochs else {})}, resample_every=0 if sae.uses_aux_loss else 100)
        explain.train_sae(sae, train, config, device=device, seed=seed, cancel=cancel)
        sae.cpu()
        W_dec = sae.W_dec.detach().numpy()
        recovery = explain.feature_recovery(W_dec, true_features)
        quality = explain.reconstruction_metrics(sae, test)
        row = {"arch": arch, "mmcs": round(recovery.mmcs, 4), "mcc": round(recovery.mcc, 4), "explained_variance": round(quality["explained_variance"], 4), "l0": round(quality["l0"], 3)}
        if (parents >= 0).any():
            row.update(sae_absorption(sae, test, true_features, true_acts[n_train:], parents))
        rows.append(row)
    return rows


@torch.no_grad()
def sae_absorption(sae, acts: np.ndarray, true_features: np.ndarray, true_acts: np.ndarray, parents: np.ndarray) -> dict:
    """``absorption`` and ``parent_silent`` (rounded; None without parent-and-child examples) of a trained SAE
    on activations ``acts`` (n, d) whose true feature activations are ``true_acts`` (n, f); a parent's
    latent is its Hungarian match among the decoder rows."""
    device = next(sae.parameters()).device
    W_dec = sae.W_dec.detach().float().cpu().numpy()
    codes = sae.encode(torch.as_tensor(acts, dtype=torch.float32, device=device)).cpu().numpy()
    found = absorption(codes, W_dec, true_features, true_acts, parents, feature_recovery(W_dec, true_features).matched_latent)
    return {key: None if found[key] is None else round(found[key], 4) for key in ("absorption", "parent_silent")}


def compare_on_toys(archs=None, *, seed: int = 0, device="cpu", cancel=None, stage=None) -> list[dict]:
    """Every architecture on the flat toy and on the hierarchical toy (``FLAT_TOY``, ``HIERARCHY_TOY``),
    2 latents per true feature and k = 2 (both toys have about 2 features on per example); rows carry ``toy``."""
    rows = []
    for toy, cfg in (("flat", FLAT_TOY), ("hierarchical", HIERARCHY_TOY)):
        if stage:
            stage(f"Comparing the architectures on the {toy} toy ({cfg.total_features} true features in {cfg.d} dimensions)")
        acts, features, true_acts, parents = make_toy(cfg)
        found = compare_architectures(acts, cfg.n_train, features, true_acts, parents, width=2 * cfg.total_features, k=2, archs=archs, seed=seed, device=device, cancel=cancel)
        rows += [{"toy": toy, **row} for row in found]
    return rows


def bench_sae_archs(args) -> dict:
    """``bench sae-archs``: the six architectures on the flat and the hierarchical toy (the table in docs/sae.md)."""
    import sys

    from interp_core.device import resolve_device

    rows = compare_on_toys(seed=args.seed, device=resolve_device(args.device), stage=lambda text: print(f"bench sae-archs: {text}...", file=sys.stderr))
    if not args.json:
        for r in rows:
            extra = "" if r.get("absorption", None) is None else f"  absorption {r['absorption']:.3f}  parent silent {r['parent_silent']:.3f}"
            print(f"{r['toy']:<13} {r['arch']:<11} MMCS {r['mmcs']:.3f}  MCC {r['mcc']:.3f}  EV {r['explained_variance']:.3f}  L0 {r['l0']:.2f}{extra}")
    return {"flat_toy": FLAT_TOY.to_dict(), "hierarchical_toy": HIERARCHY_TOY.to_dict(), "training": COMPARE_TRAINING, "settings": COMPARE_SETTINGS, "rows": rows}
