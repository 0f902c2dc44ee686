"""Device selection and seeding (interp_core.device)."""

from __future__ import annotations

import pytest
import torch

from interp_core.device import device_name, resolve_device, seed_everything
from interp_core.errors import InterpError

needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present, so 'cuda' is valid here")


def _is_sentence(message: str) -> bool:
    return "\n" not in message and message[:1].isupper() and message.rstrip().endswith(".")


@pytest.mark.skipif(torch.cuda.is_available() or (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()), reason="a GPU is present")
def test_auto_picks_cpu_without_gpu():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")


def test_cpu_and_torch_device_pass_through():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    explicit = torch.device("cpu")
    assert resolve_device(explicit) is explicit


@pytest.mark.parametrize("bad", ["gpu", "tpu", "cuda0", "nonsense"])
def test_unknown_device_is_a_sentence(bad):
    with pytest.raises(InterpError, match="Unknown device") as info:
        resolve_device(bad)
    message = str(info.value)
    assert bad in message and "cpu" in message
    assert _is_sentence(message)


@needs_no_cuda
@pytest.mark.parametrize("request_", ["cuda", "cuda:0"])
def test_explicit_cuda_without_gpu_is_an_error_not_a_fallback(request_):
    with pytest.raises(InterpError, match="no CUDA GPU is available") as info:
        resolve_device(request_)
    assert _is_sentence(str(info.value))


@pytest.mark.skipif(bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()), reason="MPS is available")
def test_explicit_mps_without_mps_is_an_error():
    with pytest.raises(InterpError, match="MPS"):
        resolve_device("mps")


def test_device_name_cpu():
    assert device_name("cpu") == "CPU"
    assert device_name(torch.device("cpu")) == "CPU"


def test_device_name_rejects_unknown_device():
    with pytest.raises(InterpError):
        device_name("gpu")


def test_seed_everything_makes_randn_reproducible():
    seed_everything(123)
    first = torch.randn(5)
    seed_everything(123)
    second = torch.randn(5)
    seed_everything(124)
    third = torch.randn(5)
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def test_seed_everything_returns_seeded_generator():
    g1 = seed_everything(7)
    g2 = seed_everything(7)
    assert isinstance(g1, torch.Generator)
    assert torch.equal(torch.randperm(50, generator=g1), torch.randperm(50, generator=g2))


def test_seed_everything_seeds_numpy_and_python():
    import random

    import numpy as np

    seed_everything(5)
    a = (random.random(), np.random.rand())
    seed_everything(5)
    b = (random.random(), np.random.rand())
    assert a == b
