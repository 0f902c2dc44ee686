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
