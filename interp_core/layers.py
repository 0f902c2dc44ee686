"""A loaded model's layers, by the names ``named_modules()`` gives them.

- ``list_layers``: every named submodule with its type and output shape, measured by one forward
  pass on a sample input with a hook on each module (a module the pass never calls has no shape);
- ``find_layer``: a submodule by name; a name that does not exist is one sentence listing the
  nearest names (difflib);
- ``capture`` and ``replaced_output``: a layer's output read during a forward pass (the rest of the
  pass skipped), or transformed for the rest of it (how an SAE's reconstruction is spliced in).

``inputs`` is always ``(args, kwargs)``: what the model is called with.
"""

from __future__ import annotations

import difflib
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
from torch import nn

from interp_core.errors import InterpError, LayerError, ModelFileError, first_line

Inputs = tuple[tuple, dict]
MAX_OUTPUT_DEPTH = 4  # how deep a module's output (tuples, dicts) is searched for its first tensor


@dataclass(frozen=True)
class Layer:
    name: str
    type: str
    output_shape: list[int] | None  # None: the sample forward pass never called this module

    def to_dict(self) -> dict:
        return asdict(self)


def first_tensor(value: Any, depth: int = 0) -> torch.Tensor | None:
    """The first tensor in a module's output: the tensor itself, or the first one in a tuple, list or dict (a transformers ModelOutput)."""
    if isinstance(value, torch.Tensor):
        return value
    if depth >= MAX_OUTPUT_DEPTH:
        return None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (tuple, list)) else ()
    for item in items:
        found = first_tensor(item, depth + 1)
        if found is not None:
            return found
    return None


def hook_here(module: nn.Module, hook: Callable) -> torch.utils.hooks.RemovableHandle:
    """``module.register_forward_hook(hook)``, acting only on forward passes run by this thread.

    A recipe's model is one object shared by every session the app serves, each in its own thread; a
    hook registered for one reader (a layer captured, an SAE spliced in, a feature steered) must not
    change, or stop, another session's forward pass through the same module meanwhile."""
    owner = threading.get_ident()

    def guarded(module_, args, output):
        return hook(module_, args, output) if threading.get_ident() == owner else None

    return module.register_forward_hook(guarded)


def run(module: nn.Module, inputs: Inputs) -> Any:
    args, kwargs = inputs
    return module(*args, **kwargs)


def describe_inputs(inputs: Inputs) -> str:
    args, kwargs = inputs
    parts = [f"{tuple(a.shape)}" for a in args if isinstance(a, torch.Tensor)]
    parts += [f"{k}={tuple(v.shape)}" for k, v in kwargs.items() if isinstance(v, torch.Tensor)]
    return ", ".join(parts) or "no tensors"


@torch.no_grad()
def list_layers(module: nn.Module, inputs: Inputs, types: dict[str, str] | None = None) -> list[Layer]:
    """Each named submodule (the root excluded) with its type (``types`` overrides the class name,
    e.g. an unflattened .pt2's original classes) and the shape of its first output on ``inputs``."""
    types = types or {}
    shapes: dict[str, list[int]] = {}
    handles = []

    def recorder(name: str):
        def hook(_module, _args, output):
            tensor = first_tensor(output)
            if name not in shapes and tensor is not None:
                shapes[name] = [int(s) for s in tensor.shape]
        return hook

    named = [(name, sub) for name, sub in module.named_modules() if name]
    for name, sub in named:
        handles.append(hook_here(sub, recorder(name)))
    try:
        run(module, inputs)
    except InterpError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the user's model on the sample is one sentence
        raise ModelFileError(f"The model failed on a sample input ({describe_inputs(inputs)}) while its layers were measured ({first_line(exc)}).") from None
    finally:
        for handle in handles:
            handle.remove()
    return [Layer(name, types.get(name) or type(sub).__name__, shapes.get(name)) for name, sub in named]


def nearest_names(name: str, names: list[str], n: int = 5) -> list[str]:
    """The names most like ``name`` (difflib), or the first few names when none is close."""
    return difflib.get_close_matches(name, names, n=n, cutoff=0.5) or names[:n]


def find_layer(module: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name``; a name that does not exist is one sentence with the nearest names."""
    modules = {n: m for n, m in module.named_modules() if n}
    if name in modules:
        return modules[name]
    if not modules:
        raise LayerError(f"The model has no named layers, so there is no layer '{name}'.")
    near = ", ".join(f"'{n}'" for n in nearest_names(name, list(modules)))
    raise LayerError(f"The model has no layer '{name}'; the nearest of its {len(modules)} layer names are {near} (load-model lists them all).")


class _Captured(Exception):
    """Raised by the capturing hook to skip the rest of the forward pass."""


def capture(module: nn.Module, name: str, inputs: Inputs, stop: bool = True) -> torch.Tensor:
    """Layer ``name``'s output (its first tensor) when ``module`` runs on ``inputs``; with ``stop``
    the layers after it do not run."""
    layer = find_layer(module, name)
    captured: list[torch.Tensor] = []

    def hook(_module, _args, output):
        if not captured:
            tensor = first_tensor(output)
            if tensor is None:
                raise LayerError(f"Layer '{name}' returns {type(output).__name__}, which holds no tensor; pick a layer whose output is a tensor.")
            captured.append(tensor)
            if stop:
                raise _Captured

    handle = hook_here(layer, hook)
    try:
        run(module, inputs)
    except _Captured:
        pass
    finally:
        handle.remove()
    if not captured:
        raise LayerError(f"Layer '{name}' did not run on this input, so it has no output to read; pick a layer the forward pass calls.")
    return captured[0]


@contextmanager
def replaced_output(module: nn.Module, name: str, transform: Callable[[torch.Tensor], torch.Tensor]):
    """Inside this block layer ``name``'s output is ``transform(output)`` (the first element when it returns a tuple or list)."""
    layer = find_layer(module, name)

    def hook(_module, _args, output):
        if isinstance(output, torch.Tensor):
            return transform(output)
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            return type(output)([transform(output[0]), *output[1:]])
        raise LayerError(f"Layer '{name}' returns {type(output).__name__}; only a layer whose output is a tensor (or starts with one) can be replaced.")

    handle = hook_here(layer, hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def read_output(module: nn.Module, name: str, keep: Callable[[torch.Tensor], None]):
    """Inside this block each output (its first tensor) of layer ``name`` goes to ``keep``; the run goes on."""
    handle = hook_here(find_layer(module, name), lambda _module, _args, output: keep(first_tensor(output)))
    try:
        yield
    finally:
        handle.remove()
