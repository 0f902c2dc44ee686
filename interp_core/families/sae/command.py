"""The CLI: ``explain sae [RECIPE] [--data acts.npz] --json`` and ``export-sae RECIPE --out DIR --json``."""

from __future__ import annotations

import math
import os

import torch

from interp_core import recipes
from interp_core.device import resolve_device
from interp_core.errors import RecipeError
from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae.activations import source_for
from interp_core.families.sae.saelens import export_recipe
from interp_core.families.sae.train import FAMILY, default_user_sae, make_sae, rounded
from interp_core.progress import progress_bar
from interp_core.store import catalog_at


def explain_cli(args) -> dict:
    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; an SAE recipe names its own activations.")
    device = resolve_device(args.device)
    if args.data:
        return _explain_user_file(args, device)
    name = args.recipe or "toy-sae"
    recipe = recipes.get_recipe(name)
    if recipe.family != FAMILY:
        raise RecipeError(f"Recipe '{name}' is not an SAE recipe; choose one of: {', '.join(r.name for r in recipes.list_recipes(FAMILY))}.")
    catalog = catalog_at(args.store)
    trained = recipes.train_or_load(recipe, catalog, device=device, seed=args.seed)
    source = source_for(trained)
    sae = trained.extras["sae"]
    result = {"recipe": name, "status": trained.status, "source": source.description}
    result.update({k: rounded(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()})
    density = explain.densities(explain.encode_codes(sae, source.acts, device))
    result.update({"dead_fraction": rounded(float((density == 0).mean())), "n_features": int(sae.width)})
    if source.true_features is not None:
        recovery = explain.feature_recovery(sae.W_dec.detach().cpu().numpy(), source.true_features)
        result.update({"mmcs": rounded(recovery.mmcs), "mcc": rounded(recovery.mcc)})
    loss = "mse" if source.kind == "toy" else "ce"
    spliced = explain.spliced_metrics(trained.model, trained.dataset.X_test, trained.dataset.y_test, loss=loss, targets=trained.dataset.X_test if loss == "mse" else None)
    result.update({k: rounded(v) if isinstance(v, float) else v for k, v in spliced.items()})
    if not args.json:
        _print_metrics(result)
    return result


def _explain_user_file(args, device) -> dict:
    acts, true_features = sources.load_acts_file(args.data)
    source = sources.user_source(acts, true_features, os.path.basename(args.data), seed=args.seed)
    arch, settings = default_user_sae(source.d, None if true_features is None else len(true_features))
    torch.manual_seed(args.seed)
    sae = make_sae(arch, source.d, settings)
    sae.fit_input(torch.as_tensor(source.acts_train))
    steps_per_epoch = math.ceil(source.n_train / 512)
    config = explain.SAETrainConfig(epochs=max(1, min(3000 // steps_per_epoch, 200)), batch_size=512, lr=1e-3, dead_window=200)
    bar, update = progress_bar("explain sae")
    try:
        explain.train_sae(sae, source.acts_train, config, device=device, seed=args.seed, progress=update)
    finally:
        bar.close()
    result = {"data": args.data, "arch": arch, **settings, "n_train": source.n_train, "n_test": len(source.acts_test)}
    result.update({k: rounded(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()})
    density = explain.densities(explain.encode_codes(sae, source.acts, device))
    result.update({"dead_fraction": rounded(float((density == 0).mean())), "n_features": int(sae.width)})
    if true_features is not None:
        recovery = explain.feature_recovery(sae.W_dec.detach().cpu().numpy(), true_features)
        result.update({"mmcs": rounded(recovery.mmcs), "mcc": rounded(recovery.mcc)})
    if not args.json:
        _print_metrics(result)
    return result


def export_cli(args) -> dict:
    """Write a trained SAE recipe as an SAELens folder (cfg.json, sae_weights.safetensors, sparsity.safetensors)."""
    recipe = recipes.get_recipe(args.recipe)
    if recipe.family != FAMILY:
        raise RecipeError(f"Recipe '{args.recipe}' is not an SAE recipe; choose one of: {', '.join(r.name for r in recipes.list_recipes(FAMILY))}.")
    trained = recipes.load(recipe.name, catalog_at(args.store), "cpu")
    result = export_recipe(trained, args.out, args.hook_name)
    if not args.json:
        print(f"{recipe.name}: wrote an SAELens {result['architecture']} SAE (d_in {result['d_in']}, d_sae {result['d_sae']}, hook {result['hook_name']}) to {result['out']}")
    return result


def _print_metrics(result: dict) -> None:
    for key, value in result.items():
        print(f"{key:<22} {value:.4f}" if isinstance(value, float) else f"{key:<22} {value}")
