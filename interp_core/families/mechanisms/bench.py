"""The benchmark: ``python -m interp_core bench mechanisms``."""

from __future__ import annotations

import sys
import tempfile
import time

from interp_core import recipes
from interp_core.device import device_name
from interp_core.store import Store
from interp_core.families.mechanisms.artifacts import read_report


def bench_mechanisms(args) -> dict:
    """``bench mechanisms``: time training to grokking on this machine, and the bound against brute force."""
    from interp_core.device import resolve_device

    names = ["s4-mlp"] if args.quick else ["z113-mlp", "d12-mlp", "s4-mlp", "z59-noisy-mlp"]
    device = resolve_device(args.device)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print(f"training {name} on {device_name(device)}...", file=sys.stderr)
            start = time.perf_counter()
            trained = recipes.train(name, store=Store(folder), device=device, seed=args.seed)
            seconds = time.perf_counter() - start
            metrics = trained.metrics
            bound = read_report(trained.artifact, Store(folder))[0]["bound"]
            steps = metrics["epochs_run"]
            rows[name] = {
                "train_seconds": round(trained.manifest["train_seconds"], 2),
                "total_seconds": round(seconds, 2),
                "ms_per_step": round(1000 * trained.manifest["train_seconds"] / steps, 2),
                "steps": steps,
                "grok_step": metrics["grok_step"],
                "seconds_to_grok": None if metrics["grok_step"] is None else round(trained.manifest["train_seconds"] * metrics["grok_step"] / steps, 2),
                "test_accuracy": metrics["test_accuracy"],
                "explained_accuracy": metrics["explained_accuracy"],
                "bound": metrics["bound"],
                "bound_ms": round(1000 * bound["seconds"], 2) if bound else None,
                "brute_force_ms": round(1000 * bound["brute_force_seconds"], 2) if bound else None,
                "bound_flop_ratio": round(bound["cost_ratio"], 3) if bound else None,
            }
            if not args.json:
                print(f"{name:<16} {rows[name]}")
    return {"device": device_name(device), "recipes": rows}
