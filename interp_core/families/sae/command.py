"""The CLI: ``explain sae [RECIPE] [--data acts.npz] --json`` and ``export-sae RECIPE --out DIR --json``."""

from __future__ import annotations

import os

import torch

from interp_core import recipes
from interp_core.device import resolve_device
from interp_core.errors import DataError, RecipeError
from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae.activations import source_for
from interp_core.families.sae.models import TopKTranscoder
from interp_core.families.sae.saelens import export_recipe
from interp_core.families.sae.shards import ShardSet, StreamedActivations, peak_rss_mb
from interp_core.families.sae.train import SHARD_TRAIN_CONFIG, default_user_sae, make_sae, rounded, sae_recipe, toy_absorption, train_default_sae
from interp_core.progress import progress_bar
from interp_core.store import catalog_at


CAUSAL_TEXT_EXAMPLES = 32  # MiniLM windows per feature for explain sae's causal effects (each runs MiniLM twice)


def _arch(args) -> str:
    """``--arch``: the architecture ``--data`` / ``--model`` train (default topk); a recipe names its own."""
    return (getattr(args, "arch", None) or "topk").lower()


def explain_cli(args) -> dict:
    if getattr(args, "arch", None) and args.recipe:
        raise RecipeError(f"--arch chooses the SAE trained on --data or --model; recipe '{args.recipe}' names its own ({recipes.get_recipe(args.recipe).arch.removeprefix('sae-')}).")
    if args.recipe and args.data:
        raise RecipeError("Give either a RECIPE or --data, not both; an SAE recipe names its own activations.")
    device = resolve_device(args.device)
    if getattr(args, "model", None):
        return _explain_user_model(args, device)
    if getattr(args, "sae", None):
        raise RecipeError("--sae opens an SAELens SAE on a layer of your own model; give the model too (--model PATH --data FILE --layer NAME).")
    if args.data:
        return _explain_user_file(args, device)
    name = args.recipe or "toy-sae"
    recipe = sae_recipe(name)
    catalog = catalog_at(args.store)
    trained = recipes.train_or_load(recipe, catalog, device=device, seed=args.seed)
    source = source_for(trained)
    sae = trained.extras["sae"]
    result = {"recipe": name, "status": trained.status, "source": source.description, "arch": sae.arch}
    result.update({k: rounded(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()})
    density = explain.densities(explain.encode_codes(sae, source.acts, device))
    result.update({"dead_fraction": rounded(float((density == 0).mean())), "n_features": int(sae.width)})
    if source.true_features is not None:
        recovery = explain.feature_recovery(sae.W_dec.detach().cpu().numpy(), source.true_features)
        result.update({"mmcs": rounded(recovery.mmcs), "mcc": rounded(recovery.mcc)})
        result.update(toy_absorption(sae, source) if "parents" in source.extras else {"absorption": None})  # None: a flat toy has no parents to absorb
    if source.model is not None:  # a generated toy's activations come without a model to splice into
        loss = "mse" if source.kind == "toy" else "ce"
        spliced = explain.spliced_metrics(trained.model, trained.dataset.X_test, trained.dataset.y_test, loss=loss, targets=trained.dataset.X_test if loss == "mse" else None)
        result.update({k: rounded(v) if isinstance(v, float) else v for k, v in spliced.items()})
        if source.kind == "text":
            result.update({k: rounded(v) for k, v in explain.spliced_cosines(trained.model, trained.dataset.X_test).items()})
    if source.kind in ("image", "text"):  # a classifier to ablate features in: measured causal effects beside the decoder-direction ones
        from interp_core.families.sae.steer import MAX_CAUSAL_EXAMPLES, causal_rows

        result["causal_effects"] = causal_rows(trained, max_examples=CAUSAL_TEXT_EXAMPLES if source.kind == "text" else MAX_CAUSAL_EXAMPLES)
    if isinstance(sae, TopKTranscoder):  # explained_variance and mse are of the block's output; accuracy_sae is the block replaced
        result.update({"transcoder": True, "spliced_accuracy": result.get("accuracy_sae"), "upstream": recipe.model_config.get("upstream")})
    if not args.json:
        _print_metrics(result)
    return result


def _explain_user_file(args, device) -> dict:
    if ShardSet.is_shard_folder(args.data):
        return _explain_shards(args, device)
    acts, true_features = sources.load_acts_file(args.data)
    source = sources.user_source(acts, true_features, os.path.basename(args.data), seed=args.seed)
    bar, update = progress_bar("explain sae")
    try:
        sae, arch, settings = train_default_sae(source.acts_train, true_features, device=device, seed=args.seed, progress=update, arch=_arch(args))
    finally:
        bar.close()
    result = {"data": args.data, "arch": arch, **settings, "n_train": source.n_train, "n_test": len(source.acts_test)}
    result.update({k: rounded(v) for k, v in explain.reconstruction_metrics(sae, source.acts_test, device).items()})
    density = explain.densities(explain.encode_codes(sae, source.acts, device))
    result.update({"dead_fraction": rounded(float((density == 0).mean())), "n_features": int(sae.width)})
    if true_features is not None:
        recovery = explain.feature_recovery(sae.W_dec.detach().cpu().numpy(), true_features)
        result.update({"mmcs": rounded(recovery.mmcs), "mcc": rounded(recovery.mcc), "absorption": None})  # a file names no parents
    if not args.json:
        _print_metrics(result)
    return result


def _explain_user_model(args, device) -> dict:
    """``explain sae --model PATH --data FILE [--target COL] [--layer NAME] [--sae DIR]``: an SAE at a layer of the user's model."""
    from interp_core.causal_lm import is_text_model
    from interp_core.families.sae.foreign import explain_layer, feature_rows
    from interp_core.modelfiles import load_model_path
    from interp_core.progress import stage_printer
    from interp_core.userdata import foreign_from_args

    loaded = None if args.recipe else load_model_path(args.model, getattr(args, "config", None))
    if loaded is not None and is_text_model(loaded):  # a causal LM or an encoder: no classes, an SAE per token
        return _explain_text_model(args, loaded, device)
    trained = foreign_from_args(args, None, loaded)  # the data read as Home reads it (examples, not an activations file)
    bar, update = progress_bar("explain sae")
    try:
        result = explain_layer(trained, catalog_at(args.store).store, sae_path=args.sae, device=device, seed=args.seed,
                               progress=update, collect_progress=update, stage=stage_printer(bar), arch=_arch(args))
    finally:
        bar.close()
    sae = result.sae
    out = {"model": trained.extras["loaded"].description(), "data": args.data, "layer": trained.model.layer, "d_in": int(sae.d_in), "sae": result.origin, "arch": sae.arch,
           "n_train": result.source.n_train, "n_test": len(result.source.acts_test), "activations_cached": result.cached, "source": result.source.description}
    out.update({k: rounded(v) if isinstance(v, float) else v for k, v in result.metrics.items()})
    out["model_test_accuracy"] = trained.metrics.get("test_accuracy")
    out["features"] = feature_rows(result)
    if not args.json:
        _print_metrics({k: v for k, v in out.items() if k != "features"})
        for row in out["features"]:
            print(f"feature {row['feature']:<5} {row['label']:<24} density {row['density']:.3f}  top examples {row['top_examples']}")
    return out


def _explain_text_model(args, loaded, device) -> dict:
    """``explain sae --model CAUSAL_LM_OR_ENCODER --data texts``: an SAE on the layer's token activations (``causal.explain_text_model``)."""
    from interp_core.causal_lm import lm_texts
    from interp_core.families.sae.causal import explain_text_model

    if not args.data:
        raise RecipeError("--model needs --data FILE: the texts to read the model's layer on (.txt, one text a line; .jsonl; or a CSV with a text column).")
    bar, update = progress_bar("explain sae")
    try:
        out = explain_text_model(loaded, lm_texts(loaded, args.data), catalog_at(args.store).store, layer=getattr(args, "layer", None), sae_path=args.sae,
                             arch=_arch(args), device=device, seed=args.seed, progress=update)
    finally:
        bar.close()
    if not args.json:
        _print_metrics({k: v for k, v in out.items() if k != "features"})
        for row in out["features"]:
            promotes = f"  promotes {', '.join(repr(t['token']) for t in row['promotes'])}" if "promotes" in row else ""  # an encoder has no next token
            print(f"feature {row['feature']:<5} fires on {row['label']:<24} density {row['density']:.3f}{promotes}")
    return out


def _explain_shards(args, device) -> dict:
    """``explain sae --data SHARD_FOLDER``: the default TopK SAE trained for one epoch streaming from every shard
    but the last, measured on the last (held out); memory stays flat however many shards there are."""
    shards = ShardSet(args.data)
    if len(shards) < 2:
        raise DataError(f"'{args.data}' holds {len(shards)} shard; expected at least 2 (the last is held out to measure the SAE).")
    train, test = shards.subset(list(range(len(shards) - 1))), shards.read(len(shards) - 1).numpy()
    arch, settings = default_user_sae(shards.d, None, _arch(args))
    torch.manual_seed(args.seed)
    sae = make_sae(arch, shards.d, settings).fit_input(train.fit_sample(65536))
    config = explain.SAETrainConfig.from_dict(SHARD_TRAIN_CONFIG)  # as train --data SHARD_FOLDER trains it
    bar, update = progress_bar("explain sae (from shards)")
    try:
        fit = explain.train_sae(sae, StreamedActivations(train, seed=args.seed), config, device=device, seed=args.seed, progress=update)
    finally:
        bar.close()
    result = {"data": args.data, "arch": arch, **settings, "n_train": train.total, "n_test": len(test), "shards": len(shards), "steps": fit.steps,
              "activations_per_second": round(fit.activations_per_second, 1)}
    result.update({k: rounded(v) for k, v in explain.reconstruction_metrics(sae, test, device).items()})
    density = explain.densities(explain.encode_codes(sae, test, device))
    result.update({"dead_fraction": rounded(float((density == 0).mean())), "n_features": int(sae.width), "peak_rss_mb": round(peak_rss_mb(), 1)})
    if not args.json:
        _print_metrics(result)
    return result


def export_cli(args) -> dict:
    """Write a trained SAE recipe as an SAELens folder (cfg.json, sae_weights.safetensors, sparsity.safetensors)."""
    recipe = sae_recipe(args.recipe)
    trained = recipes.load(recipe.name, catalog_at(args.store), "cpu")
    if isinstance(trained.extras["sae"], TopKTranscoder):
        raise RecipeError(f"'{recipe.name}' is a transcoder (it reads a block's input and writes its output), which an SAELens SAE folder cannot hold; export-sae writes SAEs only.")
    result = export_recipe(trained, args.out, args.hook_name)
    if not args.json:
        print(f"{recipe.name}: wrote an SAELens {result['architecture']} SAE (d_in {result['d_in']}, d_sae {result['d_sae']}, hook {result['hook_name']}) to {result['out']}")
    return result


def _print_metrics(result: dict) -> None:
    for key, value in result.items():
        if key == "causal_effects":
            _print_causal(value)
            continue
        print(f"{key:<22} {value:.4f}" if isinstance(value, float) else f"{key:<22} {value}")


def _print_causal(rows: list[dict]) -> None:
    print("causal effects         the most often firing features: the class ablating each lowers most beside the class its decoder direction raises most")
    for row in rows:
        decoder = "not comparable" if row["decoder_class"] is None else f"decoder raises {row['decoder_class']} ({row['decoder_effect']:+.3f} logit/unit)"
        verdict = {True: "agree", False: "DISAGREE", None: "-"}[row["agree"]]
        print(f"  feature {row['feature']:<5} {row['label'][:20]:<21} ablation lowers {row['causal_class']} ({row['causal_change']:+.3f} p, {row['n_examples']} examples); {decoder}: {verdict}")
