"""The CLI: ``python -m interp_core explain mechanisms [RECIPE] --json`` (older name: ``groups``) and
``sweep groups GROUP --seeds N`` (a population, population.py)."""

from __future__ import annotations

import sys
import tempfile

from interp_core import recipes
from interp_core.errors import DataError, RecipeError
from interp_core.families.mechanisms import explain as explain
from interp_core.families.mechanisms import population
from interp_core.families.mechanisms.data import get_group, pairs_dataset
from interp_core.families.mechanisms.train import FAMILY
from interp_core.recipes import Recipe
from interp_core.store import Store, catalog_at
from interp_core.families.mechanisms.artifacts import read_split


def _group_recipe(name: str | None) -> Recipe:
    names = [r.name for r in recipes.list_recipes(FAMILY)]
    recipe = recipes.get_recipe(name or "z113-mlp")
    if recipe.family != FAMILY:
        raise RecipeError(f"'{recipe.name}' is not a group-operations recipe; expected one of: {', '.join(names)}.")
    return recipe


def explain_mechanisms(args) -> dict:
    """``explain mechanisms [RECIPE]``: recompute the explanation of a trained group network and its checks."""
    if getattr(args, "data", None):
        raise RecipeError(f"explain {args.kind} works on the group recipes (e.g. z113-mlp), not on --data files; the datasets are generated from the group.")
    recipe = _group_recipe(args.recipe)
    trained = recipes.train_or_load(recipe, catalog_at(args.store), device=args.device, seed=args.seed)
    store = catalog_at(args.store).store_for(trained.artifact)
    split = read_split(trained.artifact, store)
    config = trained.manifest.get("train_config", {})
    key = trained.extras["group"]
    report, decomposition, _ = explain.analyse(trained.model.cpu().parts(), key, split, config.get("coverage", 0.9), config.get("prune_threshold", 0.5))
    bound = report.bound
    result = {
        "recipe": recipe.name,
        "group": get_group(key).title,
        "train_accuracy": report.train_accuracy,
        "test_accuracy": report.test_accuracy,
        "brute_force_accuracy": report.brute_force_accuracy,
        "explained_accuracy": report.explained_accuracy,
        "key_irreps": report.key_irreps,
        "bound": None if bound is None else bound["accuracy"],
        "memorising_neurons": report.memorising_neurons,
        "without_key_accuracy": report.without_key_accuracy,
        "key_share": report.key_share,
        "equivariance": report.equivariance,
        "bound_cost_ratio": None if bound is None else bound["cost_ratio"],
        "bound_seconds": None if bound is None else bound["seconds"],
        "brute_force_seconds": None if bound is None else bound["brute_force_seconds"],
        "pruning": {
            name: {"before": before, "after_pruning": after, "key_irreps_only": key_only, "pairs": pairs}
            for name, before, after, key_only, pairs in zip(*(report.pruning["accuracies"][c] for c in ("pairs scored", "before", "after", "key irreps only", "pairs")))
        },
        "recorded_test_accuracy": trained.metrics.get("test_accuracy"),
        "status": trained.status,
        **_compressed(trained.model.cpu().parts(), key, decomposition.key_irreps),
    }
    if not args.json:
        print(f"{recipe.name}: {result['group']} ({trained.status})")
        print(f"  train {report.train_accuracy:.4f}  held-out {report.test_accuracy:.4f}  brute force (all pairs) {report.brute_force_accuracy:.4f}")
        print(f"  key irreps {', '.join(report.key_irreps)} hold {report.key_share:.1%} of the weights")
        print(f"  key irreps only {report.explained_accuracy:.4f}  key irreps removed {report.without_key_accuracy:.4f}")
        print(f"  equivariance distance left {report.equivariance['left']:.3f}  right {report.equivariance['right']:.3f}")
        if bound:
            print(f"  proved lower bound {bound['accuracy']:.4f} at {bound['cost_ratio']:.0%} of brute-force FLOPs")
        if result["compressed_bound"] is not None:
            print(f"  hidden layer compressed too ({result['compressed_bound_bins']} phase bins): proved {result['compressed_bound']:.4f} "
                  f"at {result['compressed_bound_cost_ratio']:.0%} of brute-force FLOPs, {result['compressed_bound_time_ratio']:.2f}x its time")
        print(f"  memorising neurons (less than {config.get('prune_threshold', 0.5):.0%} of their weight in the key irreps): {len(report.memorising_neurons)}")
        print(f"    {'accuracy on':<46} {'before':>7} {'pruned':>7} {'key only':>9}")
        for name, values in result["pruning"].items():
            if values["pairs"]:
                print(f"    {name:<46} {values['before']:>7.3f} {values['after_pruning']:>7.3f} {values['key_irreps_only']:>9.3f}")
    return result


def _compressed(parts, key: str, keep) -> dict:
    """The bound that also compresses the hidden layer (Z_n only), as the explain JSON's
    ``compressed_bound*`` keys (null for other groups), timed on one BLAS thread as ``analyse`` times today's."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return explain.compressed_summary(parts, key, keep)


def _values(text: str, option: str, kind, low: float, high: float | None, expected: str) -> list:
    """A comma-separated grid option, each value checked: one sentence naming the option when wrong."""
    values = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            value = kind(part)
        except ValueError:
            raise DataError(f"--{option} '{part}' is not {expected}; expected comma-separated values such as {option_example(option)}.") from None
        if value < low or (high is not None and value >= high):
            raise DataError(f"--{option} {part} is out of range; expected {expected}.")
        values.append(value)
    return list(dict.fromkeys(values))


def option_example(option: str) -> str:
    return {"hidden": "64,128", "weight-decay": "0,1.0", "train-fraction": "0.3,0.5", "corrupt": "0,0.05", "dropout": "0,0.3"}.get(option, "1,2")


def _switches(text: str) -> list[bool]:
    choices = {"no": False, "yes": True}
    words = [w.strip().lower() for w in str(text).split(",")]
    bad = [w for w in words if w not in choices]
    if bad:
        raise DataError(f"--batchnorm '{bad[0]}' is not understood; expected no, yes or no,yes.")
    return list(dict.fromkeys(choices[w] for w in words))


def sweep_groups(args) -> dict:
    """``sweep groups GROUP --seeds N``: a population of trained group networks, each decomposed,
    bounded and brute-forced, stored as one artifact; prints Wu et al.'s summary (and, with corrupted
    labels, Doshi et al.'s claims with a verdict each)."""
    from tqdm import tqdm

    if getattr(args, "data", None):
        raise RecipeError(f"sweep {args.kind} trains on a group's table (e.g. Z113), not on --data files.")
    group = get_group(args.group)  # an unknown group is refused with the list of forms
    settings = population.grid(
        _values(args.hidden, "hidden", int, 1, 4097, "a whole number of neurons from 1 to 4096"),
        _values(args.weight_decay, "weight-decay", float, 0, None, "a weight decay ≥ 0"),
        _values(args.train_fraction, "train-fraction", float, 0, 1, "a share of pairs between 0 and 1"),
        _values(args.corrupt, "corrupt", float, 0, 1, "a share of corrupted labels in [0, 1)"),
        _values(args.dropout, "dropout", float, 0, 1, "a dropout rate in [0, 1)"),
        _switches(args.batchnorm),
    )
    if not (args.lr > 0 and 0 < args.final_lr_fraction <= 1):
        raise DataError(f"--lr must be > 0 and --final-lr-fraction in (0, 1]; got {args.lr} and {args.final_lr_fraction}.")
    for fraction in {s["train_fraction"] for s in settings}:  # a fraction leaving no test pairs fails before any training
        pairs_dataset(group.key, fraction)
    store = Store(args.store) if args.store else Store()
    total = len(settings) * args.seeds
    bar = tqdm(total=total * args.steps, desc=f"sweep {group.key}", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5)
    done = {"before": 0}

    def on_model(index: int, count: int) -> None:
        done["before"] = index * args.steps
        bar.set_postfix_str(f"model {index + 1}/{count}", refresh=False)

    def progress(event) -> None:
        bar.update(done["before"] + event.step - bar.n)

    try:
        result = population.sweep(group.key, args.seeds, settings, args.steps, lr=args.lr, final_lr_fraction=args.final_lr_fraction, progress=progress, on_model=on_model)
    finally:
        bar.close()
    if getattr(args, "ship", False):  # the shipped layout: a plain folder in assets/populations, as ``ship`` writes recipes
        with tempfile.TemporaryDirectory(prefix="interp-ship-") as scratch:
            saved = population.save_population(result, Store(scratch), args.name)
            population.SHIPPED_POPULATIONS.mkdir(parents=True, exist_ok=True)
            Store(scratch).export_plain(saved.name, population.SHIPPED_POPULATIONS)
        store = Store(population.SHIPPED_POPULATIONS, readonly=True)
        artifact = store.open(saved.name)
    else:
        artifact = population.save_population(result, store, args.name)
    summary = result["summary"]
    out = {**summary, "claims": result["claims"], "settings": result["settings"], "artifact": str(artifact.location),
           "models": [{k: row[k] for k in ("index", "seed", *population.SETTINGS, "test_accuracy", "brute_force_accuracy", "bound", "bound_time_ratio", "bound_flops_ratio",
                                                                                            *population.COMPRESSED_KEYS) if k in row}
                      for row in result["rows"]]}
    if not args.json:
        print(f"{summary['group']}: {summary['n_models']} models, saved as {artifact.name} ({artifact.location})")
        share = summary["share_bound_ge_95"]
        print(f"  proved bound ≥ 95%: {'-' if share is None else f'{share:.0%}'} of models; median bound {_percent(summary['median_bound'])}")
        print(f"  bound / brute force (median): time {_ratio(summary['bound_time_ratio'])}, FLOPs {_ratio(summary['bound_flops_ratio'])}")
        for row in result["claims"] or []:
            print(f"  {row['claim']}: {row['verdict']} — {row['measured']}")
    return out


def _percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}×"
