"""``bench rules``: how long the page's computations take per shipped recipe."""

from __future__ import annotations

import argparse

from interp_core import recipes
from interp_core.families.rules import explain as rx
from interp_core.store import catalog_at


def bench_rules(args: argparse.Namespace) -> dict:
    """``bench rules``: seconds for what the page does on a cold cache, per shipped recipe, and for
    the rankings it reads instead of computing (the reason they are stored with the model)."""
    import time

    catalog = catalog_at(args.store)
    names = [r.name for r in recipes.list_recipes("rules")]
    names = names[:2] if args.quick else names
    rows = {}
    for name in names:
        timings = {}

        def timed(label, fn):
            start = time.perf_counter()
            value = fn()
            timings[label] = round(time.perf_counter() - start, 4)
            return value

        trained = timed("load_s", lambda: recipes.load(name, catalog, device=args.device))
        data = timed("predictions_s", lambda: rx.model_data(trained))
        ranker = timed("stored_ranking_s", lambda: rx.stored_ranker(trained, catalog.store_for(trained.artifact)))
        k, depth = rx.default_setting(name, data.X_train.shape[1])
        report = timed("tree_s", lambda: rx.report_for(data, ranker, k, depth, "tree"))
        timed("rule_list_s", lambda: rx.report_for(data, ranker, k, depth, "rulelist"))
        timed("depth_curve_s", lambda: rx.tradeoff_for(data, ranker, "depth", k, depth))
        timed("k_curve_s", lambda: rx.tradeoff_for(data, ranker, "k", k, depth))
        blackbox = rx.BlackBox.from_trained(trained)
        timed("counterfactual_s", lambda: rx.nearest_counterfactual(report.surrogate, data.X_test[0], data.scale, blackbox))
        timed("ranking_from_scratch_s", lambda: rx.rank_features(trained, trained.manifest.get("seed", 0)))
        timings["page_compute_s"] = round(sum(v for key, v in timings.items() if key not in ("ranking_from_scratch_s",)), 4)
        timings["n_features"] = int(data.X_train.shape[1])
        rows[name] = timings
        if not args.json:
            print(f"{name:<22} " + "  ".join(f"{key}={value}" for key, value in timings.items()))
    from interp_core.device import device_name

    return {"rules": rows, "device": device_name(args.device)}
