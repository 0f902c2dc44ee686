"""The CLI's commands: each takes the parsed arguments and returns the dict printed with --json.

Families are reached through their specs (interp_core.family): ``explain KIND`` and ``bench TARGET``
look the name (or an older alias) up in the registry.
"""

from __future__ import annotations

import dataclasses
import os
import time

from interp_core.errors import RecipeError
from interp_core.family import families, get_family
from interp_core.progress import progress_bar, stage_printer
from interp_core.store import catalog_at


def cmd_recipes(args) -> dict:
    from interp_core import recipes

    catalog = catalog_at(args.store)
    rows = [recipes.recipe_status(r, catalog) for r in recipes.list_recipes(args.family)]
    if not args.json:
        header = f"{'recipe':<24} {'family':<14} {'dataset':<15} {'status':<20} {'test acc':>8}"
        print(header)
        print("-" * len(header))
        for row in rows:
            acc = "" if row["test_accuracy"] is None else f"{row['test_accuracy']:.3f}"
            print(f"{row['recipe']:<24} {row['family']:<14} {row['dataset']:<15} {row['status']:<20} {acc:>8}")
        for row in rows:  # a corrupted artifact's sentence, so one bad manifest never hides the others
            if row["message"]:
                print(f"{row['recipe']}: {row['message']}")
    return {"recipes": rows}


def _user_recipe(args):
    """The default architecture for a user file: MLP for tables and images, FCN for series; or a
    family's own recipe for data only it trains from (Family.train_data: the SAE family's shard folders)."""
    from interp_core.data import load_user_file
    from interp_core.recipes import default_recipe

    for family in families().values():
        recipe = family.train_data(args.data) if family.train_data is not None else None
        if recipe is not None:
            return recipe, None

    dataset = load_user_file(args.data, target=args.target)
    return default_recipe(dataset), dataset


def cmd_train(args) -> dict:
    from interp_core import recipes
    from interp_core.store import Store

    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; a recipe names its own dataset.")
    if args.recipe:
        recipe, dataset = recipes.get_recipe(args.recipe), None
    elif args.data:
        recipe, dataset = _user_recipe(args)
    else:
        raise RecipeError("train needs a RECIPE (see: python -m interp_core recipes) or --data FILE.")
    from interp_core.device import resolve_device

    resolve_device(args.device)  # a bad --device fails before any progress bar is drawn
    world_size, rank = int(os.environ.get("WORLD_SIZE", "1") or 1), int(os.environ.get("RANK", "0") or 0)  # torchrun sets them
    if world_size > 1 and recipe.family != "sae":
        raise RecipeError(f"torchrun trains SAE recipes across processes; '{recipe.name}' is a {recipe.family} recipe: train it with one process.")
    precision = getattr(args, "precision", "fp32")
    if precision != "fp32":
        if recipe.family != "sae":
            raise RecipeError(f"--precision {precision} applies to SAE recipes; '{recipe.name}' is a {recipe.family} recipe: train it without --precision.")
        recipe = dataclasses.replace(recipe, train_config={**recipe.train_config, "precision": precision})  # recorded in the manifest's train_config
    store = Store(args.store) if args.store else Store()
    bar, update = progress_bar(f"train {recipe.name}" + (f" (rank {rank} of {world_size})" if world_size > 1 else ""))
    start = time.perf_counter()
    try:
        trained = recipes.train(recipe, store=store, dataset=dataset, device=args.device, seed=args.seed, epochs=args.epochs,
                                progress=update if rank == 0 else None, umap=not args.no_umap, on_stage=stage_printer(bar) if rank == 0 else None)
    finally:
        bar.close()
    if rank != 0:
        return None  # rank 0 prints the JSON and saves the artifact
    seconds = time.perf_counter() - start
    metrics = trained.metrics
    if not args.json:
        accuracy = f"test accuracy {metrics['test_accuracy']:.4f}" if metrics.get("test_accuracy") is not None else f"explained variance {metrics.get('explained_variance', float('nan')):.4f}"
        print(f"{recipe.name}: {accuracy} on {trained.manifest['device_name']} in {seconds:.1f} s")
        print(f"saved to {trained.artifact.location}")
    return {
        "recipe": recipe.name,
        "test_accuracy": metrics.get("test_accuracy"),  # None for an SAE on activations with no model (a generated toy)
        "train_accuracy": metrics.get("train_accuracy"),
        "device": trained.device.type,
        "device_name": trained.manifest["device_name"],
        "seconds": round(seconds, 3),
        "epochs_run": metrics["epochs_run"],
        "artifact": str(trained.artifact.location),
        "world_size": world_size,
        **({"precision": precision} if recipe.family == "sae" else {}),
        **({"explained_variance": metrics["explained_variance"], "l0": metrics["l0"]} if recipe.family == "sae" else {}),
    }


def collect_sources() -> dict:
    """``collect-acts SOURCE``: every family's activation sources by name (Family.collect)."""
    return {source: handler for family in families().values() for source, handler in family.collect.items()}


def cmd_collect(args) -> dict:
    """``collect-acts SOURCE ...``: the family that owns the source writes its shards."""
    return collect_sources()[args.source](args)


# The families whose ``explain`` reads ``--model PATH`` (a user's own model, issue 17); the others would ignore it.
MODEL_FAMILIES = ("rules", "timeseries", "concepts", "sae", "prototypes")


def cmd_explain(args) -> dict:
    family = get_family(args.kind)  # a name or an older alias (attributions, groups)
    if family.explain is None:
        available = sorted(f.name for f in families().values() if f.explain is not None)
        raise RecipeError(f"'explain {args.kind}' is not available yet: its page has not been built; available now: {', '.join(available) or 'none'}.")
    if getattr(args, "model", None) and family.name not in MODEL_FAMILIES:
        raise RecipeError(f"'explain {args.kind}' explains its own recipes only, not --model; --model works with: {', '.join(MODEL_FAMILIES)}.")
    return family.explain(args)


def cmd_sweep(args) -> dict:
    """``sweep KIND ...``: the family's population sweep (mechanisms: ``sweep groups GROUP --seeds N``)."""
    return get_family(args.kind).sweep(args)


def cmd_export(args) -> dict:
    """``export-<family> RECIPE --out DIR``: the family's own exporter (sae: an SAELens folder)."""
    return get_family(args.command.removeprefix("export-")).export(args)


def cmd_load_model(args) -> dict:
    from interp_core import saelens
    from interp_core.modelfiles import load_model_path, model_layers

    if saelens.is_saelens_folder(args.file):  # cfg.json + sae_weights.safetensors
        return _print_saelens(saelens.summarise(args.file), args.json)
    loaded = load_model_path(args.file, args.config)
    summary = loaded.summary
    layers = model_layers(loaded)
    if not args.json:
        print(f"{summary.file}: {summary.format}, {summary.architecture}")
        print(f"  parameters {summary.n_parameters:,} in {summary.tensors} tensors; input shape {summary.input_shape}; outputs {summary.n_outputs}")
        for note in summary.notes:
            print(f"  note: {note}")
        width = max((len(layer.name) for layer in layers), default=0)
        print(f"  {len(layers)} layers (name, type, output shape on a sample input):")
        for layer in layers:
            shape = "not run" if layer.output_shape is None else str(tuple(layer.output_shape))
            print(f"    {layer.name:<{width}}  {layer.type:<24} {shape}")
    return {**summary.to_dict(), "model": loaded.description(), "layers": [layer.to_dict() for layer in layers]}


def _print_saelens(summary: dict, as_json: bool) -> dict:
    if not as_json:
        print(f"{summary['model']['path']}: SAELens {summary['architecture']} SAE, d_in {summary['d_in']}, d_sae {summary['d_sae']}, hook {summary['hook_name']}, {summary['model']['parameters']:,} parameters")
    return summary


def bench_targets() -> dict:
    """``bench TARGET`` -> fn(args): every family's benchmarks, also under the family's older names."""
    targets = {}
    for family in families().values():
        targets.update(family.benches)
        for alias in family.aliases:
            if family.name in family.benches:
                targets[alias] = family.benches[family.name]
    return targets


def cmd_bench(args) -> dict:
    from interp_core.cli import bench

    if args.target is None:
        return bench.run(args)
    if args.target == "ui":
        return bench.run_ui(args)
    targets = bench_targets()
    if args.target not in targets:
        raise RecipeError(f"Unknown benchmark '{args.target}'; available: {', '.join(sorted([*targets, 'ui']))} (or no target for the app and engine).")
    return targets[args.target](args)


def cmd_ship(args) -> dict:
    import tempfile
    from pathlib import Path

    from interp_core import recipes
    from interp_core.data.registry import write_snapshots
    from interp_core.store import SHIPPED_ROOT, Store

    if args.datasets:  # the split of each bundled scikit-learn set, read by the pages without importing scikit-learn
        return {"datasets": write_snapshots()}
    # Train into a scratch store (versioned folders, locks) and ship plain folders: the shipped layout.
    target = Path(args.store or SHIPPED_ROOT)
    target.mkdir(parents=True, exist_ok=True)
    rows = {}
    chosen = [recipes.get_recipe(n) for n in args.recipes] if args.recipes else recipes.list_recipes(args.family)
    with tempfile.TemporaryDirectory(prefix="interp-ship-") as scratch:
        store = Store(scratch)
        for recipe in chosen:
            bar, update = progress_bar(f"ship {recipe.name}")
            try:
                trained = recipes.train(recipe, store=store, device="cpu", seed=args.seed, progress=update)
            finally:
                bar.close()
            store.export_plain(recipe.name, target)
            rows[recipe.name] = trained.metrics.get("test_accuracy")  # None: an SAE on activations with no model to score
            print(f"{recipe.name:<24} " + (f"test accuracy {rows[recipe.name]:.4f}" if rows[recipe.name] is not None else f"explained variance {trained.metrics.get('explained_variance', float('nan')):.4f}"))
    datasets = write_snapshots()  # the cache the pages read the bundled sets from
    return {"shipped": rows, "store": str(target), "datasets": datasets}
