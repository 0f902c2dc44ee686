"""Collecting a layer's activations into shards on disk: MiniLM over an offline corpus of millions of
tokens (the docstrings of the Python standard library, then of the installed packages), resumable,
with a progress bar.

``python -m interp_core collect-acts minilm-corpus --tokens 1000000 --layer 3 --json`` writes
``<store>/activations/minilm-L3-pydocs-1000000`` (see ``shards``). Row r is content token r % 62 + 1
of window r // 62: windows are 62 consecutive tokens of the corpus ([CLS] + 62 + [SEP], like the
``pydoc_topics`` windows), so a range of rows maps to a range of windows and an interrupted run
produces the same rows again when resumed.
"""

from __future__ import annotations

import ast
import itertools
import os
import sysconfig
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from interp_core.errors import DataError
from interp_core.families.sae import data as sources
from interp_core.families.sae.hosts import MiniLMTopics
from interp_core.families.sae.shards import WriteReport, shard_folder, write_shards

WINDOW = 62  # content tokens a window, as data.TEXT_DEFAULTS


def python_docstrings(limit_chars: int) -> list[str]:
    """Docstrings of modules, classes and functions of the standard library, then of the installed
    packages (site-packages), in sorted file order, until ``limit_chars`` (the stdlib alone has about 1.7M characters)."""
    texts, total = [], 0
    paths = sysconfig.get_paths()
    files = itertools.chain(_python_files(Path(paths["stdlib"])), _python_files(Path(paths["purelib"])))
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40:
                    texts.append(doc)
                    total += len(doc)
                    if total >= limit_chars:
                        return texts
    return texts


def _python_files(root: Path):
    """A folder's .py files in sorted order, without nested site-packages and test suites (not descended into)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "test", "tests", "idle_test", "__pycache__"))
        for file in sorted(files):
            if file.endswith(".py"):
                yield Path(folder) / file


@lru_cache(maxsize=2)
def corpus_windows(tokens: int) -> np.ndarray:
    """(ceil(tokens / 62), 64) token ids: [CLS] + 62 corpus tokens + [SEP]; the corpus is ``python_docstrings``."""
    n_windows = -(-tokens // WINDOW)
    ids: list[int] = []
    tokenizer = sources.minilm_tokenizer()
    chars = tokens * 6  # about 4-5 characters a WordPiece token: read a margin more
    for text in python_docstrings(chars):
        ids.extend(i for i in tokenizer.encode(text).ids if i not in (sources.CLS, sources.SEP))
        if len(ids) >= n_windows * WINDOW:
            break
    if len(ids) < n_windows * WINDOW:
        raise DataError(f"The docstrings of the standard library and installed packages give {len(ids):,} tokens here; expected at least {n_windows * WINDOW:,}: ask for fewer tokens.")
    body = np.asarray(ids[: n_windows * WINDOW], dtype=np.int64).reshape(n_windows, WINDOW)
    return np.concatenate([np.full((n_windows, 1), sources.CLS), body, np.full((n_windows, 1), sources.SEP)], axis=1)


def minilm_producer(tokens: int, layer: int, device: torch.device, batch_windows: int = 32):
    """produce(start, stop): MiniLM's residual stream after ``layer`` for content tokens [start, stop) of the corpus."""
    windows = corpus_windows(tokens)
    model = MiniLMTopics(sources.load_minilm(), layer, 1).to(device).eval()

    @torch.no_grad()
    def produce(start: int, stop: int) -> torch.Tensor:
        first, last = start // WINDOW, (stop - 1) // WINDOW + 1
        parts = [model.activations(torch.as_tensor(windows[w : min(w + batch_windows, last)], dtype=torch.float32, device=device)).cpu()
                 for w in range(first, last, batch_windows)]
        acts = torch.cat(parts)  # (windows x 62, d): every window's content tokens in order
        offset = first * WINDOW
        return acts[start - offset : stop - offset]

    return produce


def collect_minilm_corpus(store_root: str | Path, tokens: int, layer: int = 3, *, device: torch.device | str = "cpu", name: str | None = None,
                          shard_size: int | None = None, progress=None) -> WriteReport:
    """MiniLM's activations at ``layer`` over ``tokens`` tokens of ``python_docstrings``, as shards in the store (resumable)."""
    if not 0 <= layer <= 6:
        raise DataError(f"MiniLM has layers 0 to 6 (0 = embeddings); got {layer}.")
    folder = shard_folder(store_root, name or f"minilm-L{layer}-pydocs-{tokens}")
    meta = {"source": "minilm-corpus", "model": "sentence-transformers/all-MiniLM-L6-v2", "layer": layer, "corpus": "docstrings of the Python standard library, then of the installed packages",
            "window": WINDOW, "row": "content token r % 62 + 1 of window r // 62"}
    options = {"shard_size": shard_size} if shard_size else {}
    return write_shards(folder, tokens, 384, minilm_producer(tokens, layer, torch.device(device)), dtype="float16", meta=meta, progress=progress, **options)


def collect_cli(args) -> dict:
    """``collect-acts minilm-corpus --tokens N --layer L``: the shards, with a progress bar; what --json prints."""
    from interp_core.device import resolve_device
    from interp_core.store import default_root
    from tqdm import tqdm
    import sys

    device = resolve_device(args.device)
    root = Path(args.store).expanduser() if args.store else default_root()
    bar = tqdm(total=args.tokens, desc=f"collect MiniLM layer {args.layer}", unit="tok", unit_scale=True, file=sys.stderr, leave=False, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        report = collect_minilm_corpus(root, args.tokens, args.layer, device=device, name=args.name, progress=progress)
    finally:
        bar.close()
    result = {"source": args.source, "folder": str(report.folder), "n_activations": report.total, "d": 384, "shards": report.shards,
              "shards_written_now": report.written, "layer": args.layer}
    if not args.json:
        print(f"{report.total:,} activations in {report.shards} shards at {report.folder} ({report.written} written now; the rest were there)")
    if getattr(args, "train", False):
        result.update(_train_collected(report.folder, root, args))
    return result


def _train_collected(folder: Path, root: Path, args) -> dict:
    """``collect-acts ... --train``: the default SAE streamed from the new shards (as ``train --data FOLDER``), stored for the page."""
    from interp_core import recipes
    from interp_core.families.sae.train import shard_recipe
    from interp_core.progress import progress_bar, stage_printer
    from interp_core.store import Store

    recipe = shard_recipe(folder)
    bar, update = progress_bar(f"train {recipe.name}")
    try:
        trained = recipes.train(recipe, store=Store(root), device=args.device, seed=getattr(args, "seed", 0), progress=update, umap=False, on_stage=stage_printer(bar))
    finally:
        bar.close()
    metrics = trained.metrics
    if not args.json:
        print(f"{recipe.name}: explained variance {metrics['explained_variance']:.4f} on the held-out shard, L0 {metrics['l0']:.1f}, saved to {trained.artifact.location}")
    return {"recipe": recipe.name, "artifact": str(trained.artifact.location),
            **{key: metrics[key] for key in ("explained_variance", "l0", "dead_fraction", "steps", "n_train", "n_test", "activations_per_second", "peak_rss_mb")}}
