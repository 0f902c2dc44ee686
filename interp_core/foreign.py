"""A user's own model as a classifier the pages explore like a recipe.

``foreign_model(loaded, dataset, layer=None)`` turns a ``LoadedModel`` (a ``.pt2`` program, a Hugging
Face sequence classifier, or the project's own ``.safetensors``) and the user's ``Dataset`` into a
``recipes.TrainedModel``: its ``.model`` is a ``ForeignClassifier`` with

- ``forward(x) -> logits`` (n, classes): differentiable, so captum's attributions run on it as on a
  recipe's network; a ``.pt2`` exported with a fixed batch size is run in chunks of that size;
- ``embed(x)``: the flattened output of one layer (``layer``: a ``named_modules()`` name as
  ``load-model`` lists it; default ``default_layer``: the last layer to run before the output
  layer, pass-through layers such as Dropout skipped).

so ``predict_proba``, ``embed``, Rules' black box and the time-series attributions run unchanged.
Data the model does not accept is one sentence with both shapes (``check_data``); the metrics
(test and train accuracy) are measured on the dataset; ``description()`` is the CLI's "model".

In the app the model lives in the browser session's store (``save_foreign``: the ``.pt2`` bytes or the
Hugging Face folder's checked files, the layer and the dataset's name), registered as a session
recipe whose trainer ``foreign`` rebuilds it from those bytes through the same safe loaders
(``load_foreign``).
"""

from __future__ import annotations

import copy
import io
import json
import re
import tempfile
import zipfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from interp_core import recipes
from interp_core.data import Dataset
from interp_core.errors import DataError, InterpError, LayerError, ModelFileError, RecipeError, first_line
from interp_core.layers import Layer, capture, find_layer, first_tensor, hook_here, list_layers, run
from interp_core.manifest import model_manifest
from interp_core.modelfiles import MAX_MODEL_BYTES, LoadedModel, load_model_file, load_model_path
from interp_core.projection import pca_2d, projection_file
from interp_core.store import Artifact, Catalog, Store
from interp_core.training import predict_logits

TRAINER = "foreign"
PASS_THROUGH = ("Dropout", "Dropout1d", "Dropout2d", "Identity", "AlphaDropout")  # layers whose output is their input
MODEL_FILE = "model.pt2"  # a .pt2's bytes in the session store; a Hugging Face folder is stored as hf-<file name>
WEIGHTS_FILE, CONFIG_FILE = "st-model.safetensors", "st-config.json"  # a project-architecture .safetensors and its JSON config
HF_PREFIX = "hf-"


@dataclass(frozen=True)
class InputSpec:
    """What one example looks like to the model: ``shape`` (ints; None where a dimension is free),
    ``tokens`` (a Hugging Face model: token ids), ``batch`` (a .pt2 exported with a fixed batch size)."""

    shape: tuple | None
    tokens: bool = False
    batch: int | None = None
    pad_id: int = 0
    vocab: int | None = None


class ForeignClassifier(nn.Module):
    """The user's model seen as the project's classifiers: ``forward(x) -> logits``, ``embed(x)`` -> the picked layer's output, flattened."""

    def __init__(self, tree: nn.Module, layer: str, spec: InputSpec, data_shape: tuple):
        super().__init__()
        self.tree = tree  # the module whose named_modules() are the layers (an unflattened .pt2)
        self.layer = layer
        self.spec = spec
        self.data_shape = tuple(data_shape)

    def _inputs(self, x: torch.Tensor):
        if self.spec.tokens:
            ids = x.long()
            return (), {"input_ids": ids, "attention_mask": (ids != self.spec.pad_id).long()}
        if self.spec.shape is not None and None not in self.spec.shape and tuple(x.shape[1:]) != self.spec.shape:
            x = x.reshape(len(x), *self.spec.shape)  # the same values, with or without size-1 dimensions (check_data allowed it)
        return (x,), {}

    def _chunks(self, x: torch.Tensor):
        """(chunk, rows kept): x itself, or for a fixed batch size B chunks of B rows, the last padded by repeating its first row."""
        size = self.spec.batch
        if size is None or len(x) == size:
            yield x, len(x)
            return
        for start in range(0, len(x), size):
            chunk = x[start : start + size]
            kept = len(chunk)
            if kept < size:
                chunk = torch.cat([chunk, chunk[:1].expand(size - kept, *chunk.shape[1:])])
            yield chunk, kept

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        for chunk, kept in self._chunks(x):
            out = run(self.tree, self._inputs(chunk))
            logits = getattr(out, "logits", None)
            logits = logits if isinstance(logits, torch.Tensor) else first_tensor(out)
            if logits is None or logits.ndim != 2:
                shape = "no tensor" if logits is None else f"shape {tuple(logits.shape)}"
                raise ModelFileError(f"The model's output has {shape}; a classifier's output is one row of class scores per example, (n, classes).")
            outputs.append(logits[:kept])
        return torch.cat(outputs) if len(outputs) > 1 else outputs[0]

    def layer_output(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's output as it is, (n, ...): for token ids, (n, tokens, d) is one vector per token."""
        return torch.cat([capture(self.tree, self.layer, self._inputs(chunk))[:kept] for chunk, kept in self._chunks(x)])

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d): the layer's output flattened; for token ids, a (n, tokens, d) output is averaged over the
        text's tokens (the attention mask's), so each text is one vector of the layer's width."""
        acts = self.layer_output(x)
        if self.spec.tokens and acts.ndim == 3 and acts.shape[1] == x.shape[1]:
            return pool_tokens(acts, x, self.spec.pad_id)
        return acts.reshape(len(x), -1)


def pool_tokens(acts: torch.Tensor, ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """The mean of (n, tokens, d) ``acts`` over each text's tokens (ids other than ``pad_id``)."""
    mask = (ids.long() != pad_id).to(acts.dtype)[..., None]
    return (acts * mask).sum(1) / mask.sum(1).clamp(min=1.0)


# -- the model's inputs and the data ---------------------------------------------------------------
def input_spec(loaded: LoadedModel) -> InputSpec:
    """What the loaded model takes, from its summary (a .pt2's exported input, a config's input_shape) or its tokenizer."""
    if loaded.kind == "huggingface":
        config = getattr(loaded.module, "config", None)
        pad = getattr(config, "pad_token_id", None)
        tokenizer_pad = getattr(loaded.tokenizer, "pad_token_id", None)
        pad = tokenizer_pad if pad is None else pad
        return InputSpec(None, tokens=True, pad_id=int(pad) if isinstance(pad, int) else 0, vocab=getattr(config, "vocab_size", None))
    shape = loaded.summary.input_shape
    batch = None
    if loaded.kind == "pt2":
        batch = _fixed_batch(loaded)
    if not isinstance(shape, (list, tuple)):
        return InputSpec(None, batch=batch)
    return InputSpec(tuple(int(s) if isinstance(s, int) else None for s in shape), batch=batch)


def _fixed_batch(loaded: LoadedModel) -> int | None:
    program = loaded.program
    user_inputs = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            val = node.meta.get("val")
            first = getattr(val, "shape", [None])[0] if val is not None and len(getattr(val, "shape", ())) else None
            return int(first) if first is not None and str(first).isdigit() else None
    return None


def _squeezed(shape) -> tuple:
    return tuple(s for s in shape if s != 1)


def shape_fits(model_shape, data_shape) -> bool:
    """True when examples of ``data_shape`` fit a model taking ``model_shape`` (None: any size), as they
    are or with size-1 dimensions added or removed (the same values: (150,) for (1, 150))."""
    model_shape, data_shape = tuple(model_shape), tuple(data_shape)
    fits = len(data_shape) == len(model_shape) and all(m is None or m == d for m, d in zip(model_shape, data_shape))
    return fits or (None not in model_shape and _squeezed(model_shape) == _squeezed(data_shape))


def describe_shape(shape) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"


def check_data(loaded: LoadedModel, dataset: Dataset) -> InputSpec:
    """The model's input spec, after checking that ``dataset``'s examples fit it (one sentence with both shapes if not)."""
    spec = input_spec(loaded)
    data_shape = tuple(dataset.input_shape)
    name = Path(loaded.path or loaded.summary.file).name
    if spec.tokens:
        X = np.concatenate([dataset.X_train, dataset.X_test])
        if X.ndim != 2 or not np.all(np.isfinite(X)) or not np.all(X == np.round(X)) or X.min(initial=0) < 0 or (spec.vocab and X.max(initial=0) >= spec.vocab):
            raise DataError(
                f"The data's examples have shape {describe_shape(data_shape)} with values that are not token ids, but the Hugging Face model "
                f"'{name}' takes token ids, shape (tokens,), whole numbers from 0 to {(spec.vocab or 1) - 1}."
            )
        return spec
    if spec.shape is None:
        return spec  # the model does not say: the trial run in foreign_model tells
    if not shape_fits(spec.shape, data_shape):
        raise DataError(f"The data's examples have shape {describe_shape(data_shape)} but the model '{name}' takes examples of shape {describe_shape(spec.shape)}; give data the model was made for.")
    return spec


def default_layer(loaded: LoadedModel, tree: nn.Module, sample: torch.Tensor, spec: InputSpec) -> str:
    """The last layer to run before the output layer (pass-through layers such as Dropout skipped):
    the layers without children in the order one forward pass finishes them."""
    order: list[str] = []
    handles = []
    leaves = [(name, sub) for name, sub in tree.named_modules() if name and not any(True for _ in sub.children())]
    for name, sub in leaves:
        handles.append(hook_here(sub, lambda _m, _a, _o, name=name: order.append(name)))
    probe = ForeignClassifier(tree, "", spec, tuple(sample.shape[1:]))
    try:
        with torch.no_grad():
            probe(sample)
    finally:
        for handle in handles:
            handle.remove()
    seen = list(dict.fromkeys(order))
    candidates = [n for n in seen[:-1] if (loaded.layer_types.get(n) or type(find_layer(tree, n)).__name__) not in PASS_THROUGH]
    if not candidates:
        raise LayerError(f"The model '{Path(loaded.path or loaded.summary.file).name}' has no layer before its output to embed the data with; name one with --layer (load-model lists them).")
    return candidates[-1]


def text_dataset(loaded: LoadedModel, source, target: str | None = None, filename: str | None = None) -> Dataset:
    """A user's texts (.txt, .jsonl or a CSV with a text column; ``data.texts``) as token ids from the
    model folder's tokenizer, padded and cut at the model's longest input. Labels that are the model's
    own label names (``id2label``) keep its order; texts without labels are labelled with the model's
    predictions (``extras["labelled"]`` False: no accuracy is reported)."""
    from interp_core.data.texts import encode_texts, max_tokens, read_texts, token_ids

    name = Path(loaded.path or loaded.summary.file).name
    if loaded.kind != "huggingface":
        raise DataError(f"Texts are read for a Hugging Face text model, but '{name}' is a {loaded.kind} model; give its data as a CSV table or an NPZ.")
    if loaded.tokenizer is None:
        raise DataError(f"The model folder '{name}' has no tokenizer files (tokenizer.json, vocab.txt...), so texts cannot be encoded; add them, or give token ids in an NPZ.")
    texts = read_texts(source, filename, target)
    config = getattr(loaded.module, "config", None)
    max_length = max_tokens(loaded.tokenizer, getattr(config, "max_position_embeddings", None))
    names = [str(v) for _k, v in sorted((getattr(config, "id2label", None) or {}).items())]
    labels = None
    if texts.labels is not None and names and {str(v) for v in texts.labels} <= set(names):
        labels = np.array([names.index(str(v)) for v in texts.labels])  # the model's own label names, in its order
    elif texts.labels is None:
        ids = token_ids(loaded.tokenizer, texts.texts, max_length)
        probe = ForeignClassifier(_tree(loaded), "", input_spec(loaded), ids.shape[1:])
        labels = predict_logits(probe, ids.astype(np.float32), "cpu").argmax(1)
    dataset = encode_texts(texts, loaded.tokenizer, max_length, labels)
    if labels is not None and texts.labels is not None:
        dataset.class_names = names
    return dataset


def _tree(loaded: LoadedModel) -> nn.Module:
    return loaded.layer_module().eval()


# -- the adapter ------------------------------------------------------------------------------------
def foreign_model(loaded: LoadedModel, dataset: Dataset, layer: str | None = None, *, name: str | None = None, family: str | None = None, manifest: dict | None = None) -> recipes.TrainedModel:
    """``loaded`` on ``dataset`` as a TrainedModel: its ``.model`` a ForeignClassifier embedding at
    ``layer`` (default ``default_layer``), its manifest holding the metrics measured on the data
    (or ``manifest``, a stored one: nothing is measured again)."""
    if loaded.kind == "huggingface" and not _is_classifier(loaded):
        raise RecipeError(f"'{Path(loaded.path).name}' is a Hugging Face {_hf_kind(loaded)}, not a classifier; these pages explain a model that gives class scores (…ForSequenceClassification).")
    spec = check_data(loaded, dataset)
    dataset = _as_series(dataset, spec)
    tree = _tree(loaded)
    sample = torch.as_tensor(dataset.X_test[:2] if len(dataset.X_test) else dataset.X_train[:2])
    if layer is None:
        layer = _trial(lambda: default_layer(loaded, tree, sample, spec), loaded, dataset, spec)
    else:
        find_layer(tree, layer)  # a name that does not exist: the nearest names
    model = ForeignClassifier(tree, layer, spec, dataset.input_shape).eval()
    logits = _trial(lambda: model(sample), loaded, dataset, spec)
    dataset = _class_aligned(dataset, int(logits.shape[1]), loaded)
    _trial(lambda: model.embed(sample), loaded, dataset, spec)
    recipe = foreign_recipe(loaded, dataset, layer, name=name, family=family)
    if manifest is not None:
        return recipes.TrainedModel(recipe.name, model, dataset, manifest, None, torch.device("cpu"), extras={"loaded": loaded, "recipe": recipe})
    start = time.perf_counter()
    metrics = recipes.evaluate(model, dataset, "cpu")
    metrics["n_parameters"] = int(loaded.summary.n_parameters)
    if dataset.extras.get("labelled") is False:  # texts labelled with the model's own predictions: no accuracy to report
        metrics["test_accuracy"] = metrics["train_accuracy"] = None
    manifest = model_manifest(
        recipe, dataset=dataset.summary(), model_config=dict(recipe.model_config), train_config={}, seed=0, config_hash=recipe.config_hash(0),
        metrics={**metrics, "best_epoch": None, "epochs_run": 0}, device="cpu", device_name="your model (evaluated on the CPU)",
        train_seconds=time.perf_counter() - start, uploaded={"file": Path(loaded.path or loaded.summary.file).name, "format": loaded.kind},
    )
    manifest = {"name": recipe.name, "files": {}, **manifest}
    artifact = Artifact(recipe.name, Path(loaded.path or "."), manifest)
    trained = recipes.TrainedModel(recipe.name, model, dataset, manifest, artifact, torch.device("cpu"), extras={"loaded": loaded, "recipe": recipe})
    return trained


def description(trained: recipes.TrainedModel) -> dict:
    """The CLI's "model": {"path", "kind", "parameters"} of a TrainedModel made by foreign_model."""
    return trained.extras["loaded"].description()


def _is_classifier(loaded: LoadedModel) -> bool:
    return type(loaded.module).__name__.endswith("ForSequenceClassification")


def _hf_kind(loaded: LoadedModel) -> str:
    name = type(loaded.module).__name__
    return "causal language model" if name.endswith(("LMHeadModel", "ForCausalLM")) else f"model without a classification head ({name})"


def _trial(step, loaded: LoadedModel, dataset: Dataset, spec: InputSpec):
    """Run ``step`` (the model on two of the data's examples); a failure is one sentence with both shapes."""
    try:
        return step()
    except InterpError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's model failing on the user's data is one sentence
        wanted = "token ids, shape (tokens,)" if spec.tokens else ("unknown" if spec.shape is None else describe_shape(spec.shape))
        raise DataError(
            f"The model '{Path(loaded.path or loaded.summary.file).name}' failed on the data's examples of shape {describe_shape(dataset.input_shape)} "
            f"(it takes {wanted}; {first_line(exc, 120)})."
        ) from None


def _as_series(dataset: Dataset, spec: InputSpec) -> Dataset:
    """A table (n, time) for a model that takes series (channels, time) is that series: (n, 1, time), listed on Time series."""
    shape = spec.shape
    if dataset.modality != "tabular" or shape is None or None in shape or len(shape) != 2 or tuple(dataset.input_shape) == shape:
        return dataset
    series = copy.copy(dataset)
    series.modality = "series"
    series.X_train, series.X_test = (x.reshape(len(x), *shape) for x in (dataset.X_train, dataset.X_test))
    if dataset.mask_test is not None:
        series.mask_train, series.mask_test = (m.reshape(len(m), *shape) if m is not None else None for m in (dataset.mask_train, dataset.mask_test))
    series.feature_names = None
    return series


def _class_aligned(dataset: Dataset, n_outputs: int, loaded: LoadedModel) -> Dataset:
    """The dataset with one class per model output: labels 0..k-1 read as output indices when the data lacks some classes."""
    if n_outputs == dataset.n_classes:
        return dataset
    names = dataset.class_names
    if all(n.isdigit() for n in names) and all(int(n) < n_outputs for n in names):
        lookup = np.array([int(n) for n in names], dtype=np.int64)
        dataset = copy.copy(dataset)
        dataset.y_train, dataset.y_test = lookup[dataset.y_train], lookup[dataset.y_test]
        dataset.class_names = [str(i) for i in range(n_outputs)]
        return dataset
    raise DataError(
        f"The model '{Path(loaded.path or loaded.summary.file).name}' gives {n_outputs} class scores but the data has {dataset.n_classes} classes "
        f"({', '.join(names[:6])}); give labels that are the model's output indices (0 to {n_outputs - 1})."
    )


def foreign_recipe(loaded: LoadedModel, dataset: Dataset, layer: str, *, name: str | None = None, family: str | None = None) -> recipes.Recipe:
    """The recipe a foreign model is listed as: its family is the page that explains it (Rules for tables and images,
    Time series for series and for a Hugging Face text classifier's token attributions)."""
    from interp_core.data import safe_name

    file = Path(loaded.path or loaded.summary.file).name
    name = name or f"upload-{safe_name(file)}-model"
    if family is None:  # token ids are no table for Rules: a text classifier's token attributions are on Time series
        family = "timeseries" if loaded.kind == "huggingface" or dataset.modality == "series" else "rules"
    config = {"kind": loaded.kind, "layer": layer, "file": file, "input_shape": list(dataset.input_shape), "n_classes": dataset.n_classes}
    return recipes.Recipe(
        name, family, dataset.name, f"foreign-{loaded.kind}", config, {},
        f"Your model {file} ({loaded.summary.architecture}, {loaded.summary.n_parameters:,} parameters) on {dataset.name}, embedded at layer {layer}.",
        trainer=TRAINER,
    )


def layer_choices(loaded: LoadedModel, dataset: Dataset) -> tuple[list[Layer], str]:
    """Every layer that gives one output per example, with its output shape on two of the data's examples, and the
    default one (``default_layer``). A layer whose output is shared by the batch (a BERT's position embeddings,
    shape (1, tokens, d)) is left out: it says nothing about an example."""
    spec = check_data(loaded, dataset)
    tree = _tree(loaded)
    sample = torch.as_tensor(dataset.X_test[:2] if len(dataset.X_test) else dataset.X_train[:2])
    probe = ForeignClassifier(tree, "", spec, dataset.input_shape)
    chunk = next(probe._chunks(sample))[0]
    layers = _trial(lambda: list_layers(tree, probe._inputs(chunk), loaded.layer_types), loaded, dataset, spec)
    layers = [layer for layer in layers if layer.output_shape is None or (layer.output_shape[:1] == [len(chunk)])]
    return layers, _trial(lambda: default_layer(loaded, tree, sample, spec), loaded, dataset, spec)


# -- a Hugging Face folder from the browser: a .zip or the files of a folder --------------------------
MAX_FOLDER_FILES = 64
HF_FOLDER = ("Hugging Face model folder", "config.json, model.safetensors, tokenizer files")  # what a refusal says was expected: (kind, its files)
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def folder_files(named: list[tuple[str, bytes]], label: str, expected: tuple[str, str] = HF_FOLDER) -> dict[str, bytes]:
    """A model folder's files (path as uploaded, bytes) by file name: one flat folder of plain names, within the size limits
    (``expected``: the kind of folder and its files, as a refusal names them; an SAELens SAE folder is read this way too)."""
    if not named:
        raise ModelFileError(f"'{label}' holds no files; expected a {expected[0]} ({expected[1]}).")
    if len(named) > MAX_FOLDER_FILES:
        raise ModelFileError(f"'{label}' holds {len(named)} files, more than a model folder's {MAX_FOLDER_FILES}; give only the model's folder.")
    files: dict[str, bytes] = {}
    for path, data in named:
        name = _plain_name(path, label)
        if name in files:
            raise ModelFileError(f"'{label}' holds two files named '{name}'; expected one model folder, without subfolders.")
        files[name] = data
    total = sum(len(d) for d in files.values())
    if total > MAX_MODEL_BYTES:
        raise ModelFileError(f"'{label}' is {total / 1e6:.0f} MB, over the {MAX_MODEL_BYTES / 1e6:.0f} MB model limit.")
    return files


def _plain_name(path: str, label: str) -> str:
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or str(path).startswith("/") or ":" in parts[0] or not _FILE_NAME.match(parts[-1]):
        raise ModelFileError(f"'{label}' holds a file named '{str(path)[:80]}', which is not a plain file name inside the folder; nothing was extracted.")
    return parts[-1]


def zip_files(data: bytes, label: str, expected: tuple[str, str] = HF_FOLDER) -> dict[str, bytes]:
    """The files of a zipped model folder, read without trusting the archive: each entry's path is a plain
    name inside one folder (no '..', no absolute path, no link), the sizes it declares are checked
    against the limits before anything is extracted, and no entry yields more bytes than it declares."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ModelFileError(f"'{label}' is not a readable zip file; expected a zipped {expected[0]}.") from None
    if len(infos) > MAX_FOLDER_FILES:
        raise ModelFileError(f"'{label}' holds {len(infos)} files, more than a model folder's {MAX_FOLDER_FILES}; zip only the model's folder.")
    for info in infos:
        _plain_name(info.filename, label)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise ModelFileError(f"'{label}' holds a link ('{info.filename[:80]}'); expected plain files only, so nothing was extracted.")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_MODEL_BYTES:
        raise ModelFileError(f"'{label}' declares {declared / 1e6:.0f} MB once extracted, over the {MAX_MODEL_BYTES / 1e6:.0f} MB model limit; nothing was extracted.")
    named = []
    for info in infos:
        try:
            with archive.open(info) as handle:
                content = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, OSError, EOFError) as exc:
            raise ModelFileError(f"'{label}': '{info.filename[:80]}' cannot be extracted ({first_line(exc, 80)}).") from None
        if len(content) != info.file_size:
            raise ModelFileError(f"'{label}': '{info.filename[:80]}' holds more or fewer bytes than the archive declares; nothing was used.")
        named.append((info.filename, content))
    return folder_files(named, label, expected)


def load_folder_files(files: dict[str, bytes], label: str) -> tuple[LoadedModel, dict[str, bytes]]:
    """A Hugging Face folder given as its files: loaded through the folder checks; returns the model and the files that rebuild it."""
    loaded = rebuild({HF_PREFIX + name: data for name, data in files.items()}, label)
    return loaded, model_files_of(files)


def model_files_of(files: dict[str, bytes]) -> dict[str, bytes]:
    return {HF_PREFIX + name: data for name, data in files.items() if _hf_keeps(name)}


# -- in the browser session: stored as bytes, rebuilt through the safe loaders -------------------------
def model_files(loaded: LoadedModel, data: bytes | None = None, config: bytes | None = None) -> dict[str, bytes]:
    """The files that rebuild ``loaded``: a .pt2's bytes, a project .safetensors with its JSON config
    (``config``: the uploaded config's bytes; else the config as loaded), or the checked files of a
    Hugging Face folder."""
    if loaded.kind == "pt2":
        return {MODEL_FILE: data if data is not None else Path(loaded.path).read_bytes()}
    if loaded.kind == "safetensors":
        return {WEIGHTS_FILE: data if data is not None else Path(loaded.path).read_bytes(),
                CONFIG_FILE: config if config is not None else json.dumps(loaded.config).encode()}
    if loaded.kind == "huggingface":
        folder = Path(loaded.path)
        return model_files_of({p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})
    raise RecipeError(f"A {loaded.kind} model cannot be stored in a session; models explored as your own are .pt2 programs, project .safetensors with their config and Hugging Face folders.")


def _hf_keeps(name: str) -> bool:
    from interp_core import hfmodels

    return name == hfmodels.CONFIG_FILE or name.endswith(".safetensors") or name == hfmodels.INDEX_FILE or name in hfmodels.TOKENIZER_JSON or name in hfmodels.TOKENIZER_TEXT


def save_foreign(store: Store, trained: recipes.TrainedModel, files: dict[str, bytes]) -> Artifact:
    """Write a foreign model (its files, its embedding map, its manifest) to ``store``; ``load_foreign`` rebuilds it."""
    manifest = {k: v for k, v in trained.manifest.items() if k not in ("name", "files")}
    stored = dict(files)
    stored["history.json"] = {"epoch": [], "train_loss": [], "val_loss": [], "val_metric": []}
    stored[projection_file("test-embedding")] = {"pca": pca_2d(trained.embed(trained.dataset.X_test))}
    return store.save(trained.name, stored, manifest)


def rebuild(files: dict[str, bytes], label: str) -> LoadedModel:
    """A LoadedModel from stored files, through the same checks as an upload (nothing in them is trusted)."""
    if MODEL_FILE in files:
        loaded = load_model_file(label, data=files[MODEL_FILE], filename=label if label.endswith(".pt2") else MODEL_FILE)
        loaded.path = label
        return loaded
    if WEIGHTS_FILE in files:
        loaded = load_model_file(label, config=files.get(CONFIG_FILE), data=files[WEIGHTS_FILE], filename=label if label.endswith(".safetensors") else "model.safetensors")
        loaded.path = label
        return loaded
    hf = {name[len(HF_PREFIX):]: data for name, data in files.items() if name.startswith(HF_PREFIX)}
    if not hf:
        raise ModelFileError(f"The stored model '{label}' holds no model files; upload it again.")
    from interp_core.data import safe_name

    with tempfile.TemporaryDirectory(prefix="interp-hf-") as scratch:
        folder = Path(scratch) / safe_name(Path(label).stem or "model")  # the folder's name is what a refusal names
        folder.mkdir()
        for name, data in hf.items():
            (folder / Path(name).name).write_bytes(data)
        loaded = load_model_path(folder)
    loaded.path = label
    return loaded


def load_foreign(artifact: Artifact, catalog: Catalog, device: torch.device, dataset: Dataset | None = None) -> recipes.TrainedModel:
    """The ``foreign`` trainer's loader: the stored files rebuilt and adapted again on the stored dataset."""
    from interp_core.data import load_dataset

    manifest = artifact.manifest
    store = catalog.store_for(artifact)
    files = {name: store.read_bytes(artifact, name) for name in manifest["files"] if name in (MODEL_FILE, WEIGHTS_FILE, CONFIG_FILE) or name.startswith(HF_PREFIX)}
    config = manifest["model_config"]
    loaded = rebuild(files, str(config.get("file", artifact.name)))
    dataset = dataset or load_dataset(manifest["dataset"]["name"])
    trained = foreign_model(loaded, dataset, config.get("layer"), name=artifact.name, family=manifest.get("family"), manifest=manifest)
    trained.artifact = artifact
    return trained


def _refuse_training(recipe, **_options):
    raise RecipeError(f"'{recipe.name}' is your own model: it is explained as it is, not trained here.")


recipes.register_trainer(TRAINER, recipes.Trainer(_refuse_training, load_foreign, builds=lambda _manifest: []))
