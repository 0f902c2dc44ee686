"""Mechanisms family: networks trained on group multiplication, reverse-engineered on the group's
Fourier / irreducible-representation basis and checked against brute force.

This module registers the pair datasets, the ``group_mlp`` architecture, the "groups" trainer, the
recipes and the Family spec; the work is in ``train`` (the trainer, full-batch AdamW with a
step-by-step history for grokking curves and the analysis stored with the checkpoint, and its
loader), ``command`` (``explain mechanisms`` (alias ``groups``)) and ``bench`` (``bench mechanisms``).
"""

from __future__ import annotations

from functools import partial

from interp_core import recipes
from interp_core.data import register_dataset
from interp_core.family import Family, Uploads, register_family
from interp_core.families.mechanisms import explain as explain
from interp_core.families.mechanisms.bench import bench_mechanisms
from interp_core.families.mechanisms.command import explain_mechanisms, sweep_groups
from interp_core.families.mechanisms.data import pairs_dataset
from interp_core.families.mechanisms.models import GroupMLP
from interp_core.families.mechanisms.sections import sections as family_sections
from interp_core.families.mechanisms.train import (
    ARCH,
    CPU_THREADS,
    DEFAULT_TRAIN,
    FAMILY,
    TRAINER,
    analysis_arrays,
    first_step,
    fit_full_batch,
    load_groups,
    train_groups,
)
from interp_core.models import register_architecture
from interp_core.recipes import Recipe, Trainer
from interp_core.families.mechanisms.artifacts import ARTIFACTS

__all__ = [
    "ARCH", "CPU_THREADS", "DATASETS", "DEFAULT_TRAIN", "FAMILY", "TRAINER", "analysis_arrays", "bench_mechanisms",
    "explain", "explain_mechanisms", "first_step", "fit_full_batch", "load_groups", "train_groups",
]

# name -> (group, training fraction, corrupted share of training labels, split seed)
DATASETS = {
    "z113_pairs": ("Z113", 0.4, 0.0, 0),
    "d12_pairs": ("D12", 0.5, 0.0, 0),
    "s4_pairs": ("S4", 0.5, 0.0, 0),
    "z59_noisy_pairs": ("Z59", 0.6, 0.05, 0),
}

register_architecture(ARCH, GroupMLP)
for _name, (_group, _fraction, _corrupt, _seed) in DATASETS.items():
    _what = f"all pairs of {_group[0]}_{_group[1:]}, {_fraction:.0%} train" + (f", {_corrupt:.0%} of training labels corrupted" if _corrupt else "")
    register_dataset(_name, partial(pairs_dataset, _group, _fraction, _corrupt, _seed), _what)

recipes.register_trainer(TRAINER, Trainer(train_groups, load_groups))


# -- recipes ----------------------------------------------------------------------------------

recipes.register(Recipe(
    "z113-mlp", FAMILY, "z113_pairs", ARCH,
    {"hidden": 128, "embed_dim": 32},
    {"steps": 2000, "lr": 1e-2, "weight_decay": 1.0},
    "Addition mod 113 (Z_113) learned from 40% of all pairs: memorises first, then groks a Fourier algorithm.",
    trainer=TRAINER,
))
recipes.register(Recipe(
    "d12-mlp", FAMILY, "d12_pairs", ARCH,
    {"hidden": 256, "embed_dim": 32},
    {"steps": 4000, "lr": 1e-2, "weight_decay": 1.0, "final_lr_fraction": 0.1},
    "The 24 symmetries of a 12-gon (dihedral D_12) composed, learned from 50% of all pairs.",
    trainer=TRAINER,
))
recipes.register(Recipe(
    "s4-mlp", FAMILY, "s4_pairs", ARCH,
    {"hidden": 256, "embed_dim": 32},
    {"steps": 4000, "lr": 1e-2, "weight_decay": 1.0, "final_lr_fraction": 0.1},
    "The 24 permutations of 4 points (symmetric group S_4) composed, learned from 50% of all pairs.",
    trainer=TRAINER,
))
recipes.register(Recipe(
    "z59-noisy-mlp", FAMILY, "z59_noisy_pairs", ARCH,
    {"hidden": 128, "embed_dim": 32},
    {"steps": 4000, "lr": 1e-2, "weight_decay": 1.0},
    "Addition mod 59 from 60% of pairs, 5% of them with a wrong label: memorises the wrong labels and still generalises; find where the memory lives and remove it.",
    trainer=TRAINER,
))

register_family(Family(
    "mechanisms", "Mechanisms", icon=":material/hub:",
    pitch="Reverse-engineer networks trained on group operations, and check the explanation against brute force.",
    aliases=("groups",), explain=explain_mechanisms, benches={"mechanisms": bench_mechanisms}, sections=family_sections,
    compare_pair=("z113-mlp", "z59-noisy-mlp"), trainers=(TRAINER,), artifacts=ARTIFACTS, sweep=sweep_groups,
    uploads=Uploads(cannot="Mechanisms takes apart networks trained on every pair of a group's elements (Z_n, S_n) and checks the explanation against brute force over that whole table; "
                           "an uploaded file has no group structure to check against, so bring your data to Home, Rules, Prototypes, Time series, Concepts or SAE features instead."),
))
