"""Architectures by name. Each is an nn.Module built from a JSON-able config (kwargs), so a
checkpoint is ``config + safetensors state`` and never needs pickling.

Every classifier has ``forward(x) -> logits`` and ``embed(x) -> (n, d)``, the representation
the maps and SAEs read. A family adds its architectures with ``register_architecture``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from interp_core.errors import RecipeError
from interp_core.models.classifiers import FCN1d, MLPClassifier

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLPClassifier,
    "fcn": FCN1d,
}


def register_architecture(name: str, cls: Callable[..., nn.Module]) -> None:
    ARCHITECTURES[name] = cls


def build_model(arch: str, config: dict) -> nn.Module:
    if arch not in ARCHITECTURES:
        from interp_core.families import load_all

        load_all()
    if arch not in ARCHITECTURES:
        raise RecipeError(f"Unknown architecture '{arch}'; expected one of: {', '.join(sorted(ARCHITECTURES))}.")
    return ARCHITECTURES[arch](**config)


def load_state(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Load a safetensors state dict strictly, with one sentence when it does not fit."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "mismatch"
        raise RecipeError(f"The weights do not fit the {type(model).__name__} architecture ({first[:160]}).") from None
    return model


def count_parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))
