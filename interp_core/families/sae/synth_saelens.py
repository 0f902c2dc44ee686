"""SAELens's side of ``bench sae-synth`` and ``bench sae``: its synthetic model, its eval, its trainers.

Imports ``sae_lens`` at import time, so importing this module raises ImportError where SAELens is
not installed (it is a benchmark-only dependency: ``bash scripts/setup.sh bench`` builds
``.venv-bench``). Nothing in the app or the engine imports it; the benches do, inside a try.

- ``SAELensSynth``: a SynthSAEBench model built by ``sae_lens.synthetic.SyntheticModel`` with the
  published SynthSAEBench-16k settings (Zipfian firing with exponent 0.5 from 0.4 down to 5e-4; 128
  root trees, branching 4, depth 3, every child set mutually exclusive, probabilities compensated,
  children scaled by their parent; low-rank correlation rank 25, scale 0.1; orthogonalisation 100
  steps at lr 3e-4; mean magnitudes 5.0 down to 4.0, std folded normal (0.5, 0.5); bias 0.5;
  seed 42) at a given size (16,384 features in d = 768 is SynthSAEBench-16k; a CPU takes a scaled
  one of the same shape, its root count scaled with the features). Scores come from SAELens's
  ``eval_sae_on_synthetic_data``.
- Our SAEs need no wrapper for that eval: it calls ``sae.eval()``, reads ``sae.W_dec`` (latents x d)
  and calls ``sae.encode(x)`` / ``sae.decode(codes)`` on raw activations, counting a latent as firing
  where its code is non-zero; every ``SparseAutoencoder`` has exactly that interface (codes >= 0,
  ``decode`` back in the input's units). ``as_eval_sae`` only puts it in eval mode on the model's device.
- ``train_saelens_on``: SAELens's own training SAEs and ``SAETrainer`` on the same fresh samples,
  width, L0 and budget as ours.
"""

from __future__ import annotations

import os
import time

import torch

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

import sae_lens  # noqa: E402  (ImportError here means: not installed)
from sae_lens import (  # noqa: E402
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
    JumpReLUTrainingSAE,
    JumpReLUTrainingSAEConfig,
    MatchingPursuitTrainingSAE,
    MatchingPursuitTrainingSAEConfig,
    MatryoshkaBatchTopKTrainingSAE,
    MatryoshkaBatchTopKTrainingSAEConfig,
    SAETrainer,
    StandardTrainingSAE,
    StandardTrainingSAEConfig,
)
from sae_lens.config import LoggingConfig, SAETrainerConfig  # noqa: E402
from sae_lens.synthetic import (  # noqa: E402
    FoldedNormalMagnitudeConfig,
    HierarchyConfig,
    LinearMagnitudeConfig,
    LowRankCorrelationConfig,
    OrthogonalizationConfig,
    SyntheticModel,
    SyntheticModelConfig,
    ZipfianFiringProbabilityConfig,
    eval_sae_on_synthetic_data,
)

VERSION = sae_lens.__version__


def _quiet_progress_bars() -> None:
    """SAELens's trainer and its dictionary orthogonalisation draw tqdm bars; the benches print their own stages.
    (TQDM_DISABLE above only works where tqdm is imported after it, which the CLI has already done.)"""
    from sae_lens.synthetic import feature_dictionary
    from sae_lens.training import sae_trainer

    for module in (sae_trainer, feature_dictionary):
        if not getattr(module.tqdm, "_quiet", False):
            bar = module.tqdm

            def quiet(*args, _bar=bar, **kwargs):
                return _bar(*args, **{**kwargs, "disable": True})  # their calls pass disable= themselves

            quiet._quiet = True
            module.tqdm = quiet


_quiet_progress_bars()


def synthsaebench_config(n_features: int, d: int, roots: int, seed: int = 42) -> SyntheticModelConfig:
    """SynthSAEBench-16k's settings (see the module doc) at ``n_features`` in ``d`` dimensions with ``roots`` trees."""
    return SyntheticModelConfig(
        num_features=n_features, hidden_dim=d,
        firing_probability=ZipfianFiringProbabilityConfig(exponent=0.5, max_prob=0.4, min_prob=5e-4),
        hierarchy=HierarchyConfig(total_root_nodes=roots, branching_factor=4, max_depth=3, mutually_exclusive_portion=1.0,
                                  mutually_exclusive_min_depth=0, compensate_probabilities=True, scale_children_by_parent=True),
        orthogonalization=OrthogonalizationConfig(num_steps=100, lr=3e-4),
        correlation=LowRankCorrelationConfig(rank=25, correlation_scale=0.1),
        mean_firing_magnitudes=LinearMagnitudeConfig(start=5.0, end=4.0),
        std_firing_magnitudes=FoldedNormalMagnitudeConfig(mean=0.5, std=0.5),
        bias=0.5, seed=seed,
    )


class SAELensSynth:
    """SAELens's SyntheticModel as the bench's world (the interface of ``synth.OurSynth``)."""

    generator = f"sae_lens.synthetic.SyntheticModel (SAELens {VERSION}), SynthSAEBench-16k settings"

    def __init__(self, cfg, device: torch.device | str = "cpu"):
        """``cfg``: a ``synth.SynthConfig`` for the size (n_features, d, roots, seed); the rest is SynthSAEBench's."""
        self.device = torch.device(device)
        self.model = SyntheticModel(synthsaebench_config(cfg.n_features, cfg.d, cfg.roots, cfg.seed), device=str(self.device))
        self.config = {"n_features": cfg.n_features, "d": cfg.d, "seed": cfg.seed, "roots": cfg.roots, "sae_lens": VERSION,
                       "synthetic_model_config": self.model.cfg.to_dict()}

    @torch.no_grad()
    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        hidden, features = self.model.sample_with_features(n)
        return features.to_dense() if features.is_sparse else features, hidden

    def score(self, sae, n_samples: int, batch_size: int = 2048) -> dict:
        result = eval_sae_on_synthetic_data(as_eval_sae(sae, self.device), self.model.feature_dict, self.model.activation_generator,
                                            num_samples=n_samples, batch_size=batch_size)
        return {"f1": result.classification.f1_score, "mcc": result.mcc, "uniqueness": result.uniqueness,
                "explained_variance": result.explained_variance, "l0": result.sae_l0, "true_l0": result.true_l0}


def as_eval_sae(sae, device):
    """The SAE as ``eval_sae_on_synthetic_data`` reads it: ours as it is (see the module doc), in eval mode on ``device``."""
    return sae.to(device).eval()


# SAELens's training SAEs at the benchmark's width and L0 k. ReLU (Standard, L1) and matching pursuit have no
# k: L1's coefficient is set as ours (its L0 follows from it), MP stops at the residual threshold.
SAELENS_ARCHS = {
    "batchtopk": lambda d, width, k: BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(d_in=d, d_sae=width, k=k, dtype="float32")),
    "matryoshka": lambda d, width, k: MatryoshkaBatchTopKTrainingSAE(MatryoshkaBatchTopKTrainingSAEConfig(
        d_in=d, d_sae=width, k=k, matryoshka_widths=[width // 2, width], dtype="float32")),  # ours: groups = 2, the same prefixes
    "jumprelu": lambda d, width, k: JumpReLUTrainingSAE(JumpReLUTrainingSAEConfig(
        d_in=d, d_sae=width, jumprelu_sparsity_loss_mode="quadratic", target_l0=float(k), l0_coefficient=1.0, dtype="float32")),
    "relu": lambda d, width, k: StandardTrainingSAE(StandardTrainingSAEConfig(d_in=d, d_sae=width, l1_coefficient=1.0, dtype="float32")),
    "mp": lambda d, width, k: MatchingPursuitTrainingSAE(MatchingPursuitTrainingSAEConfig(d_in=d, d_sae=width, max_iterations=k, dtype="float32")),
}


def saelens_trainer(sae, batches, *, samples: int, batch_size: int, lr: float, device, dead_window: int, lr_end: float | None = None, lr_decay_steps: int = 0):
    """SAELens's ``SAETrainer`` on an iterator of batches, logging and checkpoints off (``.fit()`` trains and returns the SAE)."""
    cfg = SAETrainerConfig(
        total_training_samples=samples, train_batch_size_samples=batch_size, lr=lr, lr_end=lr if lr_end is None else lr_end, lr_decay_steps=lr_decay_steps,
        device=str(device), autocast=False, dead_feature_window=dead_window, feature_sampling_window=10**9, n_checkpoints=0,
        save_final_checkpoint=False, logger=LoggingConfig(log_to_wandb=False),
    )
    return SAETrainer(cfg, sae, batches)


def train_saelens_on(world, arch: str, *, d: int, width: int, k: int, budget: dict, device, seed: int) -> tuple:
    """SAELens's ``arch`` trained by its SAETrainer on fresh samples of ``world`` with our budget (steps, batch,
    lr, the last 20% decaying linearly as ours); (sae, samples seen, seconds)."""
    torch.manual_seed(seed)
    steps = budget["samples"] // budget["batch_size"]
    sae = SAELENS_ARCHS[arch](d, width, k).to(device)

    def batches():
        while True:
            yield world.sample(budget["batch_size"])[1].to(device)

    trainer = saelens_trainer(sae, batches(), samples=steps * budget["batch_size"], batch_size=budget["batch_size"], lr=budget["lr"], device=device,
                              dead_window=max(50, steps // 10), lr_decay_steps=steps // 5)
    start = time.perf_counter()
    sae = trainer.fit()
    return sae, steps * budget["batch_size"], time.perf_counter() - start
