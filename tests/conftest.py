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


# Test-seconds per file in a fresh clone's `make test` (its junit XML, commit 8105987, 2026-12-07), the files
# over 40 s. The test command passes --no-loadscope-reorder, so pytest-xdist hands out whole files in
# collection order; by default it orders them by their number of tests, which put the browser files (few
# tests, minutes each) last, and the run ended with one worker finishing a long browser file alone. Longest
# first (LPT scheduling) lets the short files fill the workers' ends instead.
FILE_SECONDS = {
    "tests/browser/test_foreign_browser.py": 384, "tests/browser/test_teaching_browser.py": 310,
    "tests/browser/test_share_browser.py": 287, "tests/browser/test_uploads_browser.py": 262,
    "tests/browser/test_share2_browser.py": 248, "tests/browser/test_concepts_browser.py": 145,
    "tests/browser/test_sae_browser.py": 133, "tests/browser/test_mechanisms_browser.py": 126,
    "tests/browser/test_prototypes_browser.py": 119, "tests/browser/test_pages.py": 107,
    "tests/browser/test_concurrency.py": 95, "tests/app/test_home.py": 91, "tests/browser/test_timeseries_browser.py": 81,
    "tests/test_sae_distributed.py": 66, "tests/browser/test_rules_browser.py": 65, "tests/test_report_cli.py": 61,
    "tests/test_sae_recipes.py": 60, "tests/test_faults.py": 55, "tests/test_shipped.py": 54,
    "tests/browser/test_compare_browser.py": 53, "tests/app/test_uploads.py": 50, "tests/app/test_foreign_layers.py": 42,
}


def pytest_collection_modifyitems(config, items):
    """The slow files first, longest first; the others after, in their own order (a stable sort keeps each file's
    tests together and in order)."""
    rank = {path: i for i, path in enumerate(sorted(FILE_SECONDS, key=FILE_SECONDS.get, reverse=True))}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
