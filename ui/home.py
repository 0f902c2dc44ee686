"""Home's model hub: its rows, read once per state of the stores (a sha256 check of every stored
file on every run was a third of Home's script time), and shown as read."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import streamlit as st

from interp_core import recipes
from ui import cache

COLUMNS = {"recipe": "Recipe", "family": "Family", "dataset": "Dataset", "status": "Status", "test_accuracy": "Test accuracy", "device": "Trained on", "trained": "When (UTC)"}


def _fingerprint(catalog) -> str:
    """A digest of every stored file's name, size and modification time in the catalog's stores:
    any write, retrain, deletion or damaged file changes it."""
    parts = []
    for store in (getattr(catalog, "session", None), catalog.store, catalog.shipped):
        if store is None:
            continue
        try:
            entries = sorted(os.scandir(store.root), key=lambda e: e.name)
        except OSError:
            parts.append((str(store.root), None))
            continue
        for entry in entries:
            try:
                target = os.path.realpath(entry.path)
                parts.append((entry.path, target))
                if os.path.isdir(target):
                    parts += [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in os.scandir(target)]
            except OSError:
                parts.append((entry.path, None))
    return hashlib.sha1(repr(parts).encode()).hexdigest()


@st.cache_resource(show_spinner=False, max_entries=16)  # read-only: hub_table makes a new frame
def _rows(fingerprint: str, names: tuple[str, ...], _catalog) -> pd.DataFrame:
    return pd.DataFrame([recipes.recipe_status(recipes.get_recipe(name), _catalog) for name in names])


def hub_rows() -> pd.DataFrame:
    """One row per recipe (recipes.recipe_status), recomputed only when a store changed."""
    catalog = cache.catalog()
    names = tuple(r.name for r in recipes.list_recipes())
    return _rows(_fingerprint(catalog), names, catalog)


def hub_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The hub's rows as read: accuracy to three decimals, the time to the minute, and a dash where a
    recipe has no such value (an untrained one, or an SAE without an accuracy) instead of "None"."""
    return rows.drop(columns=["message"]).assign(
        test_accuracy=[f"{v:.3f}" if pd.notna(v) else "–" for v in rows["test_accuracy"]],
        device=[v or "–" for v in rows["device"]],
        trained=[str(v)[:16].replace("T", " ") if v else "–" for v in rows["trained"]],
    )
