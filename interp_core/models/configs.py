"""Model configs checked before a model is built, so a bad value is one sentence, not a traceback
or gigabytes allocated before a shape error.

``check_config(label, builder, config)`` checks, in order:

1. the keys: every required argument of ``builder`` is given, no unknown one (an architecture
   whose constructor forwards ``**kwargs`` to its base class is read up its class hierarchy);
2. each value's type, from the constructor's annotation (``int``, ``float``, ``list[int]``...),
   and its range, from the value's name (the same name means the same thing in every
   architecture: ``hidden`` is layer widths, ``dropout`` a probability);
3. the declared size: the module is built on PyTorch's ``meta`` device (shapes only, no memory,
   the random state untouched; random initialisers and their scaling answered with shapes at
   once, see ``_ShapesOnly``) and its parameters and buffers are counted against
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

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

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


class _ShapesOnly(TorchFunctionMode):
    """Inside ``declared_size``, on the meta device: the random initialisers and the arithmetic that
    scales them (``torch.randn(n, d) * scale / d**0.5``, ``normal_``, ``1.0 * eye - 0.5 * (1 - eye)``)
    give an empty meta tensor of the result's shape at once. On the meta device torch runs these
    through its Python kernels, whose first use imports torch._dynamo and sympy: about 2 s of CPU,
    once per process, which the model hub's first view paid for the mechanisms, prototype and SAE
    recipes. A size needs only shapes; any other operation runs as it is."""

    _FACTORIES = frozenset({torch.randn, torch.rand})
    # by name: ``x * 2`` arrives as TensorBase.mul, ``2 * x`` as __rmul__, torch.mul(x, 2) as mul
    _POINTWISE = frozenset({"add", "sub", "rsub", "mul", "div", "true_divide", "floor_divide", "neg", "__add__", "__radd__", "__sub__", "__rsub__",
                            "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__neg__"})
    _IN_PLACE = frozenset({"normal_", "uniform_", "copy_", "fill_", "zero_", "mul_", "div_", "add_", "sub_", "__imul__", "__itruediv__", "__iadd__", "__isub__"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._FACTORIES and kwargs.get("device") in (None, "meta") and kwargs.get("generator") is None and kwargs.get("out") is None:
            size = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else args
            if all(isinstance(n, int) for n in size):
                return torch.empty(tuple(size), dtype=kwargs.get("dtype"), device="meta")
        elif func is torch.arange and kwargs.get("device") in (None, "meta") and kwargs.get("out") is None and 1 <= len(args) <= 3 and all(isinstance(a, int) for a in args):
            return torch.empty(len(range(*args)), dtype=kwargs.get("dtype", torch.int64), device="meta")
        elif getattr(func, "__name__", "") == "norm" and len(args) == 1 and isinstance(args[0], torch.Tensor) and args[0].is_meta and set(kwargs) <= {"p", "dim", "keepdim", "dtype"} and isinstance(kwargs.get("dim"), int):
            shape, dim = list(args[0].shape), kwargs["dim"] % args[0].dim()  # a vector norm along one dimension
            shape[dim:dim + 1] = [1] if kwargs.get("keepdim") else []
            return torch.empty(shape, dtype=args[0].dtype, device="meta")
        elif not kwargs and args and all(isinstance(a, (int, float)) or (isinstance(a, torch.Tensor) and a.is_meta) for a in args):
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            name = getattr(func, "__name__", "")
            if name in self._POINTWISE and tensors:
                shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))  # torch's imports sympy
                return torch.empty(shape, dtype=tensors[0].dtype, device="meta")
            if name in self._IN_PLACE and isinstance(args[0], torch.Tensor):
                return args[0]
            if name == "one_hot" and len(args) == 2 and isinstance(args[0], torch.Tensor) and isinstance(args[1], int) and args[1] > 0:
                return torch.empty((*args[0].shape, args[1]), dtype=torch.int64, device="meta")
        return func(*args, **kwargs)


def declared_size(label: str, builder: Callable[..., nn.Module], config: dict) -> int:
    """Parameters and buffers of ``builder(**config)``, built on the meta device: no memory is
    allocated and the global random state is left as it was (training stays reproducible)."""
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"), _ShapesOnly():
            module = builder(**config)
    except RecipeError:
        raise
    except (TypeError, ValueError, RuntimeError, AssertionError, IndexError, KeyError, ZeroDivisionError, OverflowError) as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ModelConfigError(label, f"cannot be built ({detail})") from None
    tensors = {id(t): t for t in list(module.parameters()) + list(module.buffers())}
    return int(sum(t.numel() for t in tensors.values()))
