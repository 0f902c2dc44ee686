"""SAE features: recipes, datasets, SAE architectures, the SAE trainer/loader, ``explain sae`` and ``bench sae``.

An SAE recipe's artifact holds the SAE (float16 weights), the source model's small parts (the toy
model, a copy of digits-mlp, MiniLM's topic centroids; MiniLM itself comes from its package), and
everything the page shows, precomputed: codes of every example, the feature table, output effects,
decoder maps, the density histogram, a k sweep and, for the toy, recovery of the true features.
Its ``test_accuracy`` is the source model's accuracy with the SAE's reconstruction spliced in.

This module registers them; the work is in ``activations`` (where activations come from),
``train`` (the trainer and loader), ``command`` (the CLI) and ``bench`` (the benchmark).
"""

from __future__ import annotations

from interp_core import recipes
from interp_core.data import Dataset, register_dataset
from interp_core.errors import DataError
from interp_core.family import Family, Uploads, register_family
from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae.activations import acts_dataset, build_source, read_acts_upload, source_for, user_acts_source
from interp_core.families.sae.bench import BENCH_CONFIG, QUICK_CONFIG, SAELENS_HINT, bench_activations, bench_sae, matmul_gflops
from interp_core.families.sae.circuits import circuit_cli
from interp_core.families.sae.command import explain_cli, export_cli
from interp_core.families.sae.causal import steer_command
from interp_core.families.sae.stream_bench import bench_sae_stream
from interp_core.families.sae import synth
from interp_core.families.sae.synth import bench_sae_archs, bench_sae_synth
from interp_core.families.sae.models import SAE_ARCHITECTURES, TRANSCODERS
from interp_core.families.sae.sections import sections as family_sections
from interp_core.families.sae.train import (
    FAMILY,
    MINILM_WIDTH,
    SAE_SETTINGS,
    TRAINER,
    default_user_sae,
    load_sae_recipe,
    make_sae,
    measure,
    sae_builds,
    shard_recipe,
    train_sae_recipe,
    user_recipe,
)
from interp_core.families.sae.saelens import SAELensSAE
from interp_core.models import register_architecture
from interp_core.recipes import Recipe, Trainer
from interp_core.families.sae.artifacts import ARTIFACTS

__all__ = [
    "BENCH_CONFIG", "FAMILY", "MINILM_WIDTH", "QUICK_CONFIG", "SAELENS_HINT", "SAE_SETTINGS", "TRAINER",
    "acts_dataset", "bench_activations", "bench_sae", "build_source", "default_user_sae", "explain",
    "explain_cli", "load_sae_recipe", "make_sae", "matmul_gflops", "measure", "read_acts_upload",
    "sae_builds", "source_for", "train_sae_recipe", "upload_defaults", "user_acts_source", "user_recipe",
]

HIERARCHY_DESCRIPTION = ("Hierarchical toy: 32 known features in 16 dimensions. 8 parents, each on with probability 0.08; while a parent is on, "
                         "one of its 3 children (mutually exclusive) is on with probability 0.8, its magnitude the parent's times U(0.5, 1).")

for _arch, _cls in {**SAE_ARCHITECTURES, **TRANSCODERS}.items():
    register_architecture(f"sae-{_arch}", _cls)
register_architecture(f"sae-{SAELensSAE.arch}", SAELensSAE)  # opened, not trained: an SAELens SAE stored on a user's model's layer (foreign.open_foreign_sae)
register_dataset("toy_superposition", sources.load_toy_dataset, "toy model of superposition: 48 sparse features in 12 dimensions (generated, seeded)")
register_dataset("toy_hierarchy", lambda seed=0, **_: synth.toy_dataset(synth.HIERARCHY_TOY, "toy_hierarchy", HIERARCHY_DESCRIPTION),
                 "hierarchical toy: 8 parent features, each with 3 mutually exclusive children, in 16 dimensions (generated, seeded)")
register_dataset("pydoc_topics", sources.load_text_dataset, "64-token windows of Python's reference documentation, ten topics (MiniLM token ids)")


def _recipe(name: str, dataset: str, arch: str, model_config: dict, train_config: dict, description: str) -> Recipe:
    return recipes.register(Recipe(name, FAMILY, dataset, f"sae-{arch}", model_config, train_config, description, trainer=TRAINER))


_recipe(
    "toy-sae", "toy_superposition", "topk",
    {"source": "toy", "width": 96, "k": 3},
    {"epochs": 30, "batch_size": 512, "lr": 3e-3, "dead_window": 200, "sweep_k": [1, 2, 4, 6, 8], "sweep_epochs": 10},
    "TopK SAE (96 latents, k=3) on the toy model of superposition: 48 known features in 12 dimensions.",
)
_recipe(
    "toy-sae-mp", "toy_superposition", "mp",
    {"source": "toy", "width": 96, "k": 3},
    {"epochs": 30, "batch_size": 512, "lr": 3e-3, "dead_window": 200, "resample_every": 150, "sweep_k": [1, 2, 4, 6], "sweep_epochs": 6},  # as many epochs as toy-sae (15 made MP look worse than TopK)
    "Matching-pursuit SAE (MP-SAE, tied dictionary of 96 atoms, 3 pursuit steps) on the same toy model.",
)
_recipe(
    "toy-sae-hier", "toy_hierarchy", "matryoshka",
    {"source": "user", "width": 64, "k": 2},
    {**synth.COMPARE_TRAINING, "compare_archs": True},
    "Matryoshka SAE (64 latents, k=2) on a hierarchical toy (8 parents with 3 mutually exclusive children each); all six architectures compared on it and on a flat toy.",
)
_recipe(
    "digits-sae", "digits", "topk",
    {"source": "digits", "width": 256, "k": 8},
    {"epochs": 300, "batch_size": 256, "lr": 1e-3, "dead_window": 300, "sweep_k": [2, 4, 16, 32], "sweep_epochs": 100},
    "TopK SAE (256 latents, k=8) on the hidden layer of the digits-mlp classifier.",
)
_recipe(
    "minilm-sae", "pydoc_topics", "topk",
    {"source": "text", "layer": 3, "width": 1024, "k": 16},
    {"epochs": 20, "batch_size": 512, "lr": 2e-3, "dead_window": 400, "sweep_k": [4, 8, 32], "sweep_epochs": 8},
    "TopK SAE (1024 latents, k=16) on MiniLM's residual stream after layer 3, over Python's reference documentation.",
)

# Transcoders (Dunefsky et al. 2024) on the two hidden blocks of a two-layer digits MLP: the second's
# features read what the first's write, so a feature of digits-transcoder has upstream features in
# digits-transcoder-l1 (``circuits``).
recipes.register(Recipe(
    "digits-mlp2", "classifier", "digits", "mlp",
    {"hidden": [64, 64], "dropout": 0.1},
    {"epochs": 60, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "patience": 15},
    "MLP with two hidden blocks on 8x8 handwritten digits; the digits transcoders replace its blocks.",
))
TRANSCODER_TRAINING = {"epochs": 300, "batch_size": 256, "lr": 1e-3, "dead_window": 300}
_recipe(
    "digits-transcoder-l1", "digits", "transcoder",
    {"source": "digits-block", "base": "digits-mlp2", "block": 0, "width": 128, "k": 8},
    TRANSCODER_TRAINING,
    "TopK transcoder (128 latents, k=8) replacing the first hidden block of digits-mlp2: reads the pixels, writes the block's 64 units.",
)
_recipe(
    "digits-transcoder", "digits", "transcoder",
    {"source": "digits-block", "base": "digits-mlp2", "block": 1, "width": 128, "k": 8, "upstream": "digits-transcoder-l1"},
    TRANSCODER_TRAINING,
    "TopK transcoder (128 latents, k=8) replacing the second hidden block of digits-mlp2; its features' circuits run to digits-transcoder-l1's.",
)
_recipe(
    "minilm-transcoder", "pydoc_topics", "transcoder",
    {"source": "text-block", "block": 2, "width": 192, "k": 6},
    {"epochs": 60, "batch_size": 512, "lr": 2e-3, "dead_window": 400},  # 192 latents, k=6: the shipped artifact stays under 1 MB
    "TopK transcoder (192 latents, k=6) replacing the MLP of MiniLM's layer 3 (encoder.layer.2: intermediate and output dense), over Python's reference documentation.",
)

recipes.register_trainer(TRAINER, Trainer(train_sae_recipe, load_sae_recipe, sae_builds))
from interp_core.families.sae import foreign as foreign  # noqa: E402 - registers "sae-foreign": an SAE on a layer of a user's model


def upload_defaults(dataset: Dataset) -> list:
    """The page's default SAE for uploaded activations."""
    if dataset.modality != "activations":
        raise DataError(f"SAE features needs an NPZ with acts (n, d); this file holds {dataset.modality} data.")
    return [(user_recipe(dataset), None)]


def collect_minilm_corpus(args) -> dict:
    """``collect-acts minilm-corpus``: imported on use (MiniLM's loader is heavy for every other command)."""
    from interp_core.families.sae.collect import collect_cli

    return collect_cli(args)


register_family(Family(
    FAMILY, "SAE features", icon=":material/scatter_plot:",
    pitch="A sparse autoencoder splits a layer's activations into readable features, from a toy model to MiniLM.",
    explain=explain_cli, benches={FAMILY: bench_sae, "sae-stream": bench_sae_stream, "sae-synth": bench_sae_synth, "sae-archs": bench_sae_archs}, sections=family_sections, compare_pair=("toy-sae", "toy-sae-mp"), trainers=(TRAINER, foreign.TRAINER), artifacts=ARTIFACTS,
    steer=steer_command, circuit=circuit_cli, train_data=shard_recipe, collect={"minilm-corpus": collect_minilm_corpus}, export=export_cli, export_format="an SAELens SAE folder (cfg.json + sae_weights.safetensors) that SAELens and its tools open",
    uploads=Uploads(
        accepts="an NPZ with acts (n vectors, d dimensions) from any model's layer, and optionally true_features (f, d) if the true directions are known; top examples are listed by number, since the file carries no inputs.",
        model_label="sparse autoencoder (TopK)", defaults=upload_defaults, read=read_acts_upload),
))
