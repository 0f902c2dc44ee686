"""``python -m interp_core``: recipes, train, explain, load-model, bench, ship.

With ``--json`` the last line printed on stdout is one JSON object (metrics, or {"error": ...}).
A user's mistake exits with code 2 and one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

from interp_core.errors import InterpError, RecipeError, StoreError

# KIND -> function(args) -> dict of metrics. Each family page registers its kind here.
EXPLAINERS: dict[str, Callable[[argparse.Namespace], dict]] = {}
# bench TARGET -> function(args) -> dict of figures; families add theirs (e.g. "sae", "attributions").
BENCHES: dict[str, Callable[[argparse.Namespace], dict]] = {}
EXPLAIN_KINDS = ("prototypes", "sae", "concepts", "attributions", "rules", "groups")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), like every other user mistake; still exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message.rstrip('.')} (see: {self.prog} --help).\n")


def whole_number(minimum: int, expected: str, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int in [minimum, maximum], refused with ``expected`` in the sentence."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number; expected {expected}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected {expected}")
        return value

    return parse


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps")
    parser.add_argument("--store", default=None, help="artifact folder (default: $INTERP_STORE or ~/.cache/interp-explorer/store)")
    parser.add_argument("--seed", type=whole_number(0, "a seed from 0 to 4294967295", 2**32 - 1), default=0, help="random seed; the same seed on the CPU gives the same metrics")
    parser.add_argument("--json", action="store_true", help="print one JSON object of metrics as the last line")
    parser.add_argument("--data", default=None, help="a user file: CSV (with --target) or NPZ with X and y")
    parser.add_argument("--target", default=None, help="the target column of a CSV file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m interp_core", description="Interp Explorer engine: train models, compute explanations, benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("recipes", help="list the named recipes and whether each is trained")
    p.add_argument("--family", default=None, help="only this family's recipes")
    _common(p)

    p = sub.add_parser("train", help="train a recipe (or the default model on --data) and save it in the store")
    p.add_argument("recipe", nargs="?", help="recipe name (see 'recipes'); omit with --data")
    p.add_argument("--epochs", type=whole_number(1, "the number of epochs, 1 or more"), default=None, help="override the recipe's maximum number of epochs")
    p.add_argument("--no-umap", action="store_true", help="skip the UMAP map at train time (PCA only)")
    _common(p)

    p = sub.add_parser("explain", help="compute a family's explanations and their faithfulness metrics")
    p.add_argument("kind", choices=EXPLAIN_KINDS, help="which family")
    p.add_argument("recipe", nargs="?", help="recipe name; omit with --data")
    p.add_argument("--k", type=int, default=None, help="rules: how many top-ranked features the surrogate may use")
    p.add_argument("--depth", type=int, default=None, help="rules: the surrogate tree's maximum depth")
    p.add_argument("--methods", default=None, help="attributions: comma-separated methods (default: all six), e.g. integrated_gradients,occlusion+tsr")
    _common(p)

    p = sub.add_parser("load-model", help="validate a model file (.safetensors + JSON config, or a .pt2 torch.export program) and summarise it")
    p.add_argument("file", help="the model file; pickle checkpoints (.pt, .pth, .ckpt, .pkl) are refused unopened")
    p.add_argument("--config", default=None, help="JSON config for .safetensors weights: a store manifest.json or {\"arch\": ..., \"model_config\": {...}}")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    p = sub.add_parser("bench", help="time server start, page renders, training and UMAP in one run (or a family's TARGET)")
    p.add_argument("target", nargs="?", default=None, help="a family benchmark (e.g. sae, attributions); default: the app and engine")
    p.add_argument("--quick", action="store_true", help="fewer recipes and no browser (a smoke run)")
    p.add_argument("--no-browser", action="store_true", help="skip the server and page timings")
    _common(p)

    p = sub.add_parser("report", help="one self-contained HTML report of a recipe (its metrics and family page views) from the store")
    p.add_argument("recipe", help="recipe name (see 'recipes'); it must be trained or shipped")
    p.add_argument("--out", required=True, help="the .html file to write; it opens offline")
    _common(p)

    p = sub.add_parser("ship", help="retrain the shipped demo checkpoints into assets/store (for maintainers)")
    p.add_argument("recipes", nargs="*", help="only these recipes (default: all)")
    p.add_argument("--family", default=None, help="only this family's recipes")
    _common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_store_path(args)
        result = COMMANDS[args.command](args)
    except InterpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}))
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was saved.", file=sys.stderr)
        return 130
    if getattr(args, "json", False) and result is not None:
        print(json.dumps(result, default=str))
    return 0


def _check_store_path(args) -> None:
    """A store that is (or sits inside) a file is refused before any work, not after training."""
    given, source = (getattr(args, "store", None), "--store") if getattr(args, "store", None) else (os.environ.get("INTERP_STORE"), "INTERP_STORE")
    if not given:
        return
    path = Path(given).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "is a file" if existing == path else f"is inside '{existing}', which is a file"
        raise StoreError(f"{source} '{given}' {where}; expected a folder for the artifacts (created if missing).")


def _catalog(args):
    from interp_core.store import Catalog, Store

    return Catalog(Store(args.store) if args.store else Store())


def _progress_bar(desc: str):
    """A tqdm bar on stderr fed by the fit loop's ProgressEvents."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc=desc, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5)

    def update(event) -> None:
        if bar.total != event.total:
            bar.total = event.total
        postfix = {"loss": f"{event.loss:.4f}", "epoch": event.epoch}
        if event.metric is not None:
            postfix["val"] = f"{event.metric:.3f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(event.step - bar.n)  # tqdm throttles redraws to mininterval

    return bar, update


def _stage_printer(bar):
    def show(text: str) -> None:
        bar.write(f"{text}...", file=sys.stderr)

    return show


def cmd_recipes(args) -> dict:
    from interp_core import recipes

    catalog = _catalog(args)
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
    """The family's default architecture for a user file: MLP for tables and images, FCN for series."""
    from interp_core.data import load_user_file

    dataset = load_user_file(args.data, target=args.target)
    return user_recipe(dataset), dataset


def user_recipe(dataset):
    """The default model for a user's dataset (also what the app trains on an upload from Home)."""
    from interp_core.recipes import Recipe

    arch, family = ("fcn", "timeseries") if dataset.modality == "series" else ("mlp", "classifier")
    return Recipe(f"user-{dataset.name}-{arch}", family, dataset.name, arch, {}, {"epochs": 100, "patience": 20}, f"Default {arch} on {dataset.source}")


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
    store = Store(args.store) if args.store else Store()
    bar, update = _progress_bar(f"train {recipe.name}")
    start = time.perf_counter()
    try:
        trained = recipes.train(recipe, store=store, dataset=dataset, device=args.device, seed=args.seed, epochs=args.epochs, progress=update, umap=not args.no_umap, on_stage=_stage_printer(bar))
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    metrics = trained.metrics
    if not args.json:
        print(f"{recipe.name}: test accuracy {metrics['test_accuracy']:.4f} on {trained.manifest['device_name']} in {seconds:.1f} s")
        print(f"saved to {trained.artifact.location}")
    return {
        "recipe": recipe.name,
        "test_accuracy": metrics["test_accuracy"],
        "train_accuracy": metrics["train_accuracy"],
        "device": trained.device.type,
        "device_name": trained.manifest["device_name"],
        "seconds": round(seconds, 3),
        "epochs_run": metrics["epochs_run"],
        "artifact": str(trained.artifact.location),
    }


def cmd_explain(args) -> dict:
    from interp_core.families import load_all

    load_all()
    if args.kind not in EXPLAINERS:
        raise RecipeError(f"'explain {args.kind}' is not available yet: its page has not been built; available now: {', '.join(sorted(EXPLAINERS)) or 'none'}.")
    return EXPLAINERS[args.kind](args)


def cmd_load_model(args) -> dict:
    from interp_core.modelfiles import load_model_file

    summary = load_model_file(args.file, args.config).summary
    if not args.json:
        print(f"{summary.file}: {summary.format}, {summary.architecture}")
        print(f"  parameters {summary.n_parameters:,} in {summary.tensors} tensors; input shape {summary.input_shape}; outputs {summary.n_outputs}")
        for note in summary.notes:
            print(f"  note: {note}")
    return summary.to_dict()


def cmd_bench(args) -> dict:
    from interp_core import bench
    from interp_core.families import load_all

    if args.target is None:
        return bench.run(args)
    load_all()
    if args.target not in BENCHES:
        raise RecipeError(f"Unknown benchmark '{args.target}'; available: {', '.join(sorted(BENCHES)) or 'none yet'} (or no target for the app and engine).")
    return BENCHES[args.target](args)


def cmd_report(args) -> dict:
    from interp_core.reporters import cli_report

    return cli_report(args)


def cmd_ship(args) -> dict:
    import tempfile
    from pathlib import Path

    from interp_core import recipes
    from interp_core.store import SHIPPED_ROOT, Store

    # Train into a scratch store (versioned folders, locks) and ship plain folders: the shipped layout.
    target = Path(args.store or SHIPPED_ROOT)
    target.mkdir(parents=True, exist_ok=True)
    rows = {}
    chosen = [recipes.get_recipe(n) for n in args.recipes] if args.recipes else recipes.list_recipes(args.family)
    with tempfile.TemporaryDirectory(prefix="interp-ship-") as scratch:
        store = Store(scratch)
        for recipe in chosen:
            bar, update = _progress_bar(f"ship {recipe.name}")
            try:
                trained = recipes.train(recipe, store=store, device="cpu", seed=args.seed, progress=update)
            finally:
                bar.close()
            store.export_plain(recipe.name, target)
            rows[recipe.name] = trained.metrics["test_accuracy"]
            print(f"{recipe.name:<24} test accuracy {rows[recipe.name]:.4f}")
    return {"shipped": rows, "store": str(target)}


COMMANDS = {"recipes": cmd_recipes, "train": cmd_train, "explain": cmd_explain, "load-model": cmd_load_model, "bench": cmd_bench, "report": cmd_report, "ship": cmd_ship}
