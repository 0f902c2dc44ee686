"""``python -m interp_core bench concepts [--quick]``: what a user waits for, timed."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from interp_core import recipes
from interp_core.device import device_name
from interp_core.families.concepts import explain as explain
from interp_core.families.concepts.interactive import score_concept, what_if
from interp_core.families.concepts.train import compute_tcav, tcav_settings
from interp_core.store import catalog_at


def bench_concepts(args: argparse.Namespace) -> dict:
    """Time what a user waits for: loading a checkpoint, scoring a user-defined concept (every class and
    layer, 10 random runs), a what-if change of the bottleneck, and (without --quick) the full TCAV
    precompute that training does."""
    import os

    from interp_core.device import resolve_device

    catalog = catalog_at(args.store)
    device = resolve_device(args.device)
    out: dict = {"device": device_name(device), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "recipes": {}}
    for name in ("shapes-cnn", "breast-cancer-concept-mlp"):
        start = time.perf_counter()
        trained = recipes.train_or_load(name, catalog, device=device, seed=args.seed, umap=False)
        row = {"load_s": round(time.perf_counter() - start, 3)}
        labels = trained.dataset.concepts_test[:, 0] > 0.5
        indices = np.flatnonzero(labels)[:50]
        start = time.perf_counter()
        result = score_concept(trained, "bench concept", indices, n_random=10, seed=args.seed)
        row["user_concept_s"] = round(time.perf_counter() - start, 3)
        row["user_concept_cav_fits"] = int((result.run_scores.shape[-1] * 2) * len(result.layer_names))
        if not args.quick:
            start = time.perf_counter()
            full = compute_tcav(trained.model, trained.dataset, tcav_settings(trained.manifest["train_config"]), args.seed, device)
            row["full_tcav_s"] = round(time.perf_counter() - start, 3)
            row["full_tcav_cav_fits"] = int((len(full.concept_names) + 1) * full.run_scores.shape[-1] * len(full.layer_names))
        out["recipes"][name] = row
    cbm = recipes.train_or_load("shapes-cbm", catalog, device=device, seed=args.seed, umap=False)
    values = explain.concept_probabilities(cbm.model, cbm.dataset.X_test[:1])[0]
    start = time.perf_counter()
    for _ in range(200):
        what_if(cbm, cbm.extras["mode"], values)
    out["what_if_ms"] = round(1000 * (time.perf_counter() - start) / 200, 3)
    if not args.json:
        print(f"device: {out['device']} ({out['cpu_count']} CPU cores, {out['torch_threads']} torch threads)")
        for name, row in out["recipes"].items():
            print(f"  {name:<28} load {row['load_s']:.2f} s, user concept {row['user_concept_s']:.2f} s ({row['user_concept_cav_fits']} CAVs)"
                  + (f", full TCAV {row['full_tcav_s']:.2f} s ({row['full_tcav_cav_fits']} CAVs)" if "full_tcav_s" in row else ""))
        print(f"  what-if on the bottleneck: {out['what_if_ms']:.2f} ms per change")
    return out
