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
from interp_core.models.configs import check_config

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLPClassifier,
    "fcn": FCN1d,
}


def register_architecture(name: str, cls: Callable[..., nn.Module]) -> None:
    ARCHITECTURES[name] = cls


def architecture(arch: str) -> Callable[..., nn.Module]:
    """The class registered as ``arch`` (families are loaded on first use)."""
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        from interp_core.family import load_families

        load_families()
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise RecipeError(f"Unknown architecture '{arch}'; expected one of: {', '.join(sorted(ARCHITECTURES))}.")
    return ARCHITECTURES[arch]


def check_model_config(arch: str, config: dict) -> int:
    """Types, ranges and declared size of ``config`` for ``arch``, checked without building it;
    returns the declared number of parameters and buffers (ModelConfigError when unusable)."""
    return check_config(arch, architecture(arch), config)


def build_model(arch: str, config: dict) -> nn.Module:
    """The architecture built from its config, after check_model_config: a bad or oversized config
    is one sentence (ModelConfigError) before any memory is allocated."""
    check_model_config(arch, config)
    return architecture(arch)(**config)


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
