"""Crafted artifacts for tests: a shipped artifact saved into a store through Store.save (whatever
the store's folder layout), then its manifest.json rewritten with a change, as a careless edit or a
hostile file would leave it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from interp_core.store import MANIFEST, SHIPPED_ROOT, Store

STORE_FIELDS = ("name", "format", "created", "versions", "files")  # written by Store.save itself


def tampered(store_root: Path, name: str, change: Callable[[dict], None]) -> dict:
    """Save shipped artifact ``name`` into the store at ``store_root`` and apply ``change`` to its
    manifest on disk; returns the manifest as written."""
    shipped = Store(SHIPPED_ROOT, readonly=True)
    artifact = shipped.open(name)
    files = {file: shipped.read_bytes(artifact, file) for file in artifact.manifest["files"]}
    saved = Store(store_root).save(name, files, {k: v for k, v in artifact.manifest.items() if k not in STORE_FIELDS})
    path = Path(saved.path) / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    return manifest


def setting(field: str, value) -> Callable[[dict], None]:
    """A change that sets one manifest field; "model_config.hidden" sets a member of an object."""

    def change(manifest: dict) -> None:
        target, *path = field.split(".")
        if not path:
            manifest[target] = value
            return
        node = manifest[target]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change
