"""Shared fixtures for the engine's unit tests. Kept minimal: other test files add their own."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp_store(tmp_path):
    """An empty, writable artifact Store in a temporary folder (created on first save)."""
    from interp_core.store import Store

    return Store(tmp_path / "store")


@pytest.fixture
def interp_store_env(tmp_path, monkeypatch):
    """Point INTERP_STORE (the default store of Store() and of the CLI) at a temporary folder; returns it."""
    root = tmp_path / "env-store"
    monkeypatch.setenv("INTERP_STORE", str(root))
    return root


@pytest.fixture
def no_umap(monkeypatch):
    """Training always asks for a UMAP map; a PCA stand-in avoids numba's slow first compile (tens of
    seconds in a fresh test process) where a test checks something else."""
    import interp_core.recipes as recipes_module
    from interp_core.projection import pca_2d

    monkeypatch.setattr(recipes_module, "umap_2d", lambda X, seed=0, **_options: pca_2d(X))
