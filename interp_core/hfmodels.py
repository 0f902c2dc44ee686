"""A local Hugging Face model folder, loaded with ``transformers`` without running anything it holds.

``load_huggingface_folder(folder)`` reads ``config.json``, ``*.safetensors`` and the tokenizer files,
and loads the model offline. What a crafted folder could do, and what stops it here, checked
before transformers sees the folder:

- **Remote code.** A config or tokenizer config with ``auto_map`` names Python files of the folder
  that ``trust_remote_code`` would import: refused. transformers is called with
  ``trust_remote_code=False`` and ``local_files_only=True``, with HF_HUB_OFFLINE set.
- **Pickles.** ``pytorch_model.bin`` and the other torch checkpoints are pickles (code runs on
  load): a folder that has only those is refused; when safetensors are there too only they are
  read (``use_safetensors=True``), and every ``torch.load`` inside the call raises.
- **Architectures.** The class is ``config.architectures[0]`` when transformers' own registry (the
  Auto mappings) knows the name, else the Auto base model of ``model_type``; a model type or
  architecture transformers does not know is refused, as is a class of another model type.
- **Declared sizes.** A small file may declare gigabytes: every safetensors header is checked by
  ``safetensorsguard.read_header`` (bounded header, each tensor's bytes inside the file, equal to
  dtype x shape, no overlap), and the parameters the files declare together and the parameters
  the config builds (on the meta device, no memory) are held to ``max_parameters()``
  (INTERP_MAX_PARAMS).
- **Text files.** JSON files are parsed within size and depth limits; vocabulary and merges files
  must be UTF-8 text within a size limit.

transformers then loads from a staging folder holding only what was checked (the config as parsed
here, links to the checked safetensors, the checked tokenizer files), so no other file of the
folder is ever opened by it.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from interp_core.errors import ModelFileError, first_line
from interp_core.models.configs import max_parameters
from interp_core.pt2guard import check_weights, replaced_torch_load
from interp_core.safejson import load_json_file
from interp_core.safetensorsguard import read_header

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_TOKENIZER_BYTES = 64 * 1024 * 1024
# Tokenizer files read as JSON or as UTF-8 text; nothing else of a tokenizer is staged.
TOKENIZER_JSON = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "added_tokens.json")
TOKENIZER_TEXT = ("vocab.txt", "merges.txt")
PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")

KINDS = {
    "encoder": "base model (e.g. BertModel): hidden states, no head",
    "sequence-classifier": "sequence classifier (…ForSequenceClassification): one label per text",
    "causal-lm": "causal language model (e.g. GPT2LMHeadModel): next-token logits",
}


@dataclass
class HuggingFaceModel:
    module: nn.Module
    config: dict  # config.json as read and checked
    kind: str  # a key of KINDS
    architecture: str  # the transformers class loaded
    model_type: str
    tokenizer: object | None
    n_parameters: int
    tensors: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_outputs(self) -> int | None:
        if self.kind == "sequence-classifier":
            return int(self.module.config.num_labels)
        if self.kind == "causal-lm":
            return int(self.module.config.vocab_size)
        return None

    def example_inputs(self, text: str = "The quick brown fox jumps over the lazy dog.") -> tuple[tuple, dict]:
        """A sample the model accepts: ``text`` through the tokenizer, or 8 token ids without one."""
        if self.tokenizer is not None:
            encoded = self.tokenizer(text, return_tensors="pt")
            return (), {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
        vocab = int(getattr(self.module.config, "vocab_size", 2) or 2)
        ids = torch.arange(1, 9).remainder(vocab)[None]
        return (), {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def is_huggingface_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / CONFIG_FILE).is_file()


def load_huggingface_folder(folder: str | Path) -> HuggingFaceModel:
    """The model of a local Hugging Face folder (config.json, safetensors, tokenizer files), loaded offline."""
    folder = Path(folder)
    label = folder.name or str(folder)
    if not folder.is_dir():
        raise ModelFileError(f"'{folder}' is not a folder; expected a Hugging Face model folder with config.json and model.safetensors.")
    config = read_json_file(folder / CONFIG_FILE, label, MAX_CONFIG_BYTES)
    if not isinstance(config, dict):
        raise ModelFileError(f"'{label}/config.json' is not a JSON object; expected a transformers model config.")
    refuse_remote_code(config, f"{label}/config.json")
    weights, weight_map = weight_files(folder)
    declared, tensors = 0, 0
    for path in weights:
        entries, _ = read_header(path, f"'{label}/{path.name}'")
        tensors, declared = tensors + len(entries), declared + sum(entry.numel for entry in entries.values())
    limit = max_parameters()
    if declared > limit:
        raise ModelFileError(f"'{label}' declares {declared:,} parameters in its safetensors, over the limit of {limit:,} (INTERP_MAX_PARAMS).")
    tokenizer_files = tokenizer_payloads(folder, label)

    _offline()
    cls, kind, model_type, notes = resolve_architecture(config, label)
    config_object = _config_object(config, model_type, label)
    built = _count_on_meta(cls, config_object, label)
    if built > limit:
        raise ModelFileError(f"'{label}/config.json' builds a {cls.__name__} of {built:,} parameters, over the limit of {limit:,} (INTERP_MAX_PARAMS).")

    with tempfile.TemporaryDirectory(prefix="interp-hf-") as staging:
        stage = Path(staging)
        (stage / CONFIG_FILE).write_text(json.dumps(config))
        for path in weights:
            os.symlink(path.resolve(), stage / path.name)
        if weight_map is not None:
            (stage / INDEX_FILE).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
        for name, raw in tokenizer_files.items():
            (stage / name).write_bytes(raw)
        module = _from_pretrained(cls, stage, config_object, label)
        tokenizer = _tokenizer(stage, label) if tokenizer_files else None
    if tokenizer is None:
        notes.append("The folder has no tokenizer files (tokenizer.json, vocab.txt...): texts cannot be encoded, token ids can.")
    module.eval()
    check_weights(dict(module.state_dict()), label)
    n_parameters = int(sum(p.numel() for p in module.parameters()))
    return HuggingFaceModel(module, config, kind, type(module).__name__, model_type, tokenizer, n_parameters, tensors, notes)


# -- the files -------------------------------------------------------------------------------------
def read_json_file(path: Path, label: str, max_bytes: int):
    """A JSON file read within ``max_bytes`` (a bounded read) and parsed within the depth limit."""
    return load_json_file(path, f"'{label}/{path.name}'", max_bytes=max_bytes, error=ModelFileError)


def _read_text(path: Path, label: str, max_bytes: int) -> bytes:
    """A UTF-8 text file read within ``max_bytes``."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ModelFileError(f"'{label}/{path.name}' cannot be read ({exc.strerror or type(exc).__name__}); expected a text file.") from None
    if len(raw) > max_bytes:
        raise ModelFileError(f"'{label}/{path.name}' is larger than the {max_bytes:,}-byte limit for this file.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"'{label}/{path.name}' is not UTF-8 text; expected a plain-text vocabulary file.") from None
    return raw


def refuse_remote_code(value, where: str) -> None:
    """``auto_map`` anywhere in a config names Python files that trust_remote_code would run: refused."""
    if isinstance(value, dict):
        if "auto_map" in value:
            raise ModelFileError(f"'{where}' has auto_map, which asks to run Python code shipped with the model; only architectures built into transformers are loaded (remove auto_map or use a built-in architecture).")
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return
    for child in children:
        refuse_remote_code(child, where)  # JSON depth is bounded when parsed


def weight_files(folder: Path) -> tuple[list[Path], dict | None]:
    """The safetensors files to read (the shards an index names, with its weight map, or
    model.safetensors); a folder with pickle weights only is refused."""
    label = folder.name
    index = folder / INDEX_FILE
    if index.is_file():
        table = read_json_file(index, label, MAX_CONFIG_BYTES)
        weight_map = table.get("weight_map") if isinstance(table, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelFileError(f"'{label}/{INDEX_FILE}' has no weight_map; expected the index transformers writes for sharded safetensors.")
        names = sorted(set(weight_map.values()), key=str)
        for name in names:
            if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".safetensors"):
                raise ModelFileError(f"'{label}/{INDEX_FILE}' names the shard {str(name)[:80]!r}; expected .safetensors file names inside the folder.")
            if not (folder / name).is_file():
                raise ModelFileError(f"'{label}/{INDEX_FILE}' names the shard '{name}', which is not in the folder.")
        return [folder / name for name in names], weight_map
    if (folder / WEIGHTS_FILE).is_file():
        return [folder / WEIGHTS_FILE], None
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_WEIGHTS)
    if pickles:
        raise ModelFileError(
            f"'{label}' has only pickle weights ({', '.join(pickles[:3])}), which can run code when loaded, so they were not opened; "
            "save the model with safetensors (model.save_pretrained(folder) writes model.safetensors)."
        )
    raise ModelFileError(f"'{label}' has no model.safetensors; expected the weights as safetensors (model.save_pretrained(folder) writes them).")


def tokenizer_payloads(folder: Path, label: str) -> dict[str, bytes]:
    """The tokenizer files present, checked: JSON ones parse (a tokenizer config without auto_map), text ones are UTF-8."""
    files = {}
    for name in TOKENIZER_JSON:
        path = folder / name
        if path.exists():
            value = read_json_file(path, label, MAX_TOKENIZER_BYTES)
            if name == "tokenizer_config.json":
                if not isinstance(value, dict):
                    raise ModelFileError(f"'{label}/{name}' is not a JSON object; expected a tokenizer config.")
                refuse_remote_code(value, f"{label}/{name}")
            files[name] = json.dumps(value).encode()
    for name in TOKENIZER_TEXT:
        path = folder / name
        if path.exists():
            files[name] = _read_text(path, label, MAX_TOKENIZER_BYTES)
    return files


# -- transformers ------------------------------------------------------------------------------------
def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _registry():
    from transformers.models.auto import configuration_auto, modeling_auto

    return configuration_auto, modeling_auto


def _class_names(mapping: dict) -> set[str]:
    names = set()
    for value in mapping.values():
        names.update(value if isinstance(value, (tuple, list)) else (value,))
    return names


def resolve_architecture(config: dict, label: str) -> tuple[type, str, str, list[str]]:
    """(class, kind, model_type, notes) from transformers' own registry; anything else is refused."""
    import transformers

    configuration_auto, modeling_auto = _registry()
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in configuration_auto.CONFIG_MAPPING_NAMES:
        raise ModelFileError(f"'{label}/config.json' has model_type {str(model_type)[:60]!r}, which transformers does not know; expected a built-in model type (e.g. bert, gpt2).")
    architectures = config.get("architectures") or []
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ModelFileError(f"'{label}/config.json' has architectures {str(architectures)[:60]}; expected a list of transformers class names.")
    known = set()
    for attribute in dir(modeling_auto):
        if attribute.endswith("_MAPPING_NAMES") and attribute != "CONFIG_MAPPING_NAMES":
            known |= _class_names(getattr(modeling_auto, attribute))
    kinds = (("causal-lm", modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES), ("sequence-classifier", modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES), ("encoder", modeling_auto.MODEL_MAPPING_NAMES))
    notes = []
    name = architectures[0] if architectures else None
    if name is not None and name not in known:
        raise ModelFileError(f"'{label}/config.json' names the architecture '{name[:80]}', which is not in transformers' registry; expected a built-in class (e.g. BertModel, GPT2LMHeadModel).")
    kind = next((k for k, mapping in kinds if name in _class_names(mapping)), None) if name else None
    if kind is None:
        base = modeling_auto.MODEL_MAPPING_NAMES.get(model_type)
        base = base[0] if isinstance(base, (tuple, list)) else base
        if base is None:
            raise ModelFileError(f"'{label}/config.json' names {name or 'no architecture'} and transformers has no base model for model_type '{model_type}'; expected an encoder, a sequence classifier or a causal language model.")
        if name is not None:
            notes.append(f"{name} is not one of the kinds explained here (encoder, sequence classifier, causal LM): its base model {base} was loaded, without the head.")
        name, kind = base, "encoder"
    cls = getattr(transformers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
        raise ModelFileError(f"'{label}/config.json' names the architecture '{name}', which this transformers ({transformers.__version__}) cannot build; expected a built-in model class.")
    expected = configuration_auto.CONFIG_MAPPING[model_type]
    if cls.config_class is not None and not issubclass(expected, cls.config_class):
        raise ModelFileError(f"'{label}/config.json' names {name}, a model of another type than its model_type '{model_type}'; expected matching architectures and model_type.")
    return cls, kind, model_type, notes


def _config_object(config: dict, model_type: str, label: str):
    configuration_auto, _ = _registry()
    try:
        with _quiet_transformers():
            return configuration_auto.CONFIG_MAPPING[model_type].from_dict(dict(config))
    except Exception as exc:  # noqa: BLE001 - a config transformers rejects is one sentence
        raise ModelFileError(f"'{label}/config.json' is not a valid {model_type} config ({first_line(exc)}).") from None


def _count_on_meta(cls, config_object, label: str) -> int:
    """The parameters and buffers the config builds, counted on the meta device (shapes only, no memory)."""
    try:
        with torch.device("meta"), _quiet_transformers():
            skeleton = cls(config_object)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"'{label}/config.json' does not build a {cls.__name__} ({first_line(exc)}).") from None
    return int(sum(t.numel() for t in skeleton.parameters()) + sum(t.numel() for t in skeleton.buffers()))


def _refuse_torch_load(_original, *args, **kwargs):
    raise ModelFileError("The model folder asked for a pickle checkpoint (torch.load), which can run code; only safetensors weights are read.")


def _from_pretrained(cls, stage: Path, config_object, label: str) -> nn.Module:
    try:
        with replaced_torch_load(_refuse_torch_load), _quiet_transformers():
            module, info = cls.from_pretrained(
                str(stage), config=config_object, local_files_only=True, trust_remote_code=False,
                use_safetensors=True, output_loading_info=True,
            )
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers' loader failing is one sentence
        raise ModelFileError(f"'{label}' could not be loaded by transformers ({first_line(exc)}).") from None
    missing = [k for k in info.get("missing_keys", ()) if k]
    mismatched = info.get("mismatched_keys") or []
    if missing or mismatched:
        what = f"lack {len(missing)} tensors the architecture needs (e.g. '{missing[0]}')" if missing else f"have {len(mismatched)} tensors of the wrong shape"
        raise ModelFileError(f"The weights in '{label}' {what}, so it would run with random weights; expected the safetensors save_pretrained writes for this config.")
    return module


def _tokenizer(stage: Path, label: str):
    from transformers import AutoTokenizer

    try:
        with replaced_torch_load(_refuse_torch_load), _quiet_transformers():
            return AutoTokenizer.from_pretrained(str(stage), local_files_only=True, trust_remote_code=False)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"The tokenizer files of '{label}' could not be loaded by transformers ({first_line(exc)}).") from None


@contextmanager
def _quiet_transformers():
    """transformers' warnings, log lines and progress bars stay out of the user's terminal."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
