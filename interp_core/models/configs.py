"""Model configs checked before a model is built, so a bad value is one sentence, not a traceback
or gigabytes allocated before a shape error.

``check_config(label, builder, config)`` checks, in order:

1. the keys: every required argument of ``builder`` is given, no unknown one (an architecture
   whose constructor forwards ``**kwargs`` to its base class is read up its class hierarchy);
2. each value's type, from the constructor's annotation (``int``, ``float``, ``list[int]``...),
   and its range, from the value's name (the same name means the same thing in every
   architecture: ``hidden`` is layer widths, ``dropout`` a probability);
3. the declared size: the module is built on PyTorch's ``meta`` device (shapes only, no memory,
   the random state untouched) and its parameters and buffers are counted against
   ``max_parameters()`` (INTERP_MAX_PARAMS, default 50 million; the largest shipped model,
   minilm-sae with its MiniLM encoder, has 23 million).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from interp_core.checks import describe, is_finite, is_int, is_list
from interp_core.errors import RecipeError

DEFAULT_MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 64  # the longest list of layer sizes and the most repeated blocks
MAX_SIZE = 2**31 - 1  # one dimension; larger ones overflow before any budget could refuse them
MAX_RANK = 4  # input_shape: features, (channels, time), (channels, height, width)...


class ModelConfigError(RecipeError):
    """A model config that cannot be built; ``phrase`` is the sentence without its subject, so a
    caller can say where the config came from (e.g. an artifact's manifest)."""

    def __init__(self, label: str, phrase: str):
        self.label, self.phrase = label, phrase
        super().__init__(f"The model config of architecture '{label}' {phrase}.")


def max_parameters() -> int:
    """The declared-size limit: INTERP_MAX_PARAMS if set, else 50 million parameters and buffers."""
    raw = os.environ.get("INTERP_MAX_PARAMS")
    if raw is None or raw.strip() == "":
        return DEFAULT_MAX_PARAMETERS
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise RecipeError(f"INTERP_MAX_PARAMS is '{raw}'; expected a positive whole number of parameters (default {DEFAULT_MAX_PARAMETERS:,}).")
    return value


# -- ranges by name ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    check: Callable[[object], bool]  # one scalar value (each element of a list)
    expected: str  # singular phrase: "a positive integer"
    plural: str = ""  # for lists: "positive integers"


def _size(v) -> bool:
    return is_int(v) and 1 <= v <= MAX_SIZE


SIZE = Rule(_size, f"a whole number from 1 to {MAX_SIZE}", "positive integers")
COUNT = Rule(lambda v: is_int(v) and 0 <= v <= MAX_SIZE, "a whole number >= 0", "whole numbers >= 0")
LAYERS = Rule(lambda v: is_int(v) and 1 <= v <= MAX_LAYERS, f"a whole number from 1 to {MAX_LAYERS}")
FRACTION = Rule(lambda v: is_finite(v) and 0 <= v < 1, "a number from 0 up to (not including) 1")
WEIGHT = Rule(lambda v: is_finite(v) and v >= 0, "a finite number >= 0", "finite numbers >= 0")
POSITIVE = Rule(lambda v: is_finite(v) and v > 0, "a finite number > 0")
REAL = Rule(is_finite, "a finite number")
BOOL = Rule(lambda v: isinstance(v, bool), "true or false")


def _choice(*options: str) -> Rule:
    return Rule(lambda v: v in options, "one of " + ", ".join(f"'{o}'" for o in options))


RULES: dict[str, Rule] = {
    # sizes of layers, inputs and outputs
    **{name: SIZE for name in (
        "input_shape", "n_classes", "hidden", "channels", "kernels", "kernel", "head_hidden", "d_model", "n_heads",
        "d_ff", "patch", "latent_dim", "prototypes_per_class", "n_concepts", "n_elements", "width", "d_in", "k",
        "aux_k", "n_features", "d_hidden", "n_topics",
    )},
    "n_layers": LAYERS,
    "embed_dim": COUNT,
    "layer": COUNT,
    # probabilities and loss weights
    "dropout": FRACTION,
    "threshold_momentum": FRACTION,
    **{name: WEIGHT for name in ("group_lasso", "concept_weight", "l1_coefficient", "aux_coefficient", "tolerance", "init_scale", "prior_std")},
    "temperature": POSITIVE,
    "init_log_var": REAL,
    # switches
    "probabilistic": BOOL,
    "unit_latent": BOOL,
    "similarity": _choice("neg_distance", "log"),
    "body": _choice("conv", "dense"),
}


# -- what a builder accepts ---------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    annotation: str  # "" when none
    required: bool


def _params(builder: Callable) -> tuple[dict[str, Param], bool]:
    """The keyword arguments ``builder`` takes, and whether it also takes any other (``**kwargs``
    that end in a constructor accepting anything). A class that describes its settings with a
    dataclass ``config_cls`` (the SAEs) takes exactly that dataclass's fields."""
    config_cls = getattr(builder, "config_cls", None)
    if inspect.isclass(builder) and dataclasses.is_dataclass(config_cls):
        return {f.name: Param(f.name, f.type if isinstance(f.type, str) else getattr(f.type, "__name__", ""), f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING) for f in dataclasses.fields(config_cls)}, False
    targets = [c.__init__ for c in builder.__mro__ if "__init__" in vars(c)] if inspect.isclass(builder) else [builder]
    params: dict[str, Param] = {}
    for target in targets:
        if inspect.isclass(builder) and target is nn.Module.__init__:
            return params, True
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return params, True
        open_ended = False
        for p in signature.parameters.values():
            if p.name == "self" or p.kind == p.VAR_POSITIONAL:
                continue
            if p.kind == p.VAR_KEYWORD:
                open_ended = True
                continue
            annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
            params.setdefault(p.name, Param(p.name, "" if p.annotation is p.empty else annotation, p.default is p.empty))
        if not open_ended or not inspect.isclass(builder):
            return params, open_ended
    return params, True


def _form(annotation: str) -> tuple[str | None, bool]:
    """("int" | "float" | "bool" | "str" | "list" | "dict" | None, None allowed) from an annotation string."""
    parts = [p.strip() for p in annotation.split("|")]
    optional = "None" in parts
    parts = [p for p in parts if p != "None"]
    if len(parts) != 1:
        return None, optional
    base = parts[0].split("[")[0].strip().lower()
    if base in ("list", "tuple", "sequence"):
        return "list", optional
    return (base if base in ("int", "float", "bool", "str", "dict") else None), optional


def _check_value(name: str, value, annotation: str) -> str | None:
    """None when ``value`` is fine for argument ``name``, else what was expected."""
    form, optional = _form(annotation)
    if value is None:  # unannotated arguments are left to the builder (e.g. aux_k=None: a default)
        return None if optional or not annotation else _expected(name, form)
    rule = RULES.get(name)
    if name == "input_shape":
        ok = is_list(value) and 1 <= len(value) <= MAX_RANK and all(SIZE.check(v) for v in value)
        return None if ok else _expected(name, form)
    if form == "list" or (form is None and is_list(value) and (rule is None or rule.plural)):
        if not is_list(value) or len(value) > MAX_LAYERS or (rule and not all(rule.check(v) for v in value)):
            return _expected(name, form)
        return None
    if form == "dict" or name == "loss_weights":
        ok = isinstance(value, dict) and all(isinstance(k, str) and WEIGHT.check(v) for k, v in value.items())
        return None if ok else "an object of loss names to finite numbers >= 0"
    if rule is not None:
        return None if rule.check(value) else _expected(name, form)
    simple = {"int": is_int, "float": is_finite, "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str)}
    if form in simple and not simple[form](value):
        return _expected(name, form)
    return None


def _expected(name: str, form: str | None) -> str:
    rule = RULES.get(name)
    if name == "input_shape":
        return f"a list of 1 to {MAX_RANK} positive integers"
    if rule is None:
        return {"int": "a whole number", "float": "a finite number", "bool": "true or false", "str": "a text", "list": "a list", "dict": "an object"}.get(form or "", "a valid value")
    if form == "list":
        return f"a list of at most {MAX_LAYERS} {rule.plural or 'values each ' + rule.expected}"
    if form is None and rule.plural:
        return f"{rule.expected}, or a list of at most {MAX_LAYERS} {rule.plural}"
    return rule.expected


def check_config(label: str, builder: Callable[..., nn.Module], config) -> int:
    """Check ``config`` for ``builder`` (an architecture class or a function returning a module)
    without allocating it; returns the declared number of parameters and buffers.

    Raises ModelConfigError (one sentence naming the field, what it holds and what was expected).
    """
    if not isinstance(config, dict):
        raise ModelConfigError(label, f"is {describe(config)}, expected an object of the architecture's settings")
    params, open_ended = _params(builder)
    for key in config:
        if not isinstance(key, str) or (key not in params and not open_ended):
            known = ", ".join(sorted(params)) or "none"
            raise ModelConfigError(label, f"has an unknown field '{key}', expected only these: {known}")
    missing = [p.name for p in params.values() if p.required and p.name not in config]
    if missing:
        raise ModelConfigError(label, f"has no field '{missing[0]}', expected {_expected(missing[0], _form(params[missing[0]].annotation)[0])}")
    for key, value in config.items():
        annotation = params[key].annotation if key in params else ""
        expected = _check_value(key, value, annotation)
        if expected is not None:
            raise ModelConfigError(label, f"has field '{key}' = {describe(value)}, expected {expected}")
    try:
        key = json.dumps(config, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON (e.g. numpy values from code): not cached
        declared = declared_size(label, builder, config)
    else:
        declared = _declared_size_cached(label, builder, key)
    limit = max_parameters()
    if declared > limit:
        raise ModelConfigError(label, f"declares {declared:,} weights (parameters and buffers), over the limit of {limit:,} (set INTERP_MAX_PARAMS to allow more)")
    return declared


@functools.lru_cache(maxsize=256)
def _declared_size_cached(label: str, builder: Callable[..., nn.Module], key: str) -> int:
    """declared_size of a config given as sorted JSON: the model hub checks every artifact on each rerun."""
    return declared_size(label, builder, json.loads(key))


def declared_size(label: str, builder: Callable[..., nn.Module], config: dict) -> int:
    """Parameters and buffers of ``builder(**config)``, built on the meta device: no memory is
    allocated and the global random state is left as it was (training stays reproducible)."""
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            module = builder(**config)
    except RecipeError:
        raise
    except (TypeError, ValueError, RuntimeError, AssertionError, IndexError, KeyError, ZeroDivisionError, OverflowError) as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ModelConfigError(label, f"cannot be built ({detail})") from None
    tensors = {id(t): t for t in list(module.parameters()) + list(module.buffers())}
    return int(sum(t.numel() for t in tensors.values()))
