"""One place that decides where tensors live, and how runs are made reproducible."""

from __future__ import annotations

import os
import random
from functools import lru_cache

import numpy as np
import torch

from interp_core.errors import InterpError

VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(preference: str | torch.device | None = "auto") -> torch.device:
    """Return the torch device for a preference: "auto" picks CUDA, then MPS, then CPU.

    An explicit "cuda" or "mps" that is not available is an error, not a silent fallback,
    so a benchmark never reports CPU figures as GPU ones.
    """
    if isinstance(preference, torch.device):
        return preference
    pref = (preference or "auto").lower()
    base = pref.split(":")[0]
    if base not in VALID_DEVICES:
        raise InterpError(f"Unknown device '{preference}'; expected one of {', '.join(VALID_DEVICES)}.")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise InterpError("Device 'cuda' was requested but no CUDA GPU is available; use --device auto or cpu.")
    if base == "mps" and not _mps_available():
        raise InterpError("Device 'mps' was requested but Apple's MPS backend is not available; use --device auto or cpu.")
    return torch.device(pref)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@lru_cache(maxsize=8)
def _device_name_cached(device_str: str) -> str:
    device = torch.device(device_str)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    return "CPU"


def device_name(device: str | torch.device | None = "auto") -> str:
    """A human label for a device: the GPU's name, or "CPU"."""
    return _device_name_cached(str(resolve_device(device)))


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for data shuffling.

    With the same seed on the CPU, training gives bit-identical weights and metrics.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
