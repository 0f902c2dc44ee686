"""Artifacts on disk: safetensors weights and arrays plus a JSON manifest with sha256 of each file.

Layout: ``ROOT/<artifact name>/manifest.json`` beside the files it lists. A whole artifact
is written into a temporary folder and renamed into place; a file added later goes through
a temporary file and rename, and the manifest is rewritten the same way. Reading verifies
every listed file's size and sha256, so a missing, truncated or tampered file is reported,
never loaded. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as np_load_bytes
from safetensors.numpy import save as np_save_bytes
from safetensors.torch import load as torch_load_bytes
from safetensors.torch import save as torch_save_bytes

from interp_core.errors import ArtifactCorrupted, ArtifactMissing, StoreError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_ROOT = REPO_ROOT / "assets" / "store"


def default_root() -> Path:
    """INTERP_STORE if set, else the user's cache directory (XDG_CACHE_HOME or ~/.cache)."""
    env = os.environ.get("INTERP_STORE")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "interp-explorer" / "store"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def config_hash(config: dict) -> str:
    """Stable short hash of a JSON-able configuration (sorted keys)."""
    return sha256_bytes(json.dumps(config, sort_keys=True, default=str).encode())[:16]


def library_versions() -> dict:
    import interp_core

    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__, "interp_core": interp_core.__version__}
    for module in ("sklearn", "safetensors", "captum", "umap"):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, "__version__"):
            versions[module] = mod.__version__
    return versions


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_name(name: str) -> str:
    """Artifact names are lower-case slugs; anything that could be a path is refused."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise StoreError(f"'{name}' is not a valid artifact name; expected lower-case letters, digits, '.', '_' or '-'.")
    return name


def _check_file_name(file: str) -> str:
    if not _FILE_RE.match(file) or ".." in file or file == MANIFEST:
        raise StoreError(f"'{file}' is not a valid artifact file name; expected letters, digits, '.', '_' or '-'.")
    return file


def encode_payload(payload) -> bytes:
    """Serialise one file's content: dict of tensors or arrays -> safetensors, dict/list -> JSON, bytes as is."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return torch_save_bytes({k: v.detach().cpu().contiguous() for k, v in payload.items()})
    if isinstance(payload, dict) and payload and all(isinstance(v, np.ndarray) for v in payload.values()):
        return np_save_bytes({k: np.ascontiguousarray(v) for k, v in payload.items()})
    return json.dumps(payload, indent=1, sort_keys=True, default=_json_default).encode()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Artifact:
    """A verified artifact: its folder and manifest. Files are read through the Store."""

    name: str
    path: Path
    manifest: dict
    shipped: bool = False

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})


class Store:
    """A folder of artifacts. ``Store()`` uses default_root(); ``readonly`` stores refuse writes."""

    def __init__(self, root: str | Path | None = None, readonly: bool = False):
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.readonly = readonly

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', readonly' if self.readonly else ''})"

    # -- writing ---------------------------------------------------------------------------
    def save(self, name: str, files: dict, manifest: dict) -> Artifact:
        """Write a whole artifact atomically: all files plus a manifest with their sha256."""
        check_name(name)
        self._writable()
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            entries = {}
            for file, payload in files.items():
                data = encode_payload(payload)
                (staging / _check_file_name(file)).write_bytes(data)
                entries[file] = {"sha256": sha256_bytes(data), "bytes": len(data)}
            full = {"format": FORMAT_VERSION, "name": name, "created": now_iso(), "versions": library_versions(), **manifest, "files": entries}
            (staging / MANIFEST).write_bytes(encode_payload(full))
            final = self.root / name
            if final.exists():
                trash = self.root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
                os.replace(final, trash)
                try:
                    os.replace(staging, final)
                except BaseException:
                    os.replace(trash, final)  # put the previous artifact back
                    raise
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return Artifact(name, self.root / name, full, shipped=self.readonly)

    def add_file(self, name: str, file: str, payload, manifest_updates: dict | None = None) -> Artifact:
        """Add or replace one file of an existing artifact (e.g. a cached projection)."""
        self._writable()
        artifact = self.open(name)
        data = encode_payload(payload)
        _atomic_write(artifact.path / _check_file_name(file), data)
        manifest = dict(artifact.manifest)
        manifest["files"] = {**manifest["files"], file: {"sha256": sha256_bytes(data), "bytes": len(data)}}
        manifest.update(manifest_updates or {})
        _atomic_write(artifact.path / MANIFEST, encode_payload(manifest))
        return Artifact(name, artifact.path, manifest, shipped=self.readonly)

    def delete(self, name: str) -> None:
        self._writable()
        path = self.root / check_name(name)
        if path.exists():
            shutil.rmtree(path)

    def _writable(self) -> None:
        if self.readonly:
            raise StoreError(f"The store at {self.root} is read-only (shipped demo artifacts); train into your own store instead.")

    # -- reading ---------------------------------------------------------------------------
    def recover(self, name: str) -> bool:
        """Undo a save that was killed between its two renames: put the previous artifact back.

        Returns True when something was restored. Called before every read, so a killed process
        leaves the last good artifact (or none), never a half one.
        """
        final = self.root / check_name(name)
        if self.readonly or final.exists() or not self.root.is_dir():
            return False
        trashed = sorted(self.root.glob(f".trash-{name}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for candidate in trashed:
            if (candidate / MANIFEST).is_file():
                try:
                    os.replace(candidate, final)
                    return True
                except OSError:
                    return False
        return False

    def cleanup(self, older_than_s: float = 3600) -> int:
        """Remove leftovers of interrupted writes (temporary and trash folders) older than ``older_than_s``."""
        import time

        if self.readonly or not self.root.is_dir():
            return 0
        for path in self.root.glob(".trash-*"):
            self.recover(path.name[len(".trash-"):].rsplit("-", 1)[0])
        removed = 0
        for path in list(self.root.glob(".tmp-*")) + list(self.root.glob(".trash-*")):
            if time.time() - path.stat().st_mtime > older_than_s:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        return removed

    def exists(self, name: str) -> bool:
        self.recover(name)
        return (self.root / check_name(name) / MANIFEST).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        for path in self.root.glob(".trash-*"):
            self.recover(path.name[len(".trash-"):].rsplit("-", 1)[0])
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())

    def open(self, name: str, verify: bool = True) -> Artifact:
        """Read an artifact's manifest; with ``verify`` every listed file is checked by size and sha256."""
        self.recover(name)
        path = self.root / check_name(name)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            if path.is_dir():
                raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} has no manifest (an interrupted write?); retrain it or delete {path}.")
            raise ArtifactMissing(f"No artifact '{name}' in {self.root}; train it first (python -m interp_core train {name}).")
        try:
            manifest = json.loads(manifest_path.read_text())
            files = manifest["files"]
            assert isinstance(files, dict)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, AssertionError, TypeError):
            raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} has an unreadable manifest; retrain it or delete {path}.") from None
        if verify:
            for file, entry in files.items():
                self._verify_file(name, path, file, entry)
        return Artifact(name, path, manifest, shipped=self.readonly)

    def _verify_file(self, name: str, path: Path, file: str, entry: dict) -> None:
        if not isinstance(entry, dict):
            raise ArtifactCorrupted(f"Artifact '{name}' has an unreadable manifest entry for {file}; retrain it or delete {path}.")
        file_path = path / _check_file_name(file)
        if not file_path.is_file():
            raise ArtifactCorrupted(f"Artifact '{name}' is missing its file {file}; retrain it or delete {path}.")
        size = file_path.stat().st_size
        if size != entry.get("bytes"):
            raise ArtifactCorrupted(f"Artifact '{name}': {file} is {size} bytes but its manifest says {entry.get('bytes')} (truncated?); retrain it or delete {path}.")
        if sha256_file(file_path) != entry.get("sha256"):
            raise ArtifactCorrupted(f"Artifact '{name}': {file} fails its sha256 check (modified or damaged); retrain it or delete {path}.")

    def read_bytes(self, artifact: Artifact, file: str) -> bytes:
        """Read one file of an opened artifact, checking its hash again (the file may have changed since)."""
        entry = artifact.manifest["files"].get(file)
        if entry is None:
            raise ArtifactMissing(f"Artifact '{artifact.name}' has no file {file}.")
        data = (artifact.path / _check_file_name(file)).read_bytes()
        if sha256_bytes(data) != entry["sha256"]:
            raise ArtifactCorrupted(f"Artifact '{artifact.name}': {file} fails its sha256 check (modified or damaged); retrain it or delete {artifact.path}.")
        return data

    def read_tensors(self, artifact: Artifact, file: str = "model.safetensors") -> dict[str, torch.Tensor]:
        try:
            return torch_load_bytes(self.read_bytes(artifact, file))
        except SafetensorError as exc:
            raise ArtifactCorrupted(f"Artifact '{artifact.name}': {file} is not a valid safetensors file ({exc}).") from None

    def read_arrays(self, artifact: Artifact, file: str) -> dict[str, np.ndarray]:
        try:
            return np_load_bytes(self.read_bytes(artifact, file))
        except SafetensorError as exc:
            raise ArtifactCorrupted(f"Artifact '{artifact.name}': {file} is not a valid safetensors file ({exc}).") from None

    def read_json(self, artifact: Artifact, file: str):
        return json.loads(self.read_bytes(artifact, file))


class Catalog:
    """The user's store in front of the read-only shipped demo store.

    ``find`` returns the user's artifact when there is one, else the shipped one, else None.
    A corrupted user artifact raises instead of silently falling back, so the user learns of it.
    """

    def __init__(self, store: Store | None = None, shipped: Store | None = None):
        self.store = store or Store()
        self.shipped = shipped if shipped is not None else Store(SHIPPED_ROOT, readonly=True)

    def find(self, name: str, verify: bool = True) -> Artifact | None:
        self.store.recover(name)
        for store in (self.store, self.shipped):
            path = store.root / check_name(name)
            if path.is_dir():
                return store.open(name, verify=verify)
        return None

    def store_for(self, artifact: Artifact) -> Store:
        return self.shipped if artifact.shipped else self.store
