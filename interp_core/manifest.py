"""The one schema of a model artifact's ``manifest.json``: ``Manifest`` lists every field the
trainers write, with its type; ``validate`` checks a manifest read from disk against it and
``model_manifest`` builds the fields a trainer writes (the store adds name, format, created,
versions and files when it saves).

A wrong field raises ArtifactCorrupted with one sentence naming the artifact, the field, what it
holds and what was expected, so the model hub can mark that artifact "corrupted" and offer to
retrain it, and the CLI exits 2 with the sentence, instead of a traceback somewhere downstream.
Keys the schema does not know are kept in ``Manifest.extra`` (a newer version's fields).
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Callable

from interp_core.checks import describe, is_int, is_list, is_number
from interp_core.device import device_name as describe_device
from interp_core.errors import ArtifactCorrupted
from interp_core.store import FORMAT_VERSION

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, str)) or is_number(value)


def _text(value) -> bool:
    return isinstance(value, str)


def _name(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _file_entry(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and bool(_SHA256.match(entry["sha256"])) and is_int(entry.get("bytes")) and entry["bytes"] >= 0


def _metric(value) -> bool:
    return _scalar(value) or (is_list(value) and all(_scalar(v) for v in value))


def _is_dict(value) -> bool:
    return isinstance(value, dict)


def _spec(check: Callable[[object], bool], expected: str, each: tuple[Callable[[object], bool], str] | None = None, **parts: tuple[Callable[[object], bool], str, bool]) -> dict:
    """Field metadata: its check and what is expected; for objects, ``each`` checks every member
    (check, expected) and ``parts`` named members (name -> (check, expected, required))."""
    return {"check": check, "expected": expected, "each": each, "parts": parts}


def _object(**parts) -> dict:
    return _spec(_is_dict, "an object", **parts)


def _mapping(expected: str, each: Callable[[object], bool], each_expected: str) -> dict:
    return _spec(_is_dict, expected, (each, each_expected))


NAME = (_name, "a non-empty text", True)
TEXT = (_text, "a text", False)
WHOLE = (lambda v: is_int(v) and v >= 0, "a whole number >= 0", False)
FLAG = (lambda v: isinstance(v, bool), "true or false", False)
LIST = (is_list, "a list", False)


@dataclass(frozen=True)
class Manifest:
    """A model artifact's manifest, checked (``validate``). Field metadata holds each field's check."""

    name: str = field(metadata=_spec(_name, "the artifact's name (a non-empty text)"))
    files: dict = field(metadata=_mapping("an object of file names to their sha256 and size", _file_entry, "{\"sha256\": 64 hex digits, \"bytes\": a whole number >= 0}"))
    recipe: str = field(metadata=_spec(_name, "the recipe's name (a non-empty text)"))
    family: str = field(metadata=_spec(_name, "a family name such as 'classifier' (a non-empty text)"))
    arch: str = field(metadata=_spec(_name, "an architecture name such as 'mlp' (a non-empty text)"))
    model_config: dict = field(metadata=_spec(_is_dict, "an object of the architecture's settings"))
    dataset: dict = field(metadata=_object(
        name=NAME, modality=TEXT, task=TEXT, source=TEXT, group=TEXT, n_train=WHOLE, n_test=WHOLE, n_classes=WHOLE,
        input_shape=(lambda v: is_list(v) and all(is_int(d) and d > 0 for d in v), "a list of positive whole numbers", False),
        class_names=LIST, concept_names=LIST, has_mask=FLAG, has_concepts=FLAG,
        train_fraction=(is_number, "a number", False), corrupt_fraction=(is_number, "a number", False),
    ))
    metrics: dict = field(metadata=_mapping("an object of metric names to values", _metric, "a number, a text, null or a list of those"))
    seed: int = field(metadata=_spec(is_int, "a whole number"))
    config_hash: str = field(metadata=_spec(_name, "a non-empty text (the hash of the recipe's settings)"))
    trainer: str = field(default="classifier", metadata=_spec(_name, "a trainer name such as 'classifier' (a non-empty text)"))
    description: str = field(default="", metadata=_spec(_text, "a text"))
    train_config: dict = field(default_factory=dict, metadata=_spec(_is_dict, "an object of training settings"))
    device: str = field(default="", metadata=_spec(_text, "a device type such as 'cpu' (a text)"))
    device_name: str = field(default="", metadata=_spec(_text, "a text"))
    created: str = field(default="", metadata=_spec(_text, "a UTC time (a text)"))
    train_seconds: float | None = field(default=None, metadata=_spec(lambda v: v is None or (is_number(v) and v >= 0), "a number of seconds >= 0"))
    versions: dict = field(default_factory=dict, metadata=_mapping("an object of library names to versions", _text, "a version (a text)"))
    format: int = field(default=FORMAT_VERSION, metadata=_spec(is_int, "a whole number (the manifest format)"))
    # family fields: concepts (kind, mode), SAEs (sae, source), rules (rules_ranking), uploads (uploaded)
    kind: str | None = field(default=None, metadata=_spec(_text, "a text"))
    mode: str | None = field(default=None, metadata=_spec(_text, "a text"))
    sae: dict | None = field(default=None, metadata=_object(arch=NAME, config=(_is_dict, "an object of the SAE's settings", True)))
    source: dict | None = field(default=None, metadata=_object(kind=NAME, description=TEXT, n_train=WHOLE, n=WHOLE, d=WHOLE))
    rules_ranking: dict | None = field(default=None, metadata=_object())
    uploaded: dict | None = field(default=None, metadata=_object(file=TEXT, format=TEXT))
    extra: dict = field(default_factory=dict)  # keys this schema does not know, kept as they are

    def to_dict(self) -> dict:
        """The manifest as written: every field that is set, then the unknown keys."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra" and getattr(self, f.name) is not None}
        return {**out, **self.extra}


def _required(f) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def validate(raw, name: str, path: str | Path | None = None) -> Manifest:
    """``raw`` (a manifest read from disk) checked field by field against ``Manifest``.

    Raises ArtifactCorrupted: "Artifact 'x' is corrupted: its manifest's metrics holds the text
    'oops', expected an object of metric names to ...; retrain it or delete PATH."
    """
    advice = f"retrain it or delete {path}" if path is not None else "retrain it"

    def corrupted(what: str) -> ArtifactCorrupted:
        return ArtifactCorrupted(f"Artifact '{name}' is corrupted: {what}; {advice}.")

    if not isinstance(raw, dict):
        raise corrupted(f"its manifest holds {describe(raw)}, expected a JSON object")
    values, known = {}, set()
    for f in fields(Manifest):
        if f.name == "extra":
            continue
        known.add(f.name)
        spec = f.metadata
        if f.name not in raw or (raw[f.name] is None and not _required(f) and f.default is None):
            if _required(f):
                raise corrupted(f"its manifest has no '{f.name}' field, expected {spec['expected']}")
            continue
        value = raw[f.name]
        if not spec["check"](value):
            raise corrupted(f"its manifest's {f.name} holds {describe(value)}, expected {spec['expected']}")
        if spec["each"] is not None:
            check, expected = spec["each"]
            for key, member in value.items():
                if not isinstance(key, str) or not check(member):
                    raise corrupted(f"its manifest's {f.name}.{key} holds {describe(member)}, expected {expected}")
        for part, (check, expected, required) in spec["parts"].items():
            if part not in value:
                if required:
                    raise corrupted(f"its manifest's {f.name} has no '{part}', expected {expected}")
                continue
            if not check(value[part]):
                raise corrupted(f"its manifest's {f.name}.{part} holds {describe(value[part])}, expected {expected}")
        values[f.name] = value
    return Manifest(**values, extra={k: v for k, v in raw.items() if k not in known})


def model_manifest(
    recipe,
    *,
    dataset: dict,
    model_config: dict,
    train_config: dict,
    seed: int,
    config_hash: str,
    metrics: dict,
    device,
    train_seconds: float,
    device_name: str | None = None,
    **family_fields,
) -> dict:
    """The manifest fields a trainer writes for ``recipe`` (a recipes.Recipe); ``family_fields``
    are the family's own (kind, mode, sae, source, uploaded...), named in ``Manifest``."""
    unknown = sorted(set(family_fields) - {f.name for f in fields(Manifest)})
    if unknown:
        raise ValueError(f"manifest fields {unknown} are not in the Manifest schema; add them there first")
    return {
        "recipe": recipe.name,
        "trainer": recipe.trainer,
        "family": recipe.family,
        "description": recipe.description,
        "dataset": dataset,
        "arch": recipe.arch,
        "model_config": model_config,
        "train_config": train_config,
        "seed": int(seed),
        "config_hash": config_hash,
        "metrics": metrics,
        "device": getattr(device, "type", device),
        "device_name": device_name if device_name is not None else describe_device(device),
        "train_seconds": round(train_seconds, 3),
        **family_fields,
    }
