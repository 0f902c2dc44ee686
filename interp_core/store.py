"""Artifacts on disk: safetensors weights and arrays plus a JSON manifest with sha256 of each file.

Layout: versioned, immutable folders behind an atomic pointer. Each save writes a staging folder
``ROOT/.tmp-<name>-<id>/`` (the files and ``manifest.json`` with their sha256, fsync'd), renames it
to a version folder ``ROOT/.v-<name>-<id>/`` and then points ``ROOT/<name>`` at it: a relative
symlink, swapped atomically (a temporary link renamed over the old one). A version folder is never
changed afterwards; ``add_file`` makes a new version too (unchanged files hard-linked).

Why versions and a pointer rather than a lock that readers wait on: a reader resolves the pointer
once in ``open()`` and keeps that version folder in ``Artifact.path``, so all its later reads come
from one consistent version even when a save lands meanwhile, and a reader never waits for a
writer (the app stays responsive while the CLI or the hub retrains). Writers of one artifact
serialise on an exclusive ``flock`` of ``ROOT/.locks/<name>.lock`` around the pointer swap, so
concurrent saves all complete and the last one wins; ``recover()`` acts only under that lock, so it
never undoes a save in progress. A save removes the versions that were superseded more than
GRACE_S ago (so a reader that resolved one can finish); a reader whose version is gone anyway is
told the artifact was replaced while it was being read, never that it is corrupted.

Older stores, and the shipped demo store, have a plain folder ``ROOT/<name>/``: it stays readable.
The first save over one moves it aside and puts the pointer in its place under the lock; a reader
that finds the name missing meanwhile waits on a shared lock and looks again. A process killed in
between leaves the old folder as ``.trash-<name>-*``, which ``recover()`` puts back.

Reading verifies every listed file's size and sha256, so a missing, truncated or tampered file is
reported, never loaded. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
import uuid
from contextlib import contextmanager
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
from interp_core.safejson import load_json_limited

try:
    import fcntl
except ImportError:  # no flock (Windows): saves stay atomic, only concurrent writers are not serialised
    fcntl = None

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_ROOT = REPO_ROOT / "assets" / "store"
GRACE_S = 120.0  # a superseded version is kept this long, so a reader that resolved it can finish
VERSION_PREFIX = ".v-"
LOCKS_DIR = ".locks"
REPLACED = "Artifact '{name}' was replaced (retrained or deleted) while it was being read; reload it."


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


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


def _write_synced(path: Path, data: bytes) -> None:
    """Write a new file and flush it to disk before it can become part of a version."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Make renames and new entries in a folder durable (best effort: not every system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _link_or_copy(source: Path, target: Path) -> None:
    """An unchanged file of the previous version: a hard link (versions never change a file), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        _write_synced(target, source.read_bytes())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass
class Artifact:
    """A verified artifact: its manifest and the version folder it was read from. Files are read through the Store."""

    name: str
    path: Path
    manifest: dict
    shipped: bool = False

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    def first_file(self, *names: str) -> str | None:
        """The first of ``names`` this artifact holds: a stored file renamed later keeps its old name as an alias."""
        files = self.manifest.get("files", {})
        return next((name for name in names if name in files), None)

    @property
    def location(self) -> Path:
        """ROOT/<name>, the path to show users: ``path`` is the version folder this Artifact reads from."""
        return self.path.parent / self.name


class Store:
    """A folder of artifacts. ``Store()`` uses default_root(); ``readonly`` stores refuse writes."""

    def __init__(self, root: str | Path | None = None, readonly: bool = False):
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.readonly = readonly

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', readonly' if self.readonly else ''})"

    # -- writing ---------------------------------------------------------------------------
    def save(self, name: str, files: dict, manifest: dict) -> Artifact:
        """Write a whole artifact as a new version (all files plus a manifest with their sha256) and point its name at it."""
        check_name(name)
        self._writable()
        for file in files:
            _check_file_name(file)
        staging = self._staging(name)
        try:
            entries = {}
            for file, payload in files.items():
                data = encode_payload(payload)
                _write_synced(staging / file, data)
                entries[file] = {"sha256": sha256_bytes(data), "bytes": len(data)}
            full = {"format": FORMAT_VERSION, "name": name, "created": now_iso(), "versions": library_versions(), **manifest, "files": entries}
            _write_synced(staging / MANIFEST, encode_payload(full))
            with self._lock(name):
                version = self._commit(name, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return Artifact(name, version, full, shipped=self.readonly)

    def add_file(self, name: str, file: str, payload, manifest_updates: dict | None = None) -> Artifact:
        """Add or replace one file of an existing artifact (e.g. a cached projection): a new version, the other files linked."""
        self._writable()
        check_name(name)
        _check_file_name(file)
        self.recover(name)
        if self._locate(name) is None:  # before taking a lock, so nothing is created for a missing artifact
            raise self._missing(name)
        data = encode_payload(payload)
        with self._lock(name):
            artifact = self._load(name, self._locate(name, wait=False), verify=True)
            staging = self._staging(name)
            try:
                for other in artifact.manifest["files"]:
                    if other != file:
                        _link_or_copy(artifact.path / _check_file_name(other), staging / other)
                _write_synced(staging / file, data)
                manifest = dict(artifact.manifest)
                manifest["files"] = {**manifest["files"], file: {"sha256": sha256_bytes(data), "bytes": len(data)}}
                manifest.update(manifest_updates or {})
                _write_synced(staging / MANIFEST, encode_payload(manifest))
                version = self._commit(name, staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return Artifact(name, version, manifest, shipped=self.readonly)

    def delete(self, name: str) -> None:
        """Remove the pointer (readers see the artifact gone at once), then every version and leftover of it."""
        self._writable()
        pointer = self.root / check_name(name)
        if not self.root.is_dir():
            return
        with self._lock(name):
            if pointer.is_symlink():
                pointer.unlink()
            elif pointer.is_dir():
                self._discard(pointer)
            for leftover in self._leftovers(VERSION_PREFIX, name) + self._leftovers(".trash-", name):
                self._discard(leftover)  # a trash folder left here would otherwise be "recovered"

    def _writable(self) -> None:
        if self.readonly:
            raise StoreError(f"The store at {self.root} is read-only (shipped demo artifacts); train into your own store instead.")

    def _staging(self, name: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".tmp-{name}-{_new_id()}"
        staging.mkdir()
        return staging

    def _commit(self, name: str, staging: Path) -> Path:
        """Turn a complete staging folder into a version and point ROOT/<name> at it. The caller holds the lock."""
        _fsync_dir(staging)
        version = self.root / f"{VERSION_PREFIX}{name}-{_new_id()}"
        os.replace(staging, version)
        try:
            self._point(name, version)
        except BaseException:
            if self._locate(name, wait=False) != version:
                shutil.rmtree(version, ignore_errors=True)
            raise
        self._collect(name, GRACE_S)
        return version

    def _point(self, name: str, version: Path) -> None:
        """Swap ROOT/<name> to a relative link to ``version`` in one rename. The caller holds the lock."""
        pointer = self.root / name
        previous = self._locate(name, wait=False)
        if previous is not None and previous != pointer:
            try:
                os.utime(previous)  # the previous version is superseded from now: its grace period starts
            except FileNotFoundError:
                pass  # a pointer to a lost folder: the save repairs it
        link = self.root / f".tmp-link-{name}-{_new_id()}"
        os.symlink(version.name, link)
        try:
            if pointer.is_dir() and not pointer.is_symlink():
                # A plain folder of the older layout cannot be renamed over: move it aside first.
                # Readers that look in between wait on the lock; a kill in between is undone by recover().
                trash = self.root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
                os.replace(pointer, trash)
                try:
                    os.replace(link, pointer)
                except BaseException:
                    os.replace(trash, pointer)
                    raise
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(link, pointer)
        except BaseException:
            link.unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)

    def _collect(self, name: str, min_age_s: float) -> int:
        """Remove versions of ``name`` not pointed to and untouched for ``min_age_s``; returns how many. The caller holds the lock."""
        current = self._locate(name, wait=False)
        removed = 0
        for version in self._leftovers(VERSION_PREFIX, name):
            try:
                age = time.time() - version.lstat().st_mtime
            except FileNotFoundError:
                continue
            if version != current and age > min_age_s:
                self._discard(version)
                removed += 1
        return removed

    def _discard(self, folder: Path) -> None:
        """Rename a folder away before deleting it, so a reader sees it gone as a whole, never half-deleted."""
        doomed = self.root / f".tmp-old-{_new_id()}"
        try:
            os.replace(folder, doomed)
        except FileNotFoundError:
            return
        _remove(doomed)

    def _leftovers(self, prefix: str, name: str) -> list[Path]:
        """Folders named ``<prefix><name>-<hex id>`` (exactly this name: 'demo' is not 'demo-x')."""
        pattern = re.compile(re.escape(prefix + name) + r"-[0-9a-f]{8,32}")
        return [p for p in self.root.glob(f"{prefix}{name}-*") if pattern.fullmatch(p.name)]

    def _leftover_names(self, prefix: str) -> list[str]:
        """The artifact names that have ``<prefix><name>-<hex id>`` folders."""
        names = {p.name[len(prefix):].rsplit("-", 1)[0] for p in self.root.glob(f"{prefix}*")}
        return sorted(n for n in names if _NAME_RE.match(n) and ".." not in n)

    @contextmanager
    def _lock(self, name: str, shared: bool = False, blocking: bool = True):
        """Hold the flock of ROOT/.locks/<name>.lock; yields whether it was taken (a shared lock never creates the file)."""
        path = self.root / LOCKS_DIR / f"{name}.lock"
        try:
            if shared:
                fd = os.open(path, os.O_RDONLY)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            if not shared:
                raise
            yield False  # no lock file: no writer has ever saved this name
            return
        try:
            held = True
            if fcntl is not None:
                try:
                    fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    held = False
            yield held
        finally:
            os.close(fd)  # releases the flock

    # -- reading ---------------------------------------------------------------------------
    def _locate(self, name: str, wait: bool = True) -> Path | None:
        """The folder ROOT/<name> names now: its version folder, a plain folder (older layout), or None.

        With ``wait``, a name found missing is looked up again after any writer holding its lock is
        done (the first save over an older-layout folder moves it aside for an instant).
        """
        pointer = self.root / name
        for attempt in (0, 1):
            try:
                target = os.readlink(pointer)
            except FileNotFoundError:
                if wait and attempt == 0:
                    with self._lock(name, shared=True):
                        continue
                return None
            except OSError:  # not a link: a plain folder, or nothing usable
                return pointer if pointer.is_dir() else None
            return self.root / target if self._is_version(name, target) else pointer  # a link made by hand is read as a folder
        return None

    def _is_version(self, name: str, target: str) -> bool:
        return re.fullmatch(re.escape(VERSION_PREFIX + name) + r"-[0-9a-f]{16}", target) is not None

    def export_plain(self, name: str, root: Path) -> Path:
        """Copy the current version of ``name`` to ``root/<name>`` as a plain folder (the shipped, read-only layout).

        The copy is written beside its target and renamed into place; a previous plain folder is replaced.
        """
        artifact = self.open(name)
        root = Path(root)
        staging = root / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
        shutil.copytree(artifact.path, staging)
        final = root / name
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.exists():
            old = root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, final)
        return final

    def present(self, name: str) -> bool:
        """Whether ROOT has a folder for ``name``, complete or not (a Catalog opens it rather than fall back)."""
        return self._locate(check_name(name)) is not None

    def recover(self, name: str) -> bool:
        """Undo a save of the older layout killed between its two renames: put the previous artifact back.

        Returns True when something was restored. Called before every read, so a killed process
        leaves the last good artifact (or none), never a half one. It acts only while holding the
        artifact's lock, so it never undoes a save in progress (then it returns False at once).
        """
        final = self.root / check_name(name)
        if self.readonly or os.path.lexists(final) or not self.root.is_dir() or not self._leftovers(".trash-", name):
            return False
        with self._lock(name, blocking=False) as held:
            return held and self._recover_locked(name)

    def _recover_locked(self, name: str) -> bool:
        final = self.root / name
        if os.path.lexists(final):
            return False
        trashed = sorted(self._leftovers(".trash-", name), key=lambda p: p.stat().st_mtime, reverse=True)
        for candidate in trashed:
            if (candidate / MANIFEST).is_file():
                try:
                    os.replace(candidate, final)
                    return True
                except OSError:
                    return False
        return False

    def cleanup(self, older_than_s: float = 3600) -> int:
        """Remove leftovers of interrupted writes older than ``older_than_s``: staging and trash folders, and
        versions nothing points to (never one superseded less than GRACE_S ago). Returns how many."""
        if self.readonly or not self.root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for path in self.root.glob(".tmp-*"):
            try:
                old = now - path.lstat().st_mtime > older_than_s
            except FileNotFoundError:
                continue
            if old:
                _remove(path)
                removed += 1
        for prefix in (".trash-", VERSION_PREFIX):
            for name in self._leftover_names(prefix):
                with self._lock(name):  # a trash folder is the old artifact during its first save: never under a writer
                    if prefix == VERSION_PREFIX:
                        removed += self._collect(name, max(older_than_s, GRACE_S))
                        continue
                    self._recover_locked(name)
                    for path in self._leftovers(prefix, name):
                        if now - path.stat().st_mtime > older_than_s:
                            _remove(path)
                            removed += 1
        return removed

    def exists(self, name: str) -> bool:
        self.recover(name)
        path = self._locate(name)
        return path is not None and (path / MANIFEST).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        for name in self._leftover_names(".trash-"):
            self.recover(name)
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())

    def open(self, name: str, verify: bool = True) -> Artifact:
        """Read an artifact's manifest; with ``verify`` every listed file is checked by size and sha256.

        The version folder is resolved once: the returned Artifact reads that version even if a save lands later.
        """
        self.recover(name)
        path = self._locate(name)
        for attempt in (1, 2, 3):
            try:
                return self._load(name, path, verify)
            except ArtifactCorrupted:
                # Only an older-layout folder changes under a reader (its first save, a delete): then look again.
                current = self._locate(name)
                if attempt == 3 or current == path:
                    raise
                path = current

    def _missing(self, name: str) -> ArtifactMissing:
        return ArtifactMissing(f"No artifact '{name}' in {self.root}; train it first (python -m interp_core train {name}).")

    def _load(self, name: str, path: Path | None, verify: bool) -> Artifact:
        pointer = self.root / name
        if path is None:
            raise self._missing(name)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            if path.is_dir():
                raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} has no manifest (an interrupted write?); retrain it or delete {pointer}.")
            raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} points to a missing folder {path.name}; retrain it or delete {pointer}.")
        try:
            manifest = load_json_limited(manifest_path.read_bytes(), "it", error=ArtifactCorrupted)
            files = manifest["files"]
            assert isinstance(files, dict)
        except FileNotFoundError:
            raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} lost its manifest while it was being read; retrain it or delete {pointer}.") from None
        except ArtifactCorrupted as exc:  # too large, too deep or not JSON: say which, in the store's sentence
            raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} has an unreadable manifest ({str(exc).split(';')[0]}); retrain it or delete {pointer}.") from None
        except (KeyError, AssertionError, TypeError):
            raise ArtifactCorrupted(f"Artifact '{name}' in {self.root} has an unreadable manifest; retrain it or delete {pointer}.") from None
        if verify:
            for file, entry in files.items():
                self._verify_file(name, path, file, entry)
        return Artifact(name, path, manifest, shipped=self.readonly)

    def _verify_file(self, name: str, path: Path, file: str, entry: dict) -> None:
        pointer = self.root / name
        if not isinstance(entry, dict):
            raise ArtifactCorrupted(f"Artifact '{name}' has an unreadable manifest entry for {file}; retrain it or delete {pointer}.")
        file_path = path / _check_file_name(file)
        try:
            size = file_path.stat().st_size if file_path.is_file() else None
            digest = sha256_file(file_path) if size == entry.get("bytes") else None
        except FileNotFoundError:
            size = None
        if size is None:
            raise ArtifactCorrupted(f"Artifact '{name}' is missing its file {file}; retrain it or delete {pointer}.")
        if size != entry.get("bytes"):
            raise ArtifactCorrupted(f"Artifact '{name}': {file} is {size} bytes but its manifest says {entry.get('bytes')} (truncated?); retrain it or delete {pointer}.")
        if digest != entry.get("sha256"):
            raise ArtifactCorrupted(f"Artifact '{name}': {file} fails its sha256 check (modified or damaged); retrain it or delete {pointer}.")

    def read_bytes(self, artifact: Artifact, file: str) -> bytes:
        """Read one file of an opened artifact's version, checking its hash again (the file may have changed since)."""
        entry = artifact.manifest["files"].get(file)
        if entry is None:
            raise ArtifactMissing(f"Artifact '{artifact.name}' has no file {file}.")
        try:
            data = (artifact.path / _check_file_name(file)).read_bytes()
        except FileNotFoundError:
            data = None
        if data is None or sha256_bytes(data) != entry["sha256"]:
            if self._locate(artifact.name) != artifact.path:  # its version is no longer the artifact: not damage
                raise StoreError(REPLACED.format(name=artifact.name))
            pointer = self.root / artifact.name
            if data is None:
                raise ArtifactCorrupted(f"Artifact '{artifact.name}' is missing its file {file}; retrain it or delete {pointer}.")
            raise ArtifactCorrupted(f"Artifact '{artifact.name}': {file} fails its sha256 check (modified or damaged); retrain it or delete {pointer}.")
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


def catalog_at(root: str | Path | None = None) -> "Catalog":
    """The user's store at ``root`` (default: default_root()) in front of the shipped one: what ``--store`` names."""
    return Catalog(Store(root) if root else Store())


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
            if store.present(name):
                return store.open(name, verify=verify)
        return None

    def store_for(self, artifact: Artifact) -> Store:
        return self.shipped if artifact.shipped else self.store
