"""``python -m interp_core``: recipes, train, explain, load-model, export-sae, bench, ship.

With ``--json`` the last line printed on stdout is one JSON object (metrics, or {"error": ...}).
A user's mistake exits with code 2 and one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable

from interp_core.cli.commands import collect_sources, cmd_bench, cmd_collect, cmd_explain, cmd_export, cmd_load_model, cmd_recipes, cmd_ship, cmd_sweep, cmd_train
from interp_core.cli.report import cmd_report
from interp_core.errors import InterpError, RecipeError, StoreError
from interp_core.family import families


def explain_kinds() -> list[str]:
    """Every family by name and by its older names (``attributions``, ``groups``); one without a handler says so."""
    return [kind for family in families().values() for kind in (family.name, *family.aliases)]


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
    parser.add_argument("--data", default=None, help="a user file: CSV (with --target) or NPZ with X and y; for train and explain sae also a folder of activation shards (collect-acts)")
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
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="SAE recipes: bf16 runs the step's matrix products under bf16 autocast (for GPUs with bf16 units; parameters and the loss stay float32)")
    _common(p)

    p = sub.add_parser("collect-acts", help="write a layer's activations to the store as safetensors shards (resumable, with a progress bar)")
    p.add_argument("source", choices=sorted(collect_sources()), help="minilm-corpus: MiniLM over the docstrings of the Python standard library and installed packages")
    p.add_argument("--tokens", type=whole_number(62, "a number of tokens, 62 or more"), default=1_000_000, help="how many activations (one per token)")
    p.add_argument("--layer", type=whole_number(0, "a MiniLM layer from 0 to 6", 6), default=3, help="the residual stream after this many blocks")
    p.add_argument("--name", default=None, help="the shard set's name in the store (default: minilm-L<layer>-pydocs-<tokens>)")
    p.add_argument("--train", action="store_true", help="then train the default SAE on the shards and store it (what train --data FOLDER does), so one command builds an SAE the page shows")
    _common(p)

    p = sub.add_parser("explain", help="compute a family's explanations and their faithfulness metrics")
    p.add_argument("kind", choices=explain_kinds(), help="which family (attributions = timeseries, groups = mechanisms)")
    p.add_argument("recipe", nargs="?", help="recipe name; omit with --data")
    p.add_argument("--k", type=int, default=None, help="rules: how many top-ranked features the surrogate may use")
    p.add_argument("--depth", type=int, default=None, help="rules: the surrogate tree's maximum depth")
    p.add_argument("--methods", default=None, help="attributions: comma-separated methods (default: all six), e.g. integrated_gradients,occlusion+tsr")
    p.add_argument("--random-runs", type=whole_number(2, "the number of TCAV random sets, 2 or more", 200), default=None,
                   help="concepts: recompute TCAV against this many random sets (default: the stored run's, 10)")
    p.add_argument("--model", default=None, metavar="PATH",
                   help="explain your own model instead of a recipe: a .pt2 torch.export program, a Hugging Face folder or .safetensors (with --config); needs --data")
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="with --model: the layer to read (a named_modules() name, as load-model lists them; default: the last layer before the output)")
    p.add_argument("--config", default=None, help="with --model FILE.safetensors: its JSON config (a store manifest.json or {\"arch\": ..., \"model_config\": {...}})")
    p.add_argument("--sae", default=None, metavar="DIR", help="sae with --model: an SAELens SAE folder (cfg.json + sae_weights.safetensors) for --layer, opened instead of training an SAE")
    p.add_argument("--arch", default=None, metavar="NAME", help="sae with --data or --model: the SAE architecture to train (topk, batchtopk, jumprelu, matryoshka, mp, relu; default topk)")
    _common(p)

    p = sub.add_parser("steer", help="SAE features: zero, scale or set features on one example and compare the class probabilities before and after")
    p.add_argument("recipe", nargs="?", help="an SAE recipe (e.g. digits-sae, minilm-sae); omit with --model")
    p.add_argument("--feature", required=True, help="feature index, or several separated by commas (e.g. 12,40)")
    p.add_argument("--scale", type=float, default=0.0, help="multiply the features' activations by S (0, the default: ablate)")
    p.add_argument("--set", type=float, default=None, metavar="V", help="set the features' activations to V instead of scaling them")
    p.add_argument("--example", type=whole_number(0, "a test example index, 0 or more"), default=None, help="test example N (default 0)")
    p.add_argument("--text", default=None, help="text models (minilm-sae, --model): steer on this text instead of a test example")
    p.add_argument("--model", default=None, metavar="PATH", help="steer your own causal language model (a Hugging Face folder, e.g. GPT-2) on --text, with --sae")
    p.add_argument("--sae", default=None, metavar="DIR", help="with --model: an SAELens SAE folder for a layer of it (explain sae --model prints the one it trains as sae_path)")
    p.add_argument("--layer", default=None, metavar="NAME", help="with --model: the layer the SAE reads (default: the SAE's hook_name)")
    _common(p)

    p = sub.add_parser("circuit", help="transcoder features: a feature's upstream features by weight, each edge checked by an ablation on real examples")
    p.add_argument("recipe", help="a transcoder recipe with an upstream transcoder (e.g. digits-transcoder)")
    p.add_argument("--feature", required=True, type=whole_number(0, "a feature index, 0 or more"), help="the downstream feature J")
    p.add_argument("--top", type=whole_number(1, "the number of upstream features, 1 or more"), default=10, help="how many upstream features to list (default 10)")
    _common(p)

    p = sub.add_parser("load-model", help="validate a model (a .pt2 torch.export program, .safetensors + JSON config, a Hugging Face folder or an SAELens folder), summarise it and list its layers")
    p.add_argument("file", metavar="PATH", help="the model file or folder; pickle checkpoints (.pt, .pth, .ckpt, .pkl, pytorch_model.bin) are refused unopened")
    p.add_argument("--config", default=None, help="JSON config for .safetensors weights: a store manifest.json or {\"arch\": ..., \"model_config\": {...}}")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    for family in families().values():
        if family.export is not None:
            p = sub.add_parser(f"export-{family.name}", help=f"write a trained {family.title} recipe as {family.export_format}")
            p.add_argument("recipe", help="recipe name (see 'recipes'); it must be trained or shipped")
            p.add_argument("--out", required=True, help="the folder to write (created if missing; its files are replaced)")
            p.add_argument("--hook-name", default=None, help="the layer's name to record (default: the recipe's layer as named_modules() names it)")
            p.add_argument("--store", default=None, help="artifact folder (default: $INTERP_STORE or ~/.cache/interp-explorer/store)")
            p.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    p = sub.add_parser("bench", help="time server start, page renders, training and UMAP in one run (or a family's TARGET)")
    p.add_argument("target", nargs="?", default=None, help="ui (every page's visits and clicks in a browser, beside a bare Streamlit page) or a family benchmark (e.g. sae, timeseries); default: the app and engine")
    p.add_argument("--quick", action="store_true", help="fewer recipes and no browser (a smoke run); with ui: the floor and Home only")
    p.add_argument("--no-browser", action="store_true", help="skip the server and page timings")
    p.add_argument("--precision", choices=("fp32", "bf16", "both"), default=None, help="sae: our trainer in fp32, under bf16 autocast, or both side by side (default: both on CUDA, fp32 elsewhere)")
    _common(p)

    sweeps = [kind for family in families().values() if family.sweep is not None for kind in (family.name, *family.aliases)]
    if sweeps:
        p = sub.add_parser("sweep", help="train a population of models over seeds (and a grid of settings), check each, store them as one artifact")
        p.add_argument("kind", choices=sweeps, help="which family (groups = mechanisms)")
        p.add_argument("group", help="mechanisms: the group, e.g. Z113, D12, S4")
        p.add_argument("--seeds", type=whole_number(1, "the number of seeds, 1 or more", 1000), default=8, help="models per setting (seeds 0..N-1)")
        p.add_argument("--steps", type=whole_number(1, "the number of full-batch steps, 1 or more"), default=2000, help="full-batch training steps per model")
        p.add_argument("--lr", type=float, default=1e-2, help="AdamW learning rate")
        p.add_argument("--final-lr-fraction", type=float, default=1.0, help="cosine decay of the rate to this fraction (1: constant; the D12 and S4 recipes use 0.1)")
        p.add_argument("--hidden", default="128", help="comma-separated hidden widths (a grid)")
        p.add_argument("--weight-decay", default="1.0", help="comma-separated weight decays (a grid)")
        p.add_argument("--train-fraction", default="0.5", help="comma-separated shares of pairs trained on (a grid)")
        p.add_argument("--corrupt", default="0", help="comma-separated shares ξ of training labels corrupted (a grid; > 0 adds the claims table)")
        p.add_argument("--dropout", default="0", help="comma-separated dropout rates on the hidden layer (a grid)")
        p.add_argument("--batchnorm", default="no", help="BatchNorm on the hidden layer: no, yes or no,yes (a grid)")
        p.add_argument("--name", default=None, help="the artifact's name (default: population-<group>, or population-<group>-noisy)")
        p.add_argument("--ship", action="store_true", help="write the population into the shipped populations (assets/populations) instead of --store (for maintainers)")
        _common(p)

    p = sub.add_parser("report", help="one self-contained HTML report of a recipe (its metrics and family page views) from the store")
    p.add_argument("recipe", help="recipe name (see 'recipes'); it must be trained or shipped")
    p.add_argument("--out", required=True, help="the .html file to write; it opens offline")
    _common(p)

    p = sub.add_parser("ship", help="retrain the shipped demo checkpoints into assets/store (for maintainers)")
    p.add_argument("recipes", nargs="*", help="only these recipes (default: all)")
    p.add_argument("--family", default=None, help="only this family's recipes")
    p.add_argument("--datasets", action="store_true", help="only rewrite the bundled scikit-learn sets' snapshots in the user's dataset cache (no training)")
    _common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_store_path(args)
        result = COMMANDS.get(args.command, cmd_export)(args)  # export-<family> commands come from the family registry
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


def _steer(args) -> dict:
    """``steer RECIPE``: the recipe's family edits its features (Family.steer)."""
    from interp_core import recipes

    if getattr(args, "model", None) or not args.recipe:  # a user's causal LM: the SAE family steers it
        if args.recipe:
            raise RecipeError("Give either a RECIPE or --model, not both; --model steers your own causal language model with --sae.")
        if not getattr(args, "model", None):
            raise RecipeError("steer needs a RECIPE (an SAE recipe such as digits-sae) or --model PATH with --sae DIR and --text.")
        return next(f for f in families().values() if f.steer is not None).steer(args)  # the SAE family's steer takes --model
    family = families().get(recipes.get_recipe(args.recipe).family)
    if family is None or family.steer is None:
        steerable = [r.name for f in families().values() if f.steer is not None for r in recipes.list_recipes(f.name)]
        raise RecipeError(f"Recipe '{args.recipe}' has no features to steer; steer works on: {', '.join(steerable)}.")
    return family.steer(args)


def _circuit(args) -> dict:
    """``circuit RECIPE --feature J``: the recipe's family traces a feature's upstream features (Family.circuit)."""
    from interp_core import recipes

    family = families().get(recipes.get_recipe(args.recipe).family)
    if family is None or family.circuit is None:
        traced = [f.title for f in families().values() if f.circuit is not None]
        raise RecipeError(f"Recipe '{args.recipe}' has no features with circuits; circuit works on the transcoder recipes of {', '.join(traced)} (e.g. digits-transcoder).")
    return family.circuit(args)


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


COMMANDS = {"recipes": cmd_recipes, "collect-acts": cmd_collect, "train": cmd_train, "explain": cmd_explain, "load-model": cmd_load_model, "bench": cmd_bench, "report": cmd_report, "ship": cmd_ship, "sweep": cmd_sweep, "steer": _steer, "circuit": _circuit}
